"""The orchestrator leaves an unreachable meter alone for a while instead of calling it on
every tick (5 per second by default: an idle server with one meter off the network used a
quarter of a CPU core and wrote a log line per try); once the meter is back, the waiting
delivery starts."""

from __future__ import annotations

import dataclasses
import itertools
import socket
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import pytest

from gridshare.domain import Side
from gridshare.storage.deliveries import Phase
from tests.integration.engine.support import (
    fast_engine,
    register_community,
    sim_in_thread,
    sim_settings,
    wait_until,
)


@contextmanager
def refusing_meter() -> Iterator[tuple[str, list[float]]]:
    """A loopback port that accepts each connection and closes it unanswered; counts them."""
    listener = socket.socket()
    listener.bind(("127.0.0.1", 0))
    listener.listen(16)
    listener.settimeout(0.1)
    tries: list[float] = []
    stop = threading.Event()

    def serve() -> None:
        while not stop.is_set():
            try:
                connection, _ = listener.accept()
            except TimeoutError:
                continue
            tries.append(time.monotonic())
            connection.close()

    thread = threading.Thread(target=serve, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{listener.getsockname()[1]}", tries
    finally:
        stop.set()
        thread.join(5)
        listener.close()


def test_an_unreachable_meter_is_tried_ever_less_often_and_used_again_once_back(
    tmp_path: Path,
) -> None:
    with (
        sim_in_thread(sim_settings(2, 1.0)) as sim,
        refusing_meter() as (dead_url, tries),
        fast_engine(tmp_path) as (runtime, engine),
    ):
        seller, buyer = register_community(runtime, sim.entries)
        house = engine.households.get(1)  # the seller's meter drops off the network
        assert house is not None
        engine.households.save(dataclasses.replace(house, meter_url=dead_url))
        engine.trading.place_order(seller, Side.SELL, 50, 1000, 3600)
        engine.trading.place_order(buyer, Side.BUY, 50, 1000, 3600)
        engine.start()
        wait_until(lambda: len(tries) > 0, 20)  # matched; the orchestrator tried the meter
        first = tries[0]
        time.sleep(4.0)  # 80 ticks
        in_window = [t - first for t in tries if t - first < 4.0]
        # waits of 0.5, 1, 2 s after the first try: 4 tries in 4 s (not ~80)
        assert 3 <= len(in_window) <= 5, in_window
        gaps = [b - a for a, b in itertools.pairwise(in_window)]
        assert all(later > earlier for earlier, later in itertools.pairwise(gaps))
        record = engine.delivery(1)
        assert record is not None and record.phase is Phase.PENDING
        trouble = engine.meter_troubles()[house.meter_id]  # what the operator page lists
        assert trouble.failures >= 3 and "delivery 1: not started yet" in trouble.reason
        # and while the chain stands still, its ticks run no contract code either
        provider = runtime.market.w3.provider
        answer, methods = provider.make_request, []

        def counting(method: Any, params: Any) -> Any:
            methods.append(str(method))
            return answer(method, params)

        with pytest.MonkeyPatch.context() as patch:
            patch.setattr(provider, "make_request", counting)
            time.sleep(1.0)  # 20 ticks
        assert methods and "eth_call" not in methods, sorted(set(methods))

        engine.households.save(house)  # the meter is back
        wait_until(
            lambda: (r := engine.delivery(1)) is not None and r.phase is not Phase.PENDING, 15
        )
        assert house.meter_id not in engine.meter_troubles()
        assert engine.errors == 0
