"""Simulated-clock mode: with MarketEngine(clock_s=sim) and the embedded chain's clock set to
the same function, order expiry and delivery deadlines follow simulated time, not the wall clock.

The simulated clock starts 30 days ahead of the wall clock and jumps by hours at a time; the
whole test takes a few wall-clock seconds.
"""

from __future__ import annotations

import time
from pathlib import Path

import pytest

from gridshare.config import Settings
from gridshare.domain import DeliveryStatus, Side
from gridshare.runtime import build_runtime
from gridshare.services.engine import EngineSettings, MarketEngine
from gridshare.services.trading import TradingError
from gridshare.storage.deliveries import Phase
from tests.integration.engine.support import (
    SimulatedClock,
    market_events,
    register_community,
    unmetered,
    wait_until,
)

WINDOW_S = 3600
GRACE_S = 600
PRICE = 10**12


def test_order_expiry_and_delivery_deadlines_follow_the_simulated_clock(tmp_path: Path) -> None:
    runtime = build_runtime(
        Settings(
            data_dir=tmp_path, market_engine=False,
            delivery_window_s=WINDOW_S, settle_grace_s=GRACE_S,
        )
    )  # fmt: skip
    sim = SimulatedClock(time.time() + 30 * 86400)
    assert runtime.chain.embedded is not None
    runtime.chain.embedded.set_clock(sim)
    engine = MarketEngine(
        runtime.market, runtime.operator, runtime.database,
        EngineSettings(tick_s=0.05, meter_timeout_s=0.2), clock_s=sim,
    )  # fmt: skip
    try:
        market = runtime.market
        seller, buyer = register_community(runtime, unmetered(2), coins_each=10)
        # blocks carry simulated time (each block at least 1 s after its parent, hence the 10)
        assert int(sim()) <= engine.clock.latest() <= int(sim()) + 10

        # -- order expiry: a 10-minute order is gone after 10 simulated minutes
        placed_at = engine.clock()
        stale = engine.trading.place_order(seller, Side.SELL, 5, PRICE, 600)
        assert stale.expires_at == placed_at + 600
        assert stale.expires_at > time.time() + 29 * 86400  # not a wall-clock expiry
        sim.advance(stale.expires_at - sim() + 1)
        assert stale.id not in {o.id for o in engine.trading.open_orders()}
        with pytest.raises(TradingError) as refused:
            engine.trading.take(buyer, stale.id, 5)
        assert refused.value.code == "order_expired"
        engine.trading.place_order(buyer, Side.BUY, 5, PRICE, 600)
        assert engine.matcher.tick() == []  # the crossing buy finds no live sell
        assert market.delivery_count() == 0

        # -- delivery deadline: set from simulated time; expiry waits for simulated time
        engine.trading.place_order(seller, Side.SELL, 5, PRICE, 600)
        engine.start()
        wait_until(lambda: market.delivery_count() == 1, 10)
        delivery = market.delivery(1)
        assert delivery is not None
        matched_at = int(market_events(market, "DeliveryCreated")[0]["blockNumber"])
        created_ts = int(market.w3.eth.get_block(matched_at)["timestamp"])
        assert delivery.deadline == created_ts + WINDOW_S
        assert delivery.deadline > time.time() + 29 * 86400  # not a wall-clock deadline

        sim.advance(WINDOW_S + GRACE_S - 60)  # just before deadline + grace
        time.sleep(1.0)  # many engine ticks
        pending = market.delivery(1)
        assert pending is not None and pending.status is DeliveryStatus.PENDING

        sim.advance(120)  # past deadline + grace
        wait_until(lambda: engine.deliveries.count_by_phase().get(Phase.EXPIRED, 0) == 1, 10)
        engine.stop()
        expired = market.delivery(1)
        assert expired is not None and expired.status is DeliveryStatus.EXPIRED
        (event,) = market_events(market, "DeliveryExpired")
        expired_ts = int(market.w3.eth.get_block(event["blockNumber"])["timestamp"])
        assert delivery.deadline + GRACE_S < expired_ts <= int(sim()) + 1
    finally:
        engine.stop()
        runtime.close()
