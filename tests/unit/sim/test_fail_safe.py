"""Relays open on server silence and on sensor faults in the simulated meters."""

from __future__ import annotations

from gridshare.sim.meter_sim import MeterSim
from tests.unit.sim.helpers import SERVER_T0, pair_sim, send


def _start_pair(silence_ms: int) -> MeterSim:
    sim = pair_sim(500, silence_ms=silence_ms)
    deadline = SERVER_T0 + 3 * 3600_000
    send(sim, 2, 1, "start", id=1, role="import", target_wh=500, deadline=deadline)
    send(sim, 1, 1, "start", id=1, role="export", target_wh=600, deadline=deadline)
    return sim


def test_server_silence_opens_relays_within_the_configured_limit() -> None:
    silence_ms = 5_000
    sim = _start_pair(silence_ms)
    buyer = sim.meters[1].meter
    while sim.clock.now_ms() < silence_ms:
        sim.step()
        assert buyer.relay_closed, "relay opened before the silence limit"
    sim.step()  # one sample past the limit
    assert not buyer.relay_closed
    assert not sim.meters[0].meter.relay_closed
    flowing = sim.house(2).imported_wh
    sim.run_for(2_000)
    assert sim.house(2).imported_wh == flowing
    _, report = send(sim, 2, 2, "get", 1, id=1)
    assert report["state"] == "stopped" and report["reason"] == "server_silent"


def test_heartbeats_keep_the_relay_closed_past_the_silence_limit() -> None:
    sim = _start_pair(5_000)
    counter = 1
    for _ in range(4):
        sim.run_for(3_000)
        counter += 1
        assert send(sim, 2, counter, "ping")[0] == 200
        assert send(sim, 1, counter, "ping")[0] == 200
    assert sim.meters[1].meter.relay_closed


def test_sensor_fault_opens_the_relay_at_the_next_sample() -> None:
    sim = _start_pair(60_000)
    sim.run_for(1_000)
    buyer = sim.meters[1]
    assert buyer.meter.relay_closed
    buyer.hardware.fault = "voltage"
    sim.step()
    assert not buyer.meter.relay_closed
    assert buyer.meter.fault
    _, report = send(sim, 2, 2, "get", 1, id=1)
    assert report["reason"] == "sensor_fault"
