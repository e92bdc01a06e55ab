"""How many live-update streams each session has open, so one phone cannot open thousands.

A stream holds a `StreamTicket` for as long as it runs; the count is of tickets still alive
(a weak set), so a stream that ends in any way, or never starts because its client left
first, gives its place back when it is garbage.
"""

from __future__ import annotations

import threading
import weakref
from collections import defaultdict

STREAMS_PER_SESSION = 4  # a resident's open tabs; each stream sends every 2 s


class StreamTicket:
    """A place taken by one open stream."""


class LiveStreams:
    """At most `per_session` streams open at once per session."""

    def __init__(self, per_session: int = STREAMS_PER_SESSION) -> None:
        self.per_session = per_session
        self._open: defaultdict[str, weakref.WeakSet[StreamTicket]] = defaultdict(weakref.WeakSet)
        self._lock = threading.Lock()

    def take(self, session_id: str) -> StreamTicket | None:
        """A ticket for a new stream of this session, or None when it has its fill."""
        with self._lock:
            if len(self._open) > 1000:  # forget sessions with no stream open
                for key in [k for k, tickets in self._open.items() if not tickets]:
                    del self._open[key]
            tickets = self._open[session_id]
            if len(tickets) >= self.per_session:
                return None
            ticket = StreamTicket()
            tickets.add(ticket)
            return ticket
