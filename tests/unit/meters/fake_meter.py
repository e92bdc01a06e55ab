"""An in-memory meter behind an httpx MockTransport: the firmware's routes without sockets."""

from __future__ import annotations

import json
import re
from collections.abc import Callable

import httpx

from gridshare.meters.keys import MeterKey
from gridshare.sim import firmware
from gridshare.sim.firmware import FirmwareMeter

SERVER_T0 = 1_750_000_000_000


class FakeMeter:
    """Routes HTTP requests to a firmware Meter the way gridshare_meter.api does."""

    def __init__(self, key: MeterKey, silence_ms: int = 60_000) -> None:
        self.meter: FirmwareMeter = firmware.new_meter(key.meter_id, key.key, None,
                                                       silence_ms=silence_ms)
        self.now_ms = 0
        self.tamper: Callable[[dict[str, object]], None] | None = None

    def handler(self, request: httpx.Request) -> httpx.Response:
        path = request.url.path
        q = dict(request.url.params)
        m = re.fullmatch(r"/deliveries/(\d+)(/stop)?", path)
        did = int(m.group(1)) if m else None
        if request.method == "POST":
            body = json.loads(request.content or b"null")
            action = {"/deliveries": "start", "/heartbeat": "ping"}.get(path, "stop")
        else:
            body = {"type": "cmd", "action": "get" if did is not None else "status",
                    "sig": q.get("sig")}
            for field in ("meter", "counter", "time"):
                body[field] = int(q[field])
            if did is not None:
                body["id"] = did
            action = str(body["action"])
        code, report = self.meter.command(body, action, self.now_ms, did)  # type: ignore[attr-defined]
        if self.tamper is not None and code < 400:
            self.tamper(report)
        return httpx.Response(code, json=report)

    def transport(self) -> httpx.MockTransport:
        return httpx.MockTransport(self.handler)

    def clock_ms(self) -> int:
        """The server's clock, aligned with the fake meter's."""
        return SERVER_T0 + self.now_ms
