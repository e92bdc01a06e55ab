"""A buyer's meter becomes unreachable mid-delivery: its fail-safe opens the relay, and the
delivery settles pro rata on the last authenticated report (flagged for the operator)."""

from __future__ import annotations

import dataclasses
import logging
from pathlib import Path

import httpx
import pytest

from gridshare.domain import DeliveryStatus, Side
from gridshare.services.engine import MarketEngine
from gridshare.storage.deliveries import Phase
from tests.integration.engine.support import (
    fast_engine,
    register_community,
    sim_in_thread,
    sim_settings,
    wait_until,
)

SPEED = 5.0
SILENCE_MS = 3_000  # 0.6 s of wall time at SPEED


def test_unreachable_buyer_meter_opens_relay_and_delivery_settles_pro_rata(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO, logger="gridshare.services.orchestrator")
    with (
        sim_in_thread(sim_settings(2, SPEED, silence_ms=SILENCE_MS)) as sim,
        fast_engine(tmp_path) as (runtime, engine),
    ):
        runtime.market.set_timing(runtime.operator, 12, 3)
        accounts = register_community(runtime, sim.entries)
        by_soc = sorted(range(2), key=lambda i: sim.house(i + 1).soc)
        buyer, seller = accounts[by_soc[0]], accounts[by_soc[1]]
        buyer_house = by_soc[0] + 1
        engine.trading.place_order(seller, Side.SELL, 200, 1000, 600)
        engine.trading.place_order(buyer, Side.BUY, 200, 1000, 600)
        engine.start()
        wait_until(lambda: _buyer_mwh(engine) >= 1500, 20)
        # the buyer's meter drops off the network (as the server sees it)
        house = engine.households.get(buyer_house)
        assert house is not None
        real_url = house.meter_url
        engine.households.save(dataclasses.replace(house, meter_url="http://127.0.0.1:9"))
        meter = sim.meters[buyer_house - 1]
        wait_until(lambda: not meter.hardware.relay.closed, 10)  # fail-safe opened the relay
        report = httpx.get(f"{real_url}/deliveries/1", timeout=5).json()
        assert (report["state"], report["reason"]) == ("stopped", "server_silent"), report
        wait_until(lambda: _final(engine), 30)
        engine.stop()
        record = engine.delivery(1)
        on_chain = runtime.market.delivery(1)
        assert record is not None and on_chain is not None
        assert on_chain.status is DeliveryStatus.SETTLED
        assert record.phase is Phase.SETTLED and record.flag == "meter_silent"
        assert 1 <= on_chain.delivered_wh < on_chain.amount_wh  # pro rata, not full
        last = min(record.buyer_mwh or 0, record.seller_mwh or 0) // 1000
        assert on_chain.delivered_wh == last <= report["delivered_mwh"] // 1000
        assert [r.delivery_id for r in engine.flagged_deliveries()] == [1]
        settled = f"delivery 1 settled: {on_chain.delivered_wh} of 200 Wh paid (flagged: "
        assert any(line.startswith(settled) for line in caplog.messages), caplog.messages


def _buyer_mwh(engine: MarketEngine) -> int:
    record = engine.delivery(1)
    return 0 if record is None else record.buyer_mwh or 0


def _final(engine: MarketEngine) -> bool:
    record = engine.delivery(1)
    return record is not None and record.phase.final
