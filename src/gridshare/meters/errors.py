"""What can go wrong talking to a meter."""

from __future__ import annotations


class MeterError(Exception):
    """Base class of every meter failure."""


class MeterUnreachable(MeterError):
    """The meter did not answer over HTTP (connection refused, timeout), or not all of its
    answer arrived within the client's timeout for the whole request."""


class MeterAddressInvalid(MeterUnreachable):
    """The meter's recorded address is no URL the client can send to (nothing was sent)."""


class MeterRejected(MeterError):
    """The meter answered with an error status (bad field, auth failure, unknown delivery)."""

    def __init__(self, status: int, message: str) -> None:
        super().__init__(f"meter answered {status}: {message}")
        self.status = status
        self.message = message


class ReportInvalid(MeterError):
    """A report failed verification (bad signature, wrong meter, replayed or malformed), or the
    meter answered something that is no report at all: not JSON, too large, nested too deep,
    encoded, or not HTTP the client can decode. Messages are "<field>: <rule>"."""

    @property
    def field(self) -> str:
        """The part at fault: "sig" for a bad signature, "report" for an unreadable answer."""
        return str(self).partition(":")[0]
