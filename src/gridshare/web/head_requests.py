"""HEAD answers as GET would, without the body.

FastAPI's routes answer only the methods they name, so `HEAD /api/v1/health` or `HEAD /login`
(what `curl -I` and uptime checkers send) was 405 while `HEAD /static/app.js` was 200. A HEAD
request is now passed on as a GET and its body dropped: the status and headers, Content-Length
included, are the GET's. The live-update stream is left out (still 405): as a GET it would hold
one of the login's stream places open for a body nobody reads.

A page read for a HEAD leaves what a page shows once (the flash, a refused form's values) for
the GET that follows: `asked_head` tells the page it is not really being shown.
"""

from __future__ import annotations

from starlette.requests import Request
from starlette.types import ASGIApp, Message, Receive, Scope, Send

STREAMS = frozenset({"/api/v1/me/events"})
HEAD = "gridshare.head"  # in the scope of a HEAD passed on as a GET


def asked_head(request: Request) -> bool:
    """Whether this GET is a HEAD whose body will be dropped."""
    return bool(request.scope.get(HEAD, False))


class HeadAsGet:
    """ASGI middleware: HEAD served as GET, body dropped (not for `STREAMS`)."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope["method"] != "HEAD" or scope["path"] in STREAMS:
            await self.app(scope, receive, send)
            return

        async def headers_only(message: Message) -> None:
            if message["type"] == "http.response.body":
                if message.get("more_body", False):
                    return  # a part of the body: dropped
                message = {"type": "http.response.body", "body": b"", "more_body": False}
            await send(message)

        await self.app({**scope, "method": "GET", HEAD: True}, receive, headers_only)
