"""After a restore from backup the chain numbers deliveries from an earlier point again, while
the meters still hold the deliveries they ran under those numbers. A meter's "409: already
known" used to count as "started", and the new delivery was settled on the old one's final
figures (5 of 15 Wh paid, no energy moved). Now the server compares the delivery the meter
holds with the one it asked for, flags the new one and starts it on neither meter until that
meter has been restarted (its deliveries live in RAM). Real simulated meters over HTTP."""

from __future__ import annotations

import time
from pathlib import Path

from gridshare_meter.deliveries import Book

from gridshare.domain import DeliveryStatus, Side
from gridshare.meters import MeterClient, Role
from gridshare.storage.deliveries import Phase
from tests.integration.engine.support import (
    fast_engine,
    register_community,
    sim_in_thread,
    sim_settings,
    wait_until,
)


def test_a_meter_holding_an_older_delivery_of_that_number_is_flagged_not_settled_on_it(
    tmp_path: Path,
) -> None:
    with sim_in_thread(sim_settings(2, 5.0)) as sim, fast_engine(tmp_path) as (runtime, engine):
        accounts = register_community(runtime, sim.entries)
        b, s = sorted(range(2), key=lambda i: sim.house(i + 1).soc)  # emptier one buys
        entry = sim.entries[b]
        # what the buyer's meter kept from before the restore: its delivery 1, 5 Wh, over
        before = MeterClient(entry.url, entry.key)
        before.start_delivery(1, Role.IMPORT, 5, int(time.time() * 1000) + 1500)
        assert before.wait_final(1, 15).final
        runtime.market.set_timing(runtime.operator, 600, 60)
        engine.trading.place_order(accounts[s], Side.SELL, 15, 1000, 600)
        engine.trading.place_order(accounts[b], Side.BUY, 15, 1000, 600)
        engine.start()
        wait_until(lambda: (r := engine.delivery(1)) is not None and r.flag == "meter_conflict", 20)
        time.sleep(1.0)  # a few more rounds: still not started, nothing settled
        record = engine.delivery(1)
        on_chain = runtime.market.delivery(1)
        assert record is not None and on_chain is not None
        assert record.phase is Phase.PENDING and record.settle_wh is None
        assert on_chain.status is DeliveryStatus.PENDING  # the old 5 Wh paid nothing
        assert "restart that meter" in (record.note or "")
        seller_meter = sim.meters[s].meter
        assert all(d.id != 1 for d in seller_meter.book.queue)  # the seller's did not start
        assert seller_meter.book.active is None

        sim.meters[b].meter.book = Book(8)  # the operator restarts the buyer's meter
        wait_until(
            lambda: (r := engine.delivery(1)) is not None and r.phase is not Phase.PENDING, 20
        )
        running = engine.delivery(1)
        assert running is not None and running.flag != "meter_conflict"  # no longer flagged
        wait_until(lambda: (r := engine.delivery(1)) is not None and r.phase is Phase.SETTLED, 60)
        settled = runtime.market.delivery(1)
        assert settled is not None and settled.status is DeliveryStatus.SETTLED
        assert settled.delivered_wh >= 13  # this delivery's own energy, not the old 5 Wh
