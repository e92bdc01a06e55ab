"""A meter restarts mid-delivery and forgets it (its deliveries live in RAM): the server settles
the delivery on the last verified reports, flagged, once the other meter has stopped it, and
both meters take the next one. It used to take the meter's 404 for a failure, back off and
retry until the deadline (an hour by default), holding both meters and the buyer's escrow.
Real simulated meters over HTTP."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from eth_account.signers.local import LocalAccount
from gridshare_meter.deliveries import Book

from gridshare.domain import DeliveryStatus, Side
from gridshare.runtime import Runtime
from gridshare.services.engine import MarketEngine
from gridshare.sim.meter_sim import MeterSim, SimMeter
from gridshare.storage.deliveries import Phase
from tests.integration.engine.support import (
    fast_engine,
    register_community,
    sim_in_thread,
    sim_settings,
    wait_until,
)


@dataclass
class Trade:
    """Delivery 1 (200 Wh) running between two simulated houses, on a running engine."""

    sim: MeterSim
    runtime: Runtime
    engine: MarketEngine
    buyer: LocalAccount
    seller: LocalAccount
    buyer_meter: SimMeter
    seller_meter: SimMeter


@contextmanager
def delivery_running(tmp_path: Path) -> Iterator[Trade]:
    with sim_in_thread(sim_settings(2, 5.0)) as sim, fast_engine(tmp_path) as (runtime, engine):
        accounts = register_community(runtime, sim.entries)
        b, s = sorted(range(2), key=lambda i: sim.house(i + 1).soc)  # emptier one buys
        engine.trading.place_order(accounts[s], Side.SELL, 200, 1000, 600)
        engine.trading.place_order(accounts[b], Side.BUY, 200, 1000, 600)
        engine.start()
        wait_until(lambda: (_record(engine, 1).buyer_mwh or 0) >= 1500, 20)
        yield Trade(sim, runtime, engine, accounts[b], accounts[s], sim.meters[b],
                    sim.meters[s])  # fmt: skip


def test_a_delivery_a_meter_forgot_is_settled_on_its_last_reports_and_frees_the_meters(
    tmp_path: Path,
) -> None:
    with delivery_running(tmp_path) as trade:
        engine, market = trade.engine, trade.runtime.market
        trade.seller_meter.meter.book = Book(8)  # the seller's meter rebooted
        wait_until(lambda: _record(engine, 1).phase is Phase.SETTLED, 20)

        record, on_chain = _record(engine, 1), market.delivery(1)
        assert on_chain is not None and on_chain.status is DeliveryStatus.SETTLED
        assert record.flag == "meter_restarted"
        last = min(record.buyer_mwh or 0, record.seller_mwh or 0) // 1000
        assert on_chain.delivered_wh == last >= 1  # paid for what was metered, no more
        assert on_chain.deadline > market.w3.eth.get_block("latest")["timestamp"]

        engine.trading.place_order(trade.seller, Side.SELL, 50, 1000, 600)
        engine.trading.place_order(trade.buyer, Side.BUY, 50, 1000, 600)
        wait_until(lambda: market.delivery_count() == 2, 10)
        wait_until(lambda: _record(engine, 2).phase is not Phase.PENDING, 10)  # started


def test_a_delivery_is_settled_only_once_the_other_meter_has_stopped_it(
    tmp_path: Path,
) -> None:
    """The buyer's meter is being left alone (a Wi-Fi blip) when the seller's forgets the
    delivery: settling then would leave the buyer's relay closed on a paid delivery."""
    with delivery_running(tmp_path) as trade:
        engine = trade.engine
        for _ in range(6):  # left alone for several seconds
            engine.orchestrator.backoff.failed(trade.buyer_meter.entry.meter_id)
        trade.seller_meter.meter.book = Book(8)  # the seller's meter rebooted
        wait_until(lambda: _record(engine, 1).phase is Phase.SETTLED, 30)
        assert trade.buyer_meter.meter.book.active is None  # stopped before it was settled
        assert _record(engine, 1).flag == "meter_restarted"


class _Missing:
    buyer_mwh = 0
    phase = Phase.PENDING


def _record(engine: MarketEngine, delivery_id: int) -> Any:
    record = engine.delivery(delivery_id)
    return _Missing() if record is None else record
