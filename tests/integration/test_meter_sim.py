"""`gridshare meter-sim --houses 10` serves 10 meters; a delivery runs end to end over HTTP."""

from __future__ import annotations

import contextlib
import os
import queue
import signal
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from gridshare_meter import api as meter_api

from gridshare.domain.units import Wh
from gridshare.meters import (
    DeliveryState,
    MeterClient,
    MeterEntry,
    Role,
    load_directory,
    seller_cap_wh,
)
from gridshare.meters.address import meter_url_problem
from gridshare.sim.meter_sim import MeterSim, SimSettings
from tests.integration.engine.support import free_base_port, sim_in_thread, sim_settings

HOUSES = 10
SPEED = 20.0


@pytest.fixture(scope="module")
def meter_sim(tmp_path_factory: pytest.TempPathFactory) -> Iterator[list[MeterEntry]]:
    data_dir = tmp_path_factory.mktemp("meter-sim")
    base = free_base_port(HOUSES)
    proc = subprocess.Popen(
        [sys.executable, "-m", "gridshare.cli", "meter-sim", "--houses", str(HOUSES),
         "--base-port", str(base), "--speed", str(SPEED), "--data-dir", str(data_dir)],
        stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
        env={**os.environ, "PYTHONUNBUFFERED": "1"},
    )
    lines: queue.Queue[str] = queue.Queue()
    threading.Thread(target=lambda: [lines.put(x) for x in proc.stdout or []], daemon=True).start()
    output: list[str] = []
    deadline = time.monotonic() + 60
    while not any("meter-sim ready" in line for line in output):
        assert proc.poll() is None, "".join(output)
        assert time.monotonic() < deadline, "meter-sim did not start:\n" + "".join(output)
        with contextlib.suppress(queue.Empty):
            output.append(lines.get(timeout=0.5))
    try:
        yield load_directory(Path(data_dir) / "meters.json")
    finally:
        proc.send_signal(signal.SIGTERM)
        try:
            assert proc.wait(timeout=15) == 0
        finally:
            if proc.poll() is None:
                proc.kill()


def test_meter_sim_serves_ten_meters_on_consecutive_loopback_ports(
    meter_sim: list[MeterEntry],
) -> None:
    assert [e.meter_id for e in meter_sim] == list(range(1, HOUSES + 1))
    ports = [int(e.url.rsplit(":", 1)[1]) for e in meter_sim]
    assert ports == list(range(ports[0], ports[0] + HOUSES))
    for entry in meter_sim:
        assert entry.url.startswith("http://127.0.0.1:")
        with MeterClient(entry.url, entry.key) as client:
            status = client.status()
        assert status.meter_id == entry.meter_id and not status.relay_closed
        assert 40_000 < status.voltage_mv < 60_000
        page = httpx.get(entry.url + "/", timeout=5)
        assert page.status_code == 200 and "gridshare meter" in page.text


def test_unauthenticated_post_deliveries_gets_401(meter_sim: list[MeterEntry]) -> None:
    url = meter_sim[0].url + "/deliveries"
    body = {"id": 1, "role": "import", "target_wh": 5, "deadline": 2**40}
    for response in (httpx.post(url, json=body, timeout=5),
                     httpx.post(url, content=b"", timeout=5),
                     httpx.post(url, json={**body, "sig": "00" * 32, "type": "cmd", "meter": 1,
                                           "counter": 10**18, "time": 1}, timeout=5)):
        assert response.status_code in (401, 403), response.text
    stop = httpx.post(meter_sim[0].url + "/deliveries/1/stop", json={}, timeout=5)
    assert stop.status_code == 401


def test_an_unknown_path_or_method_gets_the_meters_json_error(
    meter_sim: list[MeterEntry],
) -> None:
    """They were plain "Not found" (a 405 too), not the documented {"error": ...}."""
    base = meter_sim[0].url
    missing = httpx.get(base + "/nothing-here", timeout=5)
    assert (missing.status_code, missing.json()) == (404, {"error": "path: no such endpoint"})
    wrong = httpx.delete(base + "/deliveries", timeout=5)
    assert (wrong.status_code, wrong.json()) == (
        405, {"error": "method: DELETE is not allowed here"})


def test_unsigned_reads_are_unsigned_and_spend_no_report_counter(
    meter_sim: list[MeterEntry],
) -> None:
    """Each unsigned GET used to be answered with a signed report, spending a counter: anyone
    on the Wi-Fi could make the meter rewrite its counter file (flash) many times a second."""
    entry = meter_sim[2]
    with MeterClient(entry.url, entry.key) as client:
        before = client.status().counter
        for _ in range(100):
            anonymous = httpx.get(entry.url + "/status", timeout=5).json()
            assert "sig" not in anonymous and "counter" not in anonymous
            assert anonymous["kind"] == "status"
        assert client.status().counter == before + 1


def _house(entry: MeterEntry) -> dict[str, float]:
    data: dict[str, float] = httpx.get(entry.url + "/sim/house", timeout=5).json()
    return data


def test_delivery_runs_end_to_end_between_exporting_and_importing_meter(
    meter_sim: list[MeterEntry],
) -> None:
    by_soc = sorted(meter_sim, key=lambda e: _house(e)["soc"])
    buyer_entry, seller_entry = by_soc[0], by_soc[-1]
    target = Wh(3)
    did = 41
    buyer_before = _house(buyer_entry)["imported_wh"]
    with MeterClient(buyer_entry.url, buyer_entry.key) as buyer, \
            MeterClient(seller_entry.url, seller_entry.key) as seller:
        deadline = int(time.time() * 1000) + 3_600_000
        started = buyer.start_delivery(did, Role.IMPORT, target, deadline)
        assert started.delivery.state is DeliveryState.RUNNING
        seller.start_delivery(did, Role.EXPORT, seller_cap_wh(target), deadline)
        end = time.monotonic() + 60
        while True:
            report = buyer.delivery(did)
            seller_status = seller.status()  # polling both keeps their fail-safe quiet
            if report.final:
                break
            assert seller_status.relay_closed
            assert time.monotonic() < end, "delivery did not finish"
            time.sleep(0.05)
        seller_final = seller.stop(did)
        buyer_status = buyer.status()
    assert report.delivery.state is DeliveryState.COMPLETED
    assert report.delivery.delivered_wh == target
    assert report.delivery.delivered_mwh <= target * 1000 * 1.01 + 50
    assert seller_final.final and seller_final.delivery.state is DeliveryState.STOPPED
    assert seller_final.delivery.delivered_mwh > report.delivery.delivered_mwh  # line losses
    assert not buyer_status.relay_closed
    received = _house(buyer_entry)["imported_wh"] - buyer_before
    assert abs(received - target) <= 0.01 * target + 0.05


def test_an_ipv6_host_is_written_in_brackets_in_the_meters_urls() -> None:
    """`--host ::1` used to give http://::1:8100, which no client (nor the server's
    registration check) can parse."""
    url = MeterSim(SimSettings(houses=1, host="::1", base_port=8100)).entries[0].url
    assert url == "http://[::1]:8100" and meter_url_problem(url) is None


def test_a_connection_that_never_finishes_its_request_is_closed(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """Microdot waited for a request's lines without end (one kept open for 271 s): on the
    board, a few such connections would use up its sockets and keep the server out."""
    monkeypatch.setattr(meter_api, "REQUEST_S", 0.5)
    with sim_in_thread(sim_settings(1, speed=1.0)) as sim:
        host, port = sim.entries[0].url.removeprefix("http://").split(":")
        with socket.create_connection((host, int(port)), timeout=10) as hung:
            hung.sendall(b"GET /status HTTP/1.1\r\nHost: meter\r\nContent-Length: 50\r\n")
            started = time.monotonic()
            assert hung.recv(1024) == b""  # closed by the meter, not by our 10 s timeout
            assert time.monotonic() - started < 5
        assert httpx.get(sim.entries[0].url + "/status", timeout=5).status_code == 200
