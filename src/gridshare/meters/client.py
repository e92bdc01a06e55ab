"""Authenticated HTTP clients for the meter API (sync and async), returning verified reports."""

from __future__ import annotations

import time
from collections.abc import Callable, Mapping
from typing import Any

import httpx

from gridshare.domain.units import Wh
from gridshare.meters.errors import MeterRejected, MeterUnreachable, ReportInvalid
from gridshare.meters.keys import ClockCounter, CommandCounter, MeterKey
from gridshare.meters.reports import (
    DeliveryReport,
    MeterStatus,
    Role,
    verify_delivery_report,
    verify_status_report,
)
from gridshare.meters.wire import sign


def seller_cap_wh(target_wh: Wh, loss_percent: int = 10) -> Wh:
    """Export cap for the seller's meter: the buyer's target plus a line-loss allowance.

    The buyer's (import) meter ends a transfer at the target; the seller's meter is given a
    cap above it so line losses never starve the buyer, and is stopped once the buyer is done.
    """
    return Wh(target_wh + (target_wh * loss_percent + 99) // 100)


def _wall_ms() -> int:
    return time.time_ns() // 1_000_000


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
    def body(response: httpx.Response) -> Any:
        try:
            data = response.json()
        except ValueError:
            data = None
        if response.status_code >= 400:
            message = data.get("error") if isinstance(data, dict) else response.text
            raise MeterRejected(response.status_code, str(message))
        if data is None:
            raise ReportInvalid("report: meter answered with no JSON")
        return data

    def delivery(self, response: httpx.Response, msg: Mapping[str, object]) -> DeliveryReport:
        did = msg.get("id")
        report = verify_delivery_report(
            self.body(response),
            self.key,
            delivery_id=did if isinstance(did, int) else None,
            request_counter=int(str(msg["counter"])),
            after=self.last_report,
        )
        self.last_report = report.counter
        return report

    def status(self, response: httpx.Response, msg: Mapping[str, object]) -> MeterStatus:
        report = verify_status_report(
            self.body(response),
            self.key,
            request_counter=int(str(msg["counter"])),
            after=self.last_report,
        )
        self.last_report = report.counter
        return report


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
        self._http = httpx.Client(base_url=base_url, timeout=timeout, transport=transport)

    @property
    def meter_id(self) -> int:
        return self._signer.key.meter_id

    def _send(self, method: str, path: str, msg: dict[str, object]) -> httpx.Response:
        try:
            if method == "GET":
                return self._http.get(path, params=_Signer.query(msg))
            return self._http.post(path, json=msg)
        except httpx.TransportError as exc:
            raise MeterUnreachable(f"meter {self.meter_id}: {exc}") from exc

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
