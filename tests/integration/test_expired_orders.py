"""An expired buy order's coins come back to its owner: the engine cancels it.

Expiry alone unlocks nothing on chain, and the pages list only live orders, so a resident whose
bid expired untaken (or whose agent's did) saw those coins "locked in orders" for good. The real
chain and engine on a simulated clock; the engine's rounds are run one at a time.
"""

from __future__ import annotations

import time
from pathlib import Path

from gridshare.config import Settings
from gridshare.domain import WEI_PER_COIN, OrderStatus, Side
from gridshare.runtime import build_runtime
from gridshare.services.engine import EngineSettings, MarketEngine
from tests.integration.engine.support import (
    SimulatedClock,
    market_events,
    register_community,
    unmetered,
)

PRICE = 10**12


def test_the_engine_gives_back_the_coins_of_an_expired_buy_order(tmp_path: Path) -> None:
    runtime = build_runtime(Settings(data_dir=tmp_path, market_engine=False))
    sim = SimulatedClock(time.time() + 86400)
    assert runtime.chain.embedded is not None
    runtime.chain.embedded.set_clock(sim)
    engine = MarketEngine(runtime.market, runtime.operator, runtime.database,
                          EngineSettings(meter_timeout_s=0.2), clock_s=sim)  # fmt: skip
    try:
        market = runtime.market
        buyer, seller = register_community(runtime, unmetered(2), coins_each=10)
        bid = engine.trading.place_order(buyer, Side.BUY, 5, PRICE, 600)
        offer = engine.trading.place_order(seller, Side.SELL, 5, 2 * PRICE, 600)  # no match
        engine.tick()
        assert market.balances(buyer.address).locked == 5 * PRICE  # live: left alone

        sim.advance(601)
        engine.tick()
        balances = market.balances(buyer.address)
        assert (balances.available, balances.locked) == (10 * WEI_PER_COIN, 0)
        assert market.order(bid.id).status is OrderStatus.CANCELLED  # type: ignore[union-attr]
        (cancelled,) = market_events(market, "OrderCancelled")
        assert cancelled["args"]["order_id"] == bid.id
        assert cancelled["args"]["unlocked"] == 5 * PRICE
        # an expired offer to sell holds nothing: no transaction is spent on it
        assert market.order(offer.id).status is OrderStatus.OPEN  # type: ignore[union-attr]
        engine.tick()
        assert len(market_events(market, "OrderCancelled")) == 1
    finally:
        engine.stop()
        runtime.close()
