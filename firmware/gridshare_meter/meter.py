"""The meter: authenticated commands, energy integration, deliveries, relay and fail-safe.

Pure logic: the caller passes the local monotonic time (ms) and sensor readings in, and reads
`relay_closed` / `exporting` out. Server time is the reference: every accepted command carries
it, and the meter keeps the offset between the server's clock and its own.
"""

from gridshare_meter.auth import AuthError, Guard
from gridshare_meter.deliveries import Book, BookError, validate
from gridshare_meter.energy import NJ_PER_MWH, Integrator


class Meter:
    """One meter's state machine (see module docstring)."""

    def __init__(self, meter_id, key, store, silence_ms=60000, max_queue=8, max_gap_ms=2000):
        self.meter_id = meter_id
        self.guard = Guard(meter_id, key, store)
        self.book = Book(max_queue)
        self.integrator = Integrator(max_gap_ms)
        self.silence_ms = silence_ms
        self.offset_ms = None
        self.last_contact_ms = None
        self.now_ms = 0
        self.v_mv = 0
        self.i_ma = 0
        self.fault = None
        self.relay_closed = False
        self.exporting = False

    # ---- time -------------------------------------------------------------------------

    def server_time(self, now_ms=None):
        """The server's clock as this meter estimates it (ms), or None before first contact."""
        if self.offset_ms is None:
            return None
        return (self.now_ms if now_ms is None else now_ms) + self.offset_ms

    def silent(self, now_ms):
        """True when no authenticated command has arrived within the silence limit."""
        last = self.last_contact_ms
        return last is None or now_ms - last > self.silence_ms

    # ---- commands ---------------------------------------------------------------------

    def command(self, msg, action, now_ms, path_id=None):
        """Verify and obey one command; returns (HTTP status, signed report or error dict)."""
        self.now_ms = max(self.now_ms, now_ms)
        try:
            self.guard.check(msg)
        except AuthError as e:
            return e.status, {"error": e.reason}
        self.last_contact_ms = now_ms
        self.offset_ms = msg["time"] - now_ms
        req = msg["counter"]
        if msg.get("action") != action:
            return 400, {"error": "action: must be " + action}
        if path_id is not None and msg.get("id") != path_id:
            return 400, {"error": "id: does not match the URL"}
        srv = self.server_time(now_ms)
        try:
            if action == "start":
                did, role, target, deadline = validate(msg, srv)
                self.book.add(did, role, target, deadline, srv)
                self.update(now_ms)
                return 201, self.delivery_report(did, req)
            if action == "stop":
                self.book.stop(msg.get("id"), "stop", srv)
                self.update(now_ms)
                return 200, self.delivery_report(msg.get("id"), req)
            if action == "get":
                if self.book.get(msg.get("id")) is None:
                    raise BookError(404, "id: no such delivery")
                return 200, self.delivery_report(msg.get("id"), req)
            self.update(now_ms)
            return 200, self.status_report(req)
        except BookError as e:
            return e.status, {"error": e.reason}

    # ---- sampling ---------------------------------------------------------------------

    def sample(self, now_ms, v_mv, i_ma, fault=None):
        """Take one sensor sample (or a fault reason); returns whether the relay is closed."""
        self.now_ms = now_ms
        if fault is not None:
            self.fault = fault
            self.v_mv = 0
            self.i_ma = 0
            self.integrator.restart()
            if self.book.active is not None:
                self.book.stop(self.book.active.id, "sensor_fault", self.server_time(now_ms))
        else:
            self.fault = None
            self.v_mv = v_mv
            self.i_ma = i_ma
            imp, exp = self.integrator.add(now_ms, v_mv, i_ma)
            if self.relay_closed:
                self.book.credit(imp, exp, self.server_time(now_ms))
        return self.update(now_ms)

    def update(self, now_ms):
        """Apply deadlines, the fail-safe and the queue; sets and returns the relay state."""
        srv = self.server_time(now_ms)
        if srv is not None:
            self.book.expire(srv)
            active = self.book.active
            if active is not None and self.silent(now_ms):
                self.book.stop(active.id, "server_silent", srv)
            if self.fault is None and not self.silent(now_ms):
                self.book.promote(srv)
        active = self.book.active
        self.relay_closed = active is not None and self.fault is None
        self.exporting = self.relay_closed and active.role == "export"
        return self.relay_closed

    # ---- reports ----------------------------------------------------------------------

    def status_dict(self):
        """Unsigned status values (also used by the HTML page)."""
        active = self.book.active
        return {
            "kind": "status",
            "time": self.server_time(),
            "uptime_ms": self.now_ms,
            "v_mv": self.v_mv,
            "i_ma": self.i_ma,
            "p_mw": self.v_mv * self.i_ma // 1000,
            "import_mwh": self.integrator.import_nj // NJ_PER_MWH,
            "export_mwh": self.integrator.export_nj // NJ_PER_MWH,
            "relay": self.relay_closed,
            "fault": self.fault,
            "silent": self.silent(self.now_ms),
            "active": None if active is None else active.to_dict(),
            "queued": [d.to_dict() for d in self.book.queue],
        }

    def status_report(self, req=None):
        """Signed status report; `req` is the counter of the command it answers, if any."""
        report = self.status_dict()
        report["req"] = req
        return self.guard.sign_report(report)

    def delivery_report(self, did, req=None):
        """Signed report of one delivery (final once its state is completed/stopped/expired)."""
        d = self.book.get(did)
        if d is None:
            return None
        report = d.to_dict()
        report["kind"] = "delivery"
        report["time"] = self.server_time()
        report["req"] = req
        return self.guard.sign_report(report)
