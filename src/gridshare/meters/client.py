"""Authenticated HTTP clients for the meter API (sync and async), returning verified reports.

A meter's answer is read with limits, because anyone on the village Wi-Fi can answer at a
meter's address: at most `MAX_ANSWER_BYTES` (a report is a few hundred bytes), no content
encoding (the client asks for none, so a body that claims gzip is never decoded), nesting no
deeper than `MAX_ANSWER_DEPTH` (py-evm raises Python's recursion limit to 100,000 at import, so
`json.loads` of 200,000 `[` overflows the C stack and kills the server), and the whole request
within the client's `timeout` (a meter dripping one byte a second would otherwise hold the
caller for as long as it likes: httpx's timeouts are per read). Anything else than a readable
answer is a `MeterError`: `MeterUnreachable` for no (whole) answer in time, `ReportInvalid`
for an answer that is not a report the server can read.
"""

from __future__ import annotations

import json
import logging
import time
from collections.abc import Callable, Iterable, Mapping
from contextvars import ContextVar
from dataclasses import dataclass
from typing import Any

import httpcore
import httpx

from gridshare.domain.units import Wh
from gridshare.meters.address import meter_url_problem
from gridshare.meters.errors import (
    MeterAddressInvalid,
    MeterRejected,
    MeterUnreachable,
    ReportInvalid,
)
from gridshare.meters.keys import ClockCounter, CommandCounter, MeterKey
from gridshare.meters.reports import (
    DeliveryReport,
    MeterStatus,
    Role,
    verify_delivery_report,
    verify_status_report,
)
from gridshare.meters.wire import sign
from gridshare.nesting import json_depth

log = logging.getLogger(__name__)


def seller_cap_wh(target_wh: Wh, loss_percent: int = 10) -> Wh:
    """Export cap for the seller's meter: the buyer's target plus a line-loss allowance.

    The buyer's (import) meter ends a transfer at the target; the seller's meter is given a
    cap above it so line losses never starve the buyer, and is stopped once the buyer is done.
    """
    return Wh(target_wh + (target_wh * loss_percent + 99) // 100)


def _wall_ms() -> int:
    return time.time_ns() // 1_000_000


MAX_ANSWER_BYTES = 64 * 1024
MAX_ANSWER_DEPTH = 16  # a status report nests 3 deep (report -> queued -> delivery)

def parse_answer(body: bytes) -> Any:
    """The JSON value a meter answered; None if `body` is not UTF-8 JSON.

    Raises ReportInvalid for JSON nested deeper than `MAX_ANSWER_DEPTH`, before parsing it.
    """
    if json_depth(body) > MAX_ANSWER_DEPTH:
        raise ReportInvalid(f"report: meter answered JSON nested deeper than {MAX_ANSWER_DEPTH}")
    try:
        return json.loads(body.decode("utf-8"))
    except ValueError:  # UnicodeDecodeError included
        return None


@dataclass(frozen=True, slots=True)
class Answer:
    """A meter's whole answer, read within the limits: its HTTP status and body."""

    status_code: int
    content: bytes

    @property
    def text(self) -> str:
        return self.content.decode("utf-8", "replace")


def read_capped(
    headers: httpx.Headers, chunks: Iterable[bytes], deadline: float, limit: int = MAX_ANSWER_BYTES
) -> bytes:
    """The body from `chunks` (undecoded), refused past `limit` bytes, an encoding or `deadline`.

    A Content-Length over the limit or a Content-Encoding is refused before a byte is read;
    a longer body is refused at the first chunk past the limit, the rest left unread.
    """
    encoding = headers.get("content-encoding", "identity").strip().lower()
    if encoding != "identity":
        raise ReportInvalid(f"report: meter answered in {encoding[:40]!r} encoding, asked for none")
    declared = headers.get("content-length", "").strip()
    if declared.isdigit() and int(declared) > limit:
        raise ReportInvalid(f"report: meter answer larger than {limit} bytes")
    body = bytearray()
    for chunk in chunks:
        body += chunk
        if len(body) > limit:
            raise ReportInvalid(f"report: meter answer larger than {limit} bytes")
        if time.monotonic() > deadline:
            raise httpx.ReadTimeout("the whole answer took longer than the timeout")
    return bytes(body)


# The monotonic time by which the current request must be over (each thread has its own).
_DEADLINE: ContextVar[float | None] = ContextVar("meter_request_deadline", default=None)


def _within_deadline(timeout: float | None, error: type[Exception]) -> float | None:
    """`timeout` for one socket wait, shortened to what is left of the request's deadline."""
    deadline = _DEADLINE.get()
    if deadline is None:
        return timeout
    left = deadline - time.monotonic()
    if left <= 0:
        raise error("the whole request took longer than the timeout")
    return left if timeout is None else min(timeout, left)


class _DeadlineStream(httpcore.NetworkStream):
    """A socket stream whose every wait ends by the request's deadline."""

    def __init__(self, stream: httpcore.NetworkStream) -> None:
        self._stream = stream

    def read(self, max_bytes: int, timeout: float | None = None) -> bytes:
        return self._stream.read(max_bytes, _within_deadline(timeout, httpcore.ReadTimeout))

    def write(self, buffer: bytes, timeout: float | None = None) -> None:
        self._stream.write(buffer, _within_deadline(timeout, httpcore.WriteTimeout))

    def close(self) -> None:
        self._stream.close()

    def start_tls(
        self, ssl_context: Any, server_hostname: str | None = None, timeout: float | None = None
    ) -> httpcore.NetworkStream:
        wait = _within_deadline(timeout, httpcore.ConnectTimeout)
        return _DeadlineStream(self._stream.start_tls(ssl_context, server_hostname, wait))

    def get_extra_info(self, info: str) -> Any:
        return self._stream.get_extra_info(info)


class _DeadlineBackend(httpcore.NetworkBackend):
    """httpcore's socket backend, with every connect, read and write bounded by the deadline."""

    def __init__(self) -> None:
        self._backend = httpcore.SyncBackend()

    def connect_tcp(
        self,
        host: str,
        port: int,
        timeout: float | None = None,
        local_address: str | None = None,
        socket_options: Iterable[Any] | None = None,
    ) -> httpcore.NetworkStream:
        wait = _within_deadline(timeout, httpcore.ConnectTimeout)
        return _DeadlineStream(
            self._backend.connect_tcp(host, port, wait, local_address, socket_options)
        )

    def connect_unix_socket(
        self, path: str, timeout: float | None = None, socket_options: Iterable[Any] | None = None
    ) -> httpcore.NetworkStream:
        wait = _within_deadline(timeout, httpcore.ConnectTimeout)
        return _DeadlineStream(self._backend.connect_unix_socket(path, wait, socket_options))

    def sleep(self, seconds: float) -> None:
        self._backend.sleep(seconds)


def _deadline_transport() -> httpx.HTTPTransport:
    """httpx's transport over `_DeadlineBackend` (httpx has no argument for the backend)."""
    transport = httpx.HTTPTransport(trust_env=False)
    transport._pool = httpcore.ConnectionPool(network_backend=_DeadlineBackend())
    return transport


class _Signer:
    """Builds signed commands for one meter and verifies the reports that answer them."""

    def __init__(
        self, key: MeterKey, counter: CommandCounter | None, clock_ms: Callable[[], int] | None
    ) -> None:
        self.key = key
        self._counter = counter or ClockCounter()
        self._clock_ms = clock_ms or _wall_ms
        self.last_report = 0

    def command(self, action: str, **fields: object) -> dict[str, object]:
        msg: dict[str, object] = {
            "type": "cmd",
            "meter": self.key.meter_id,
            "counter": self._counter.next(self.key.meter_id),
            "time": self._clock_ms(),
            "action": action,
            **fields,
        }
        msg["sig"] = sign(self.key.key, msg)
        return msg

    @staticmethod
    def query(msg: Mapping[str, object]) -> dict[str, str]:
        return {k: str(msg[k]) for k in ("meter", "counter", "time", "sig")}

    @staticmethod
    def body(response: Answer) -> Any:
        data = parse_answer(response.content)
        if response.status_code >= 400:
            message = data.get("error") if isinstance(data, dict) else response.text
            raise MeterRejected(response.status_code, str(message)[:200])
        if data is None:
            raise ReportInvalid("report: meter answered with no JSON")
        return data

    def delivery(self, response: Answer, msg: Mapping[str, object]) -> DeliveryReport:
        did = msg.get("id")
        report = verify_delivery_report(
            self.body(response),
            self.key,
            delivery_id=did if isinstance(did, int) else None,
            request_counter=int(str(msg["counter"])),
            after=self.last_report,
        )
        self.counted(report.counter)
        return report

    def status(self, response: Answer, msg: Mapping[str, object]) -> MeterStatus:
        report = verify_status_report(
            self.body(response),
            self.key,
            request_counter=int(str(msg["counter"])),
            after=self.last_report,
        )
        self.counted(report.counter)
        return report

    def counted(self, counter: int) -> None:
        """Note a verified report's counter; one that went back is said (not refused)."""
        if counter <= self.last_report:
            log.warning(
                "meter %d: its report counter went back from %d to %d, so it lost its counter"
                " file (re-flashed, or the file was removed). Its answers are still checked"
                " against each request; until the server's next command it would also obey"
                " a recorded one (docs/meters.md, Counters survive reboots)",
                self.key.meter_id, self.last_report, counter,
            )
        self.last_report = counter


class MeterClient:
    """Talks to one meter: every request is signed, every answer verified."""

    def __init__(
        self,
        base_url: str,
        key: MeterKey,
        *,
        counter: CommandCounter | None = None,
        clock_ms: Callable[[], int] | None = None,
        timeout: float = 5.0,
        transport: httpx.BaseTransport | None = None,
    ) -> None:
        self._signer = _Signer(key, counter, clock_ms)
        self._timeout = timeout
        # an address recorded before registration checked it fails each request, not here
        self._address_problem = meter_url_problem(base_url)
        self._http = httpx.Client(
            base_url="" if self._address_problem else base_url,
            timeout=timeout,
            transport=transport or _deadline_transport(),
            headers={"Accept-Encoding": "identity"},
        )

    @property
    def meter_id(self) -> int:
        return self._signer.key.meter_id

    def _send(self, method: str, path: str, msg: dict[str, object]) -> Answer:
        self._check_address()
        if method == "GET":
            return self._fetch(self._http.build_request("GET", path, params=_Signer.query(msg)))
        return self._fetch(self._http.build_request("POST", path, json=msg))

    def _fetch(self, request: httpx.Request) -> Answer:
        """The meter's whole answer within the limits, or a MeterError; never an httpx error."""
        deadline = time.monotonic() + self._timeout
        token = _DEADLINE.set(deadline)
        try:
            response = self._http.send(request, stream=True)
            try:
                # a test transport's response may come already read, from memory
                chunks = [response.content] if response.is_stream_consumed else response.iter_raw()
                body = read_capped(response.headers, chunks, deadline)
            finally:
                response.close()
        except httpx.TransportError as exc:  # no answer, or not all of it within the timeout
            raise MeterUnreachable(f"meter {self.meter_id}: {exc or type(exc).__name__}") from exc
        except httpx.HTTPError as exc:  # it answered, but not in HTTP the client can read
            raise ReportInvalid(f"report: meter answered garbage: {exc}") from exc
        finally:
            _DEADLINE.reset(token)
        return Answer(response.status_code, body)

    def _check_address(self) -> None:
        if self._address_problem:
            raise MeterAddressInvalid(f"meter {self.meter_id}: address {self._address_problem}")

    def get_json(self, path: str) -> Any:
        """An unsigned GET (the simulator's /sim endpoints), read within the same limits."""
        self._check_address()
        return _Signer.body(self._fetch(self._http.build_request("GET", path)))

    def start_delivery(
        self, delivery_id: int, role: Role, target_wh: int, deadline_ms: int
    ) -> DeliveryReport:
        """Queue a delivery on the meter (it starts when the one before it ends)."""
        msg = self._signer.command(
            "start", id=delivery_id, role=Role(role).value, target_wh=target_wh,
            deadline=deadline_ms,
        )
        return self._signer.delivery(self._send("POST", "/deliveries", msg), msg)

    def stop(self, delivery_id: int) -> DeliveryReport:
        """Stop a delivery now; returns its final report."""
        msg = self._signer.command("stop", id=delivery_id)
        response = self._send("POST", f"/deliveries/{delivery_id}/stop", msg)
        return self._signer.delivery(response, msg)

    def delivery(self, delivery_id: int) -> DeliveryReport:
        """The current signed report of one delivery."""
        msg = self._signer.command("get", id=delivery_id)
        return self._signer.delivery(self._send("GET", f"/deliveries/{delivery_id}", msg), msg)

    def status(self) -> MeterStatus:
        """Readings, counters, relay and deliveries (also counts as server contact)."""
        msg = self._signer.command("status")
        return self._signer.status(self._send("GET", "/status", msg), msg)

    def heartbeat(self) -> MeterStatus:
        """Tell the meter the server is alive (keeps the fail-safe from tripping)."""
        msg = self._signer.command("ping")
        return self._signer.status(self._send("POST", "/heartbeat", msg), msg)

    def wait_final(self, delivery_id: int, timeout_s: float, poll_s: float = 0.1) -> DeliveryReport:
        """Poll until the delivery is final; raises TimeoutError after timeout_s."""
        end = time.monotonic() + timeout_s
        while True:
            report = self.delivery(delivery_id)
            if report.final:
                return report
            if time.monotonic() >= end:
                raise TimeoutError(f"delivery {delivery_id} not final on meter {self.meter_id}")
            time.sleep(poll_s)

    def close(self) -> None:
        self._http.close()

    def __enter__(self) -> MeterClient:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()
