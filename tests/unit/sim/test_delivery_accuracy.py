"""A delivery of N Wh on the simulated bus stops within 1% of N (or one sample's energy)."""

from __future__ import annotations

import pytest

from gridshare.meters.client import seller_cap_wh
from tests.unit.sim.helpers import SERVER_T0, pair_sim, send

SAMPLE_MS = 100  # 10 Hz: well within what MicroPython on an ESP32 sustains with 16x oversampling

CASES = [
    (60, 1, 0.02), (60, 2, 0.05), (60, 5, 0.1),
    (150, 1, 0.05), (150, 3, 0.02), (150, 7, 0.08), (150, 12, 0.05),
    (400, 1, 0.05), (400, 5, 0.03), (400, 13, 0.1), (400, 33, 0.05),
    (1000, 2, 0.05), (1000, 10, 0.02), (1000, 40, 0.1), (1000, 80, 0.05),
]


@pytest.mark.parametrize(("power_w", "target_wh", "line_ohm"), CASES)
def test_import_delivery_stops_within_one_percent_or_one_sample(
    power_w: int, target_wh: int, line_ohm: float
) -> None:
    sim = pair_sim(power_w, line_ohm)
    deadline = SERVER_T0 + 3 * 3600_000
    assert send(sim, 2, 1, "start", id=9, role="import", target_wh=target_wh,
                deadline=deadline)[0] == 201
    assert send(sim, 1, 1, "start", id=9, role="export", target_wh=seller_cap_wh(target_wh),
                deadline=deadline)[0] == 201
    buyer = sim.meters[1].meter
    limit = 2 * 3600_000 * target_wh // power_w
    steps = 0
    while buyer.relay_closed:
        sim.step()
        steps += 1
        assert steps * SAMPLE_MS < limit, "delivery never completed"
    sim.run_for(5 * SAMPLE_MS)  # the relay is open: nothing more may arrive
    received = sim.house(2).imported_wh
    sample_wh = power_w * SAMPLE_MS / 3_600_000
    tolerance = max(0.01 * target_wh, sample_wh)
    assert abs(received - target_wh) <= tolerance, (received, target_wh, tolerance)
    code, report = send(sim, 2, 2, "get", 9, id=9)
    assert code == 200 and report["state"] == "completed" and report["delivered_wh"] == target_wh
    assert abs(int(str(report["delivered_mwh"])) / 1000 - received) <= tolerance
    # the seller sent what the buyer got plus line losses, and stays within its cap
    code, report = send(sim, 1, 2, "stop", 9, id=9)
    assert report["state"] == "stopped"
    sent = sim.house(1).exported_wh
    assert received < sent <= seller_cap_wh(target_wh)
    assert sent - received == pytest.approx(sim.community.loss_wh, rel=1e-6, abs=1e-9)
