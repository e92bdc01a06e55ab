"""In-process meter links: the real MeterClient talking to the real firmware without sockets.

`FirmwareTransport` is an httpx transport that answers requests the way the firmware's
Microdot routes do (`gridshare_meter.api`), calling the firmware Meter directly. So the
server side signs commands and verifies reports exactly as it does over HTTP.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable
from typing import Any, cast

import httpx

from gridshare.meters import ClockCounter, MeterClient, MeterEntry
from gridshare.sim.firmware import FirmwareMeter

_DELIVERY = re.compile(r"^/deliveries/(\d+)(/stop)?$")


class FirmwareTransport(httpx.BaseTransport):
    """Routes GET /status, POST /deliveries, GET /deliveries/{id}, POST .../stop, /heartbeat."""

    def __init__(self, meter: FirmwareMeter, local_ms: Callable[[], int]) -> None:
        self._meter = cast(Any, meter)  # untyped MicroPython object behind the Protocol
        self._local_ms = local_ms

    def handle_request(self, request: httpx.Request) -> httpx.Response:
        path = request.url.path
        now = self._local_ms()
        match = _DELIVERY.match(path)
        if request.method == "POST":
            body = json.loads(request.content or b"null")
            if path == "/deliveries":
                code, report = self._meter.command(body, "start", now)
            elif path == "/heartbeat":
                code, report = self._meter.command(body, "ping", now)
            elif match and match.group(2):
                code, report = self._meter.command(body, "stop", now, int(match.group(1)))
            else:
                code, report = 404, {"error": "path: not found"}
        elif path == "/status":
            code, report = self._meter.command(self._query(request, "status"), "status", now)
        elif match and not match.group(2):
            did = int(match.group(1))
            msg = self._query(request, "get")
            msg["id"] = did
            code, report = self._meter.command(msg, "get", now, did)
        else:
            code, report = 404, {"error": "path: not found"}
        return httpx.Response(code, json=report)

    @staticmethod
    def _query(request: httpx.Request, action: str) -> dict[str, Any]:
        args = request.url.params
        msg: dict[str, Any] = {"type": "cmd", "action": action, "sig": args.get("sig")}
        for name in ("meter", "counter", "time"):
            try:
                msg[name] = int(args.get(name, ""))
            except ValueError:
                msg[name] = None
        return msg


def in_process_client(
    entry: MeterEntry,
    meter: FirmwareMeter,
    local_ms: Callable[[], int],
    server_ms: Callable[[], int],
) -> MeterClient:
    """A MeterClient for `entry` wired straight to its firmware, on the simulation's clocks."""
    return MeterClient(
        entry.url,
        entry.key,
        counter=ClockCounter(),
        clock_ms=server_ms,
        transport=FirmwareTransport(meter, local_ms),
    )
