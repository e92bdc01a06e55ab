"""Command verification and report signing with a per-meter key and persisted counters."""

from gridshare_meter.canon import signing_bytes
from gridshare_meter.hmac256 import equal, hexlify, hmac_sha256, unhexlify

# Report counters are reserved in blocks so flash is written once per block, not per report;
# after a reboot the meter starts at the end of the last reserved block, so its counter
# never repeats or goes backwards.
REPORT_BLOCK = 64


class StateUnreadable(Exception):
    """A state file is there but cannot be read: the counters in it are unknown."""


class AuthError(Exception):
    """A command that must not be obeyed; `status` is the HTTP status to answer with."""

    def __init__(self, status, reason):
        super().__init__(reason)
        self.status = status
        self.reason = reason


def sign(key, msg):
    """Hex HMAC-SHA256 of msg's canonical bytes under key."""
    return hexlify(hmac_sha256(key, signing_bytes(msg)))


def _is_int(value):
    return isinstance(value, int) and not isinstance(value, bool)


def _counters(state):
    """(last command counter, report counter) from saved state; StateUnreadable if wrong."""
    counters = []
    for field in ("cmd", "rpt"):
        value = state.get(field, 0)
        if not _is_int(value) or value < 0:
            raise StateUnreadable(field + " must be a whole number >= 0")
        counters.append(value)
    return counters[0], counters[1]


class Guard:
    """Accepts only fresh commands signed for this meter, and signs this meter's reports."""

    def __init__(self, meter_id, key, store):
        if len(key) != 32:
            raise ValueError("meter key must be 32 bytes (256 bits)")
        self.meter_id = meter_id
        self._key = key
        self._store = store
        self.locked = None
        """Why no command is obeyed (the saved counters are unknown), or None."""
        try:
            self.last_command, self.report_counter = _counters(store.load())
        except StateUnreadable as e:
            self.locked = str(e)
            self.last_command, self.report_counter = 0, 0
            self._reserved = REPORT_BLOCK  # nothing is written over the unreadable file
            return
        self._reserved = self.report_counter
        self._reserve()

    def _reserve(self):
        self._reserved = self.report_counter + REPORT_BLOCK
        self._save(self._reserved)

    def _save(self, reserved):
        if self.locked is None:
            self._store.save({"cmd": self.last_command, "rpt": reserved})

    def check(self, msg):
        """Raise AuthError unless msg is a signed, fresh command for this meter; then record it."""
        if not isinstance(msg, dict):
            raise AuthError(401, "a signed command object is required")
        sig = msg.get("sig")
        if not isinstance(sig, str):
            raise AuthError(401, "sig: missing signature")
        if msg.get("type") != "cmd":
            raise AuthError(401, "type: must be cmd")
        for field in ("meter", "counter", "time"):
            if not _is_int(msg.get(field)):
                raise AuthError(401, field + ": must be an integer")
        try:
            expected = hmac_sha256(self._key, signing_bytes(msg))
            given = unhexlify(sig)
        except ValueError:
            raise AuthError(401, "sig: not a valid signature") from None
        if not equal(expected, given):
            raise AuthError(401, "sig: signature does not match")
        if msg["meter"] != self.meter_id:
            raise AuthError(403, "meter: command is for another meter")
        if self.locked is not None:
            raise AuthError(503, "state: " + self.locked + "; the counters are unknown, so no"
                            " command is obeyed (docs/meters.md, 'A meter that refuses every"
                            " command')")
        if msg["counter"] <= self.last_command:
            raise AuthError(401, "counter: replayed or out of order")
        self.last_command = msg["counter"]
        self._save(self._reserved)
        return msg

    def sign_report(self, report):
        """Stamp report with this meter's id, next counter and HMAC; returns it."""
        self.report_counter += 1
        if self.report_counter >= self._reserved:
            self._reserve()
        report["type"] = "report"
        report["meter"] = self.meter_id
        report["counter"] = self.report_counter
        report["sig"] = sign(self._key, report)
        return report
