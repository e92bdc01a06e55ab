"""A meter runs one delivery at a time, so a seller matched with two buyers delivers to them
in turn. The round that finds the first delivery finished also starts the second: a meter
freed by a poll is not left idle until the next round (with the simulation's 5-minute
rounds that had halved how many deliveries a busy seller could make before they expired)."""

from __future__ import annotations

from pathlib import Path

from gridshare.config import Settings
from gridshare.domain import Side
from gridshare.runtime import build_runtime
from gridshare.services.engine import EngineSettings, MarketEngine
from gridshare.storage.deliveries import Phase
from tests.integration.engine.support import (
    register_community,
    sim_in_thread,
    sim_settings,
    wait_until,
)


def test_the_round_that_finishes_a_sellers_delivery_starts_its_next_one(tmp_path: Path) -> None:
    with sim_in_thread(sim_settings(3, speed=40)) as sim:
        runtime = build_runtime(Settings(data_dir=tmp_path, market_engine=False))
        engine = MarketEngine(
            runtime.market, runtime.operator, runtime.database, EngineSettings()
        )  # driven round by round here, not started
        try:
            accounts = register_community(runtime, sim.entries)
            by_charge = sorted(
                range(3), key=lambda i: -sim.house(sim.entries[i].house_id).soc
            )
            seller = accounts[by_charge[0]]
            first_buyer, second_buyer = (accounts[i] for i in by_charge[1:])
            engine.trading.place_order(seller, Side.SELL, 6, 1000, 3600)
            engine.trading.place_order(first_buyer, Side.BUY, 3, 1000, 3600)
            engine.trading.place_order(second_buyer, Side.BUY, 3, 1000, 3600)
            created = engine.matcher.tick()
            assert [(d.id, d.seller) for d in created] == [(1, seller.address), (2, seller.address)]

            engine.orchestrator.tick()
            first, second = engine.delivery(1), engine.delivery(2)
            assert first is not None and first.phase is Phase.RUNNING
            assert second is not None and second.phase is Phase.PENDING  # the seller is busy
            buyer_meter = engine.meter_client(first.buyer_meter or 0)
            assert buyer_meter is not None
            wait_until(lambda: buyer_meter.delivery(1).final, 60)  # 3 Wh imported

            engine.orchestrator.tick()  # one round: polls the first, settles it, starts the second
            first, second = engine.delivery(1), engine.delivery(2)
            assert first is not None and first.phase is Phase.SETTLED
            assert second is not None and second.phase is Phase.RUNNING
            assert engine.errors == 0
        finally:
            runtime.close()
