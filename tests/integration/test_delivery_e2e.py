"""End to end: 10 simulated meters over HTTP, the embedded chain and the market engine.

200 orders pairs are matched by the engine's continuous matcher into 200 deliveries; every
one is delivered by the two meters, settled on the buyer's metered import, and the seller's
pay plus the buyer's refund equal the escrow.
"""

from __future__ import annotations

import time
from collections import Counter
from pathlib import Path

from gridshare.config import Settings
from gridshare.domain import DeliveryStatus
from gridshare.runtime import build_runtime
from gridshare.services.engine import EngineSettings, MarketEngine
from tests.integration.engine.support import (
    market_events,
    place_pairs_fast,
    register_community,
    sim_in_thread,
    sim_settings,
)

HOUSES = 10
ROUNDS = 40  # x 5 pairs = 200 deliveries
WH = 2
PRICE = 10**12


def test_two_hundred_matched_deliveries_all_settle_with_escrow_conserved(tmp_path: Path) -> None:
    with sim_in_thread(sim_settings(HOUSES, speed=40)) as sim:
        entries = sim.entries
        runtime = build_runtime(Settings(data_dir=tmp_path / "server", market_engine=False))
        engine: MarketEngine | None = None
        try:
            market = runtime.market
            market.set_timing(runtime.operator, 900, 60)
            accounts = register_community(runtime, entries)
            socs = {e.house_id: sim.house(e.house_id).soc for e in entries}
            ranked = sorted(range(HOUSES), key=lambda i: -socs[i + 1])
            sellers = [accounts[i] for i in ranked[:5]]
            buyers = [accounts[i] for i in ranked[5:]]
            engine = MarketEngine(
                market, runtime.operator, runtime.database, EngineSettings(tick_s=0.05)
            )
            place_pairs_fast(runtime, sellers, buyers, ROUNDS, WH, PRICE, engine.clock() + 3600)
            engine.start()
            deadline = time.monotonic() + 300  # ends as soon as all 200 are final
            while time.monotonic() < deadline:
                phases = engine.deliveries.count_by_phase()
                if sum(n for p, n in phases.items() if p.final) >= 200:
                    break
                time.sleep(0.5)
            engine.stop()
            assert market.delivery_count() == 200, phases
            settled_events = market_events(market, "DeliverySettled")
            assert not market_events(market, "DeliveryExpired")
            per_delivery = Counter(int(e["args"]["delivery_id"]) for e in settled_events)
            assert set(per_delivery) == set(range(1, 201))
            assert set(per_delivery.values()) == {1}  # settled exactly once
            delivered = 0
            for event in settled_events:
                d = market.delivery(int(event["args"]["delivery_id"]))
                assert d is not None and d.status is DeliveryStatus.SETTLED
                assert event["args"]["paid"] + event["args"]["refunded"] == d.escrow
                assert event["args"]["paid"] == d.delivered_wh * d.price_per_wh
                delivered += d.delivered_wh
            assert delivered >= 0.9 * 200 * WH  # the meters really moved the energy
            record = engine.delivery(1)
            assert record is not None and record.phase.value == "settled"
        finally:
            if engine is not None:
                engine.stop()
            runtime.close()
