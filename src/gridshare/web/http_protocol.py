"""The HTTP protocol the server runs: uvicorn's h11, with a deadline for receiving a request.

h11 refuses a request head over 16 KiB (uvicorn's httptools parser buffered an endless header
without limit: one connection sending one froze the server for everyone). uvicorn itself has
no deadline for a request to arrive: its keep-alive timer stops at the first byte, so a
connection that sends nothing, or one byte every few seconds, is held open for ever, and a
few thousand of them use up the server's file descriptors (a tester did this with idle
connections). Here each request, head and body, must arrive within `REQUEST_DEADLINE_S` of
the connection opening or of the previous response ending; the connection is closed if not.
A response may take as long as it likes (the live-update streams run for minutes). The
deadline also counts time the app takes before it reads a body (uvicorn answers
`Expect: 100-continue` only then); the app's routes read their bodies at once.
"""

from __future__ import annotations

import asyncio
import logging

import h11
from uvicorn.protocols.http.h11_impl import H11Protocol

# A resident's request is a few kB, sent in well under a second even from a cheap phone on
# weak Wi-Fi; 30 s leaves room for the largest body allowed (2 MiB, body_guard.py) at about
# 1 Mbit/s. The meters' own HTTP server allows 10 s (firmware/gridshare_meter/api.py).
REQUEST_DEADLINE_S = 30.0

_log = logging.getLogger(__name__)
_RECEIVED = (h11.DONE, h11.MUST_CLOSE, h11.CLOSED, h11.ERROR)


class RequestDeadlineProtocol(H11Protocol):
    """uvicorn's h11 protocol; a request that has not fully arrived in time closes its
    connection. The timer runs from the connection opening and from each response's end."""

    deadline_s = REQUEST_DEADLINE_S
    _request_timer: asyncio.TimerHandle | None = None

    def connection_made(self, transport: asyncio.Transport) -> None:  # type: ignore[override]
        super().connection_made(transport)
        self._start_request_timer()

    def data_received(self, data: bytes) -> None:
        super().data_received(data)
        if self.conn.their_state in _RECEIVED:
            self._stop_request_timer()

    def on_response_complete(self) -> None:
        super().on_response_complete()
        if not self.transport.is_closing() and self.conn.their_state not in _RECEIVED:
            self._start_request_timer()  # waiting for the next request on this connection

    def handle_websocket_upgrade(self, event: h11.Request) -> None:
        self._stop_request_timer()  # the connection is the WebSocket protocol's from here
        super().handle_websocket_upgrade(event)

    def connection_lost(self, exc: Exception | None) -> None:
        self._stop_request_timer()
        super().connection_lost(exc)

    def _start_request_timer(self) -> None:
        self._stop_request_timer()
        self._request_timer = self.loop.call_later(self.deadline_s, self._request_too_slow)

    def _stop_request_timer(self) -> None:
        if self._request_timer is not None:
            self._request_timer.cancel()
            self._request_timer = None

    def _request_too_slow(self) -> None:
        self._request_timer = None
        if self.transport.is_closing():
            return
        _log.info("closed a connection from %s: no complete request within %.0f s",
                  self.client[0] if self.client else "?", self.deadline_s)
        self.transport.close()


# What `gridshare serve`, `gridshare demo` and the browser tests pass to uvicorn as `http=`.
HTTP_PROTOCOL = RequestDeadlineProtocol
