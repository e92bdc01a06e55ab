"""Delivery state machine: one running delivery, a FIFO queue, and recent finished ones."""

from gridshare_meter.energy import NJ_PER_MWH, NJ_PER_WH

QUEUED = "queued"
RUNNING = "running"
COMPLETED = "completed"
STOPPED = "stopped"
EXPIRED = "expired"
FINAL = (COMPLETED, STOPPED, EXPIRED)
ROLES = ("import", "export")
MAX_TARGET_WH = 1000000


class BookError(Exception):
    """A delivery request that cannot be accepted; `status` is the HTTP status."""

    def __init__(self, status, reason):
        super().__init__(reason)
        self.status = status
        self.reason = reason


class Delivery:
    """One delivery on this meter; times are server milliseconds, energy in nanojoules."""

    def __init__(self, did, role, target_wh, deadline, created):
        self.id = did
        self.role = role
        self.target_wh = target_wh
        self.deadline = deadline
        self.created = created
        self.state = QUEUED
        self.reason = None
        self.energy_nj = 0
        self.started = None
        self.ended = None

    @property
    def target_nj(self):
        return self.target_wh * NJ_PER_WH

    @property
    def final(self):
        return self.state in FINAL

    def finish(self, state, reason, now):
        self.state = state
        self.reason = reason
        self.ended = now

    def to_dict(self):
        """Plain dict for reports (every value an int, str, bool or None)."""
        mwh = self.energy_nj // NJ_PER_MWH
        return {
            "id": self.id,
            "role": self.role,
            "target_wh": self.target_wh,
            "deadline": self.deadline,
            "state": self.state,
            "reason": self.reason,
            "delivered_mwh": mwh,
            "delivered_wh": mwh // 1000,
            "created": self.created,
            "started": self.started,
            "ended": self.ended,
            "final": self.final,
        }


def _is_int(value):
    return isinstance(value, int) and not isinstance(value, bool)


def validate(cmd, now):
    """(id, role, target_wh, deadline) from a start command, or BookError naming the field."""
    did = cmd.get("id")
    if not _is_int(did) or did < 0:
        raise BookError(400, "id: must be a non-negative integer")
    role = cmd.get("role")
    if role not in ROLES:
        raise BookError(400, "role: must be import or export")
    target = cmd.get("target_wh")
    if not _is_int(target) or not (0 < target <= MAX_TARGET_WH):
        raise BookError(400, f"target_wh: must be an integer from 1 to {MAX_TARGET_WH}")
    deadline = cmd.get("deadline")
    if not _is_int(deadline):
        raise BookError(400, "deadline: must be an integer (server time, ms)")
    if deadline <= now:
        raise BookError(400, "deadline: already passed")
    return did, role, target, deadline


class Book:
    """The deliveries a meter knows: active, queued (FIFO) and a bounded history."""

    def __init__(self, max_queue=8, history=32):
        self.max_queue = max_queue
        self.history = history
        self.active = None
        self.queue = []
        self.done = []

    def get(self, did):
        """The delivery with this id, or None."""
        if self.active is not None and self.active.id == did:
            return self.active
        for d in self.queue:
            if d.id == did:
                return d
        for d in self.done:
            if d.id == did:
                return d
        return None

    def add(self, did, role, target_wh, deadline, now):
        """Queue a new delivery; raises BookError on a duplicate id or a full queue."""
        if self.get(did) is not None:
            raise BookError(409, "id: delivery already known to this meter")
        if len(self.queue) >= self.max_queue:
            raise BookError(409, "queue: full")
        d = Delivery(did, role, target_wh, deadline, now)
        self.queue.append(d)
        return d

    def _retire(self, d):
        if d is self.active:
            self.active = None
        elif d in self.queue:
            self.queue.remove(d)
        self.done.append(d)
        if len(self.done) > self.history:
            self.done.pop(0)

    def stop(self, did, reason, now):
        """Stop a queued or running delivery (a finished one is returned unchanged)."""
        d = self.get(did)
        if d is None:
            raise BookError(404, "id: no such delivery")
        if not d.final:
            d.finish(STOPPED, reason, now)
            self._retire(d)
        return d

    def credit(self, import_nj, export_nj, now):
        """Add metered energy to the running delivery; completes it at its target."""
        d = self.active
        if d is None:
            return
        d.energy_nj += import_nj if d.role == "import" else export_nj
        if d.energy_nj >= d.target_nj:
            d.finish(COMPLETED, "target", now)
            self._retire(d)

    def expire(self, now):
        """Expire every unfinished delivery whose deadline has passed."""
        for d in [self.active] + list(self.queue):  # noqa: RUF005 - MicroPython-safe
            if d is not None and now >= d.deadline:
                d.finish(EXPIRED, "deadline", now)
                self._retire(d)

    def promote(self, now):
        """Start the oldest queued delivery if none is running; returns the running one."""
        if self.active is None and self.queue:
            d = self.queue.pop(0)
            d.state = RUNNING
            d.started = now
            self.active = d
        return self.active
