"""Counters on both sides of the meter link, when one side loses track of time or of them.
Real simulated meters (the firmware over HTTP on loopback).

After a restart on a clock set back an hour (a Pi has no clock battery and the village no
time server), the server's commands are still obeyed: its counters continue above every one
it sent before, kept in the data directory. Without that reservation the same meter refuses
them (401, counter), as every meter did until the clock caught up.

A meter that lost its counter file (re-flashed with the same key) counts its reports from zero
again. Its answers are still bound to each request by their signed `req`, so the server hears
them and logs the counter going back; it used to refuse them until it restarted, while the
meter ran the delivery it had been told to start."""

from __future__ import annotations

import logging
import time
from pathlib import Path

import pytest
from gridshare_meter.auth import Guard
from gridshare_meter.store import MemoryStore

from gridshare.meters import ClockCounter, CounterMarkFile, MeterClient, MeterRejected
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

        assert status(ClockCounter(mark=CounterMarkFile(reservation))) == entry.key.meter_id
        with pytest.raises(MeterRejected) as refused:  # what the server did before
            status(behind(1))
        assert refused.value.status == 401 and "counter" in str(refused.value)
        restarted = ClockCounter(
            clock_us=lambda: time.time_ns() // 1000 - HOUR_US, mark=CounterMarkFile(reservation)
        )
        assert [status(restarted) for _ in range(3)] == [entry.key.meter_id] * 3


def test_a_meter_that_lost_its_counters_is_still_heard_and_the_server_says_so(
    caplog: pytest.LogCaptureFixture,
) -> None:
    with sim_in_thread(sim_settings(1, speed=1.0)) as sim:
        entry = sim.entries[0]
        with MeterClient(entry.url, entry.key, timeout=5) as client:
            before = [client.status().counter for _ in range(3)]
            meter = sim.meters[0].meter
            meter.guard = Guard(entry.key.meter_id, entry.key.key, MemoryStore())  # re-flashed
            with caplog.at_level(logging.WARNING, logger="gridshare.meters.client"):
                after = client.status()
    assert after.meter_id == entry.key.meter_id and after.counter <= max(before)
    assert f"meter {entry.key.meter_id}: its report counter went back" in caplog.text
