"""The orchestrator asks the meters of different deliveries at the same time.

Asked one after another, a few meters on weak Wi-Fi, each answering just inside its timeout,
held up every other meter's poll (a healthy meter's polls went from 0.2 s to 3.8 s apart
with two slow ones), and about sixteen would have passed the meters' 60 s silence and tripped
every running delivery's fail-safe. Each test holds its deliveries' meter calls at a barrier
that only opens when all of them are in flight at once: asked one after another, the first
would wait there until the barrier gave up, and none would get through (as in the simulator,
which runs the orchestrator with the built-in `map`). A real running engine over a real
database; the meter calls are the stand-ins, since the point is when they are made.
"""

from __future__ import annotations

import threading
import time
from pathlib import Path
from typing import Any

import pytest

from gridshare.services.orchestrator import Orchestrator
from gridshare.storage.deliveries import DeliveryRecord, Phase
from tests.integration.engine.support import fast_engine, wait_until

BUYER, SELLER = "0x" + "b1" * 20, "0x" + "5e" * 20


def record(delivery_id: int, meters: tuple[int, int], phase: Phase) -> DeliveryRecord:
    deadline = int(time.time()) + 3600
    return DeliveryRecord(delivery_id, BUYER, SELLER, 5, 10**15, deadline, *meters, phase)


def held_together(count: int, seen: list[int]) -> Any:
    together = threading.Barrier(count, timeout=10)

    def call(self: Orchestrator, r: DeliveryRecord, now: int) -> DeliveryRecord:
        together.wait()  # BrokenBarrierError unless all `count` calls are in flight at once
        seen.append(r.delivery_id)
        return r

    return call


def test_the_running_engine_polls_its_running_deliveries_at_the_same_time(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    with fast_engine(tmp_path) as (_runtime, engine):
        engine.deliveries.save_all([record(i, (2 * i - 1, 2 * i), Phase.RUNNING)
                                    for i in (1, 2, 3)])
        polled: list[int] = []
        monkeypatch.setattr(Orchestrator, "_poll", held_together(3, polled))
        engine.start()
        wait_until(lambda: len(polled) >= 3, 30)
    assert set(polled) == {1, 2, 3}


def test_deliveries_on_free_meters_start_together_and_a_busy_meter_keeps_its_order(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    with fast_engine(tmp_path) as (_runtime, engine):
        engine.deliveries.save_all([
            record(1, (1, 2), Phase.PENDING),
            record(2, (3, 4), Phase.PENDING),
            record(3, (2, 5), Phase.PENDING),  # meter 2 is delivery 1's: it waits its turn
            record(4, (6, 7), Phase.RUNNING),
            record(5, (7, 8), Phase.PENDING),  # meter 7 runs delivery 4
        ])  # fmt: skip
        started: list[int] = []
        monkeypatch.setattr(Orchestrator, "_poll", lambda self, r, now: r)
        monkeypatch.setattr(Orchestrator, "_start", held_together(2, started))
        engine.start()
        wait_until(lambda: len(started) >= 4, 30)  # two rounds at least (the stand-in
    assert set(started) == {1, 2}                 # starts nothing, so each round tries again)
