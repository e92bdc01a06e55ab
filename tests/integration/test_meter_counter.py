"""After a restart on a clock set back an hour (a Pi has no clock battery and the village no
time server), the server's commands are still obeyed: its counters continue above every one
it sent before, kept in the data directory. Without that reservation the same meter refuses
them (401, counter), as every meter did until the clock caught up. Real simulated meters
(the firmware over HTTP on loopback)."""

from __future__ import annotations

import time
from pathlib import Path

import pytest

from gridshare.meters import ClockCounter, MeterClient, MeterRejected
from tests.integration.engine.support import sim_in_thread, sim_settings

HOUR_US = 3600 * 10**6


def behind(hours: float) -> ClockCounter:
    return ClockCounter(clock_us=lambda: time.time_ns() // 1000 - int(hours * HOUR_US))


def test_commands_are_obeyed_after_a_restart_on_a_clock_set_back(tmp_path: Path) -> None:
    reservation = tmp_path / "meter-counter.json"
    with sim_in_thread(sim_settings(1, speed=1.0)) as sim:
        entry = sim.entries[0]

        def status(counter: ClockCounter) -> int:
            with MeterClient(entry.url, entry.key, counter=counter, timeout=5) as client:
                return client.status().meter_id

        assert status(ClockCounter(reserve_in=reservation)) == entry.key.meter_id
        with pytest.raises(MeterRejected) as refused:  # what the server did before
            status(behind(1))
        assert refused.value.status == 401 and "counter" in str(refused.value)
        restarted = ClockCounter(
            clock_us=lambda: time.time_ns() // 1000 - HOUR_US, reserve_in=reservation
        )
        assert [status(restarted) for _ in range(3)] == [entry.key.meter_id] * 3
