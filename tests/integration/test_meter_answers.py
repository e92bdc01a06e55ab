"""Whatever answers at a meter's address, the server stays up and keeps the other meters going.

Anyone on the village Wi-Fi can answer at a meter's IP. A fake meter on loopback (real HTTP,
raw bytes) answers what a tester's fault-injecting proxy did: JSON nested 200,000 deep (it
segfaulted the server: py-evm raises the recursion limit so the C JSON scanner overflows the
stack), a body that claims gzip but is not (httpx.DecodingError escaped the client and failed
every orchestrator round), one byte at a time (the timeout was per read, so one request could
last a minute), far too much, and wrong answers every tick (404, unsigned, HTTP 500), which
were logged on every tick. Each becomes a meter error of the right kind, a sentence a resident
can act on, and one log line per back-off step; a healthy delivery still starts.
"""

from __future__ import annotations

import dataclasses
import logging
import os
import subprocess
import sys
import textwrap
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest

from gridshare.config import Settings
from gridshare.domain import Side
from gridshare.meters import MeterClient, MeterKey, MeterRejected, MeterUnreachable, ReportInvalid
from gridshare.runtime import build_runtime
from gridshare.services.engine import EngineSettings, MarketEngine
from gridshare.storage.deliveries import Phase
from gridshare.storage.households import HouseholdRecord
from gridshare.web.readings import meter_reading
from tests.integration.engine.support import register_community, sim_in_thread, sim_settings

# what the resident's My meter page says
UNREADABLE = ("The meter answered, but not with a report the server can read: ask the operator "
              "to check it.")
BAD_SIGNATURE = ("The meter answered, but its report is not signed with the key registered for "
                 "this house: ask the operator to check the meter key.")

KEY = MeterKey(1, bytes(range(32)))
DRIP_S = 0.2  # between two bytes: well under the per-read timeout, so only a deadline ends it
FLOOD = 16 * 2**20  # far more than the socket buffers hold


def _http(status: str, body: bytes, *headers: str) -> bytes:
    head = [f"HTTP/1.1 {status}", f"Content-Length: {len(body)}", "Connection: close", *headers]
    return ("\r\n".join(head) + "\r\n\r\n").encode() + body


JSON = "Content-Type: application/json"
ANSWERS = {
    "deep": _http("200 OK", b"[" * 200_000 + b"]" * 200_000, JSON),  # the tester's
    "deep but small": _http("200 OK", b"[" * 32_000 + b"]" * 32_000, JSON),  # under 64 KiB
    "bad gzip": _http("200 OK", b'{"this": "is not gzip"}', JSON, "Content-Encoding: gzip"),
    "drip": _http("200 OK", b'{"type": "status", "meter": 1}', JSON),
    "not found": _http("404 Not Found", b'{"error": "id: no such delivery"}', JSON),
    "unsigned": _http("200 OK", b'{"type": "status", "meter": 1, "sig": "00"}', JSON),
    "server error": _http("500 Internal Server Error", b"<html>oops</html>", "Content-Type: html"),
}


@dataclass
class FakeMeter:
    """What the fake meter answers, and what it saw."""

    url: str
    answer: str
    tries: list[float] = field(default_factory=list)
    hung_up: list[bool] = field(default_factory=list)
    """per answer: the client closed the connection before the answer was all sent"""


def attempts(times: list[float], gap_s: float = 0.25) -> list[list[float]]:
    """Requests grouped into the orchestrator's tries: a new try after a pause of `gap_s`
    (the shortest wait after a failure is 0.5 s)."""
    grouped: list[list[float]] = []
    for t in times:
        if grouped and t - grouped[-1][-1] < gap_s:
            grouped[-1].append(t)
        else:
            grouped.append([t])
    return grouped


@contextmanager
def fake_meter(answer: str) -> Iterator[FakeMeter]:
    """An HTTP server on loopback that answers every request with `ANSWERS[answer]`'s bytes
    ("drip": one byte every DRIP_S; "flood": FLOOD bytes of JSON text with no length)."""
    meter = FakeMeter("", answer)

    class Handler(BaseHTTPRequestHandler):
        def handle_one_request(self) -> None:
            self.raw_requestline = self.rfile.readline(65537)
            if not self.raw_requestline or not self.parse_request():
                return
            self.rfile.read(int(self.headers.get("Content-Length") or 0))
            meter.tries.append(time.monotonic())
            try:
                self._answer()
                meter.hung_up.append(False)
            except OSError:
                meter.hung_up.append(True)
            self.close_connection = True

        def _answer(self) -> None:
            if meter.answer == "flood":
                self.wfile.write(b"HTTP/1.1 200 OK\r\nConnection: close\r\n\r\n" + b'"')
                for _ in range(FLOOD // 2**16):
                    self.wfile.write(b"x" * 2**16)
                return
            data = ANSWERS[meter.answer]
            if meter.answer != "drip":
                self.wfile.write(data)
                return
            for i in range(len(data)):
                self.wfile.write(data[i : i + 1])
                self.wfile.flush()
                time.sleep(DRIP_S)

        def log_message(self, *args: object) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    server.daemon_threads = True
    meter.url = f"http://127.0.0.1:{server.server_address[1]}"
    thread = threading.Thread(target=server.serve_forever, args=(0.05,), daemon=True)
    thread.start()
    try:
        yield meter
    finally:
        server.shutdown()
        server.server_close()


def household(url: str) -> HouseholdRecord:
    return HouseholdRecord(house_id=1, name="House 1", account="0x" + "11" * 20, meter_id=1,
                           meter_url=url, meter_key_hex=KEY.key.hex(), auto_trading=None)


# -- the client ----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("answer", "refusal"),
    [("deep", "report: meter answer larger than"),
     ("deep but small", "report: meter answered JSON nested deeper than")],
)
def test_deeply_nested_json_from_a_meter_is_refused_without_parsing_it(
    answer: str, refusal: str
) -> None:
    # in a child process: on the old code the parse overflowed the C stack and killed it
    script = textwrap.dedent("""
        import sys
        import eth  # noqa: F401  (as in the server: py-evm raises the recursion limit)
        from gridshare.meters import MeterClient, MeterError, MeterKey
        from gridshare.storage.households import HouseholdRecord
        from gridshare.web.readings import meter_reading

        url, key = sys.argv[1], MeterKey(1, bytes(range(32)))
        assert sys.getrecursionlimit() >= 100_000
        try:
            MeterClient(url, key).status()
        except MeterError as exc:
            print(type(exc).__name__, exc)
        record = HouseholdRecord(house_id=1, name="House 1", account="0x" + "11" * 20,
                                 meter_id=1, meter_url=url, meter_key_hex=key.key.hex(),
                                 auto_trading=None)
        print(meter_reading(record).error)
    """)
    with fake_meter(answer) as meter:
        child = subprocess.run(
            [sys.executable, "-c", script, meter.url], capture_output=True, text=True,
            timeout=120, env=os.environ.copy(),
        )  # fmt: skip
    assert child.returncode == 0, (child.returncode, child.stderr[-2000:])
    client_error, page_error = child.stdout.strip().splitlines()
    assert client_error.startswith(f"ReportInvalid {refusal}"), client_error
    assert page_error == UNREADABLE


def test_a_body_that_claims_gzip_but_is_not_is_an_unreadable_answer_not_an_httpx_error() -> None:
    with fake_meter("bad gzip") as meter:
        with MeterClient(meter.url, KEY) as client, pytest.raises(ReportInvalid) as info:
            client.status()
        reading = meter_reading(household(meter.url))
    assert info.value.field == "report"
    assert reading.error == UNREADABLE  # it answered: not "check that it has power"


def test_a_meter_dripping_its_answer_is_unreachable_once_the_whole_timeout_has_passed() -> None:
    with fake_meter("drip") as meter:
        with MeterClient(meter.url, KEY, timeout=1.0) as client, pytest.raises(MeterUnreachable):
            client.status()
        time.sleep(4 * DRIP_S)  # the fake meter's next byte finds the connection closed
        assert meter.hung_up == [True]


def test_an_answer_larger_than_the_limit_is_refused_without_reading_the_rest() -> None:
    with fake_meter("flood") as meter:
        with MeterClient(meter.url, KEY) as client, pytest.raises(ReportInvalid, match="larger"):
            client.status()
        deadline = time.monotonic() + 10
        while not meter.hung_up and time.monotonic() < deadline:
            time.sleep(0.05)
    assert meter.hung_up == [True]  # the client stopped reading and hung up


@pytest.mark.parametrize(
    ("answer", "kind", "message"),
    [
        ("unsigned", ReportInvalid, BAD_SIGNATURE),
        ("server error", MeterRejected,
         "The meter answered with an error (HTTP 500): ask the operator to check it."),
        ("bad gzip", ReportInvalid, UNREADABLE),
    ],
)
def test_the_meter_page_says_in_a_sentence_what_a_wrong_answer_means(
    answer: str, kind: type[Exception], message: str
) -> None:
    with fake_meter(answer) as meter:
        with MeterClient(meter.url, KEY) as client, pytest.raises(kind):
            client.status()
        reading = meter_reading(household(meter.url))
    assert not reading.reachable and reading.error == message


# -- the orchestrator -----------------------------------------------------------------------


@pytest.mark.parametrize("answer", ["bad gzip", "not found"])
def test_a_meter_answering_wrongly_is_left_alone_and_another_delivery_still_starts(
    answer: str, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    with sim_in_thread(sim_settings(4, speed=1.0)) as sim, fake_meter(answer) as bad:
        runtime = build_runtime(Settings(data_dir=tmp_path, market_engine=False))
        engine = MarketEngine(
            runtime.market, runtime.operator, runtime.database,
            EngineSettings(meter_timeout_s=1.0),
        )  # driven round by round here, not started
        try:
            accounts = register_community(runtime, sim.entries)
            house = engine.households.get(1)  # delivery 1's seller: its meter answers wrongly
            assert house is not None
            engine.households.save(dataclasses.replace(house, meter_url=bad.url))
            engine.trading.place_order(accounts[0], Side.SELL, 3, 1000, 3600)
            engine.trading.place_order(accounts[1], Side.BUY, 3, 1000, 3600)
            assert [d.id for d in engine.matcher.tick()] == [1]
            engine.trading.place_order(accounts[2], Side.SELL, 3, 1000, 3600)
            engine.trading.place_order(accounts[3], Side.BUY, 3, 1000, 3600)
            assert [d.id for d in engine.matcher.tick()] == [2]

            caplog.set_level(logging.INFO, logger="gridshare.services.orchestrator")
            engine.orchestrator.tick()  # the round goes on past the bad meter
            first, second = engine.delivery(1), engine.delivery(2)
            assert first is not None and first.phase is Phase.PENDING
            assert second is not None and second.phase is Phase.RUNNING

            end = time.monotonic() + 2.0
            while time.monotonic() < end:  # ~40 rounds
                engine.orchestrator.tick()
                time.sleep(0.05)
        finally:
            runtime.close()
    # waits of 0.5 and 1 s after the first try: 3 tries in 2 s, not one a round (a try is one
    # request, or two milliseconds apart: the check of what the meter holds, then the start)
    tries = attempts(bad.tries)
    assert 2 <= len(tries) <= 4, bad.tries
    assert all(len(t) <= 2 for t in tries), bad.tries
    lines = [r.getMessage() for r in caplog.records if "meter 1 " in r.getMessage()]
    assert len(lines) == len(tries), lines  # one line per try, none per skipped round
    assert all("house 1 (house-01)" in line for line in lines), lines
