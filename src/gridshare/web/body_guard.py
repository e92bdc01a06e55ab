"""Refuse over-large and over-deep request bodies before anything parses them.

Every request body, on every path, may be at most `MAX_BODY_BYTES`: a larger one is refused as
soon as that is known, from its Content-Length before a byte is read, or while it is read
(a chunked body has no length) without keeping more than the limit. Before this, a stranger's
streamed 300 MiB body was buffered whole and stalled the server for seconds. The refusal is
413 `body_too_large`, and on /rpc the JSON-RPC error /rpc gives for a too-large request.

py-evm and py_ecc raise Python's recursion limit to 100,000 when they are imported, so the C
JSON scanner (`json.loads`, used by FastAPI for bodies and by /rpc) no longer stops a deeply
nested document with RecursionError: 100,000 `[` overflow the C stack and the whole server
dies with a segfault. `BodyGuard` measures how deep a body that looks like JSON nests its
arrays and objects without parsing it (on a worker thread when the body is large, so other
requests are answered meanwhile), and answers 400 (a JSON-RPC parse error on /rpc) when they
nest deeper than `MAX_JSON_DEPTH`.

A JSON body to the API (`/api/...`) that gives one key twice in an object is refused too
(400, the key as the field): `{"amount_wh": 1, "amount_wh": 1000}` means 1 to one reader and
1000 to another (Python's parser keeps the last), and an order must mean one thing. Any other
body reaches the app unchanged.
"""

from __future__ import annotations

import json
from collections import deque
from typing import Any

import anyio.to_thread
from starlette.responses import JSONResponse
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from gridshare.nesting import json_depth
from gridshare.web.errors import error_body

MAX_BODY_BYTES = 2 * 1024 * 1024  # every request body, every path (/rpc included)
MAX_JSON_DEPTH = 64
TOO_DEEP = f"JSON nested deeper than {MAX_JSON_DEPTH}"
TOO_LARGE = f"larger than the limit of {MAX_BODY_BYTES // 2**20} MiB ({MAX_BODY_BYTES} bytes)"
RPC_TOO_LARGE = "request too large"  # what /rpc itself answers for a body over the limit
RPC_PATH = "/rpc"
API_PREFIX = "/api/"
SCAN_ON_LOOP_BYTES = 16 * 1024  # scanned on the event loop up to here (~1 ms); larger: a thread
MAX_PIECES = 256  # messages of a body kept apart; later ones are merged as they come

# Bytes `json.loads` skips before a document's first character: JSON whitespace, the UTF-8,
# UTF-16 and UTF-32 byte order marks, and the NULs of an ASCII character in UTF-16/32.
_LEADING = b" \t\r\n\x00\xef\xbb\xbf\xfe\xff"
_LENGTH_DIGITS = len(str(MAX_BODY_BYTES))  # a Content-Length with more digits is over the limit


def too_deep(body: bytes) -> bool:
    """True when `body` nests arrays and objects deeper than `MAX_JSON_DEPTH`."""
    return json_depth(body) > MAX_JSON_DEPTH


def starts_json(pieces: list[bytes]) -> bool:
    """True when the body in `pieces` starts, after leading whitespace, with `[` or `{`."""
    for piece in pieces:
        start = piece.lstrip(_LEADING)
        if start:
            return start[:1] in (b"[", b"{")
    return False


def declares_too_much(scope: Scope, limit: int = MAX_BODY_BYTES) -> bool:
    """True when the request's Content-Length announces a body over `limit` bytes."""
    for name, value in scope.get("headers", ()):
        if name.lower() == b"content-length":
            digits = bytes(value).strip().lstrip(b"0")
            if digits.isdigit() and (len(digits) > _LENGTH_DIGITS or int(digits) > limit):
                return True
    return False


class BodyTooLarge(Exception):
    """The body being read ran past the limit."""


async def read_body(receive: Receive, limit: int = MAX_BODY_BYTES) -> list[bytes] | None:
    """The body in the pieces it came in, or None if the client left first.

    Counts the bytes as they arrive and raises BodyTooLarge at the message that passes
    `limit`, so no more than `limit` bytes are ever kept. Pieces past the first `MAX_PIECES`
    (a body sent a byte at a time) are merged into one as they come, so keeping them costs
    about as much memory as their bytes.
    """
    pieces: list[bytes] = []
    tail: bytearray | None = None
    size, more = 0, True
    while more:
        message = await receive()
        if message["type"] != "http.request":
            return None
        piece = bytes(message.get("body", b""))
        size += len(piece)
        if size > limit:
            raise BodyTooLarge
        if tail is not None:
            tail += piece
        elif len(pieces) < MAX_PIECES:
            pieces.append(piece)
        else:
            tail = bytearray(piece)
        more = bool(message.get("more_body", False))
    return pieces if tail is None else [*pieces, bytes(tail)]


def messages(pieces: list[bytes]) -> list[Message]:
    """The http.request messages that deliver `pieces` as one body."""
    last = len(pieces) - 1
    return [
        {"type": "http.request", "body": piece, "more_body": i < last}
        for i, piece in enumerate(pieces)
    ]


class _DuplicateKey(ValueError):
    def __init__(self, key: str) -> None:
        super().__init__(key)
        self.key = key


def _object_once_per_key(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    found: dict[str, Any] = {}
    for key, value in pairs:
        if key in found:
            raise _DuplicateKey(key)
        found[key] = value
    return found


def duplicate_key(body: bytes) -> str | None:
    """The first key an object in `body` gives twice; None if none does, and for a body that
    is not JSON (the app refuses that with its own message). Parse only what `too_deep`
    passed: the parser recurses once per level."""
    try:
        json.loads(body, object_pairs_hook=_object_once_per_key)
    except _DuplicateKey as twice:
        return twice.key
    except (ValueError, UnicodeError):  # not JSON, or a number over Python's digit limit
        return None
    return None


def refusal(body: bytes, scope: Scope) -> JSONResponse | None:
    """The answer refusing a body that looks like JSON, or None to pass it on."""
    if too_deep(body):
        return too_deep_refusal(scope)
    if str(scope.get("path", "")).startswith(API_PREFIX):
        key = duplicate_key(body)
        if key is not None:
            return duplicate_key_refusal(key)
    return None


async def scan(body: bytes, scope: Scope) -> JSONResponse | None:
    """`refusal(body, scope)`, on a worker thread when the body is large enough to hold up
    the event loop."""
    if len(body) <= SCAN_ON_LOOP_BYTES:
        return refusal(body, scope)
    return await anyio.to_thread.run_sync(refusal, body, scope)


class BodyGuard:
    """ASGI middleware: every body is read whole (up to the limit) before the app sees it.

    A body over `MAX_BODY_BYTES` is refused unread (Content-Length) or as soon as the count
    passes the limit; one starting with `[` or `{` is refused if it nests too deep, whatever
    the content type, since /rpc parses its raw body whatever the header says, and one to
    an `/api/` route if an object in it gives a key twice. A body that passes is handed to
    the app as the same messages.
    """

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        if declares_too_much(scope):
            await too_large_refusal(scope)(scope, receive, send)
            return
        try:
            pieces = await read_body(receive)
        except BodyTooLarge:
            await too_large_refusal(scope)(scope, receive, send)
            return
        if pieces is None:
            return  # the client left before sending the whole body: nobody to answer
        refused = await scan(b"".join(pieces), scope) if starts_json(pieces) else None
        if refused is not None:
            await refused(scope, receive, send)
            return
        read = deque(messages(pieces))

        async def replay() -> Message:
            return read.popleft() if read else await receive()

        await self.app(scope, replay, send)


def _rpc_error(code: int, message: str) -> dict[str, object]:
    return {"jsonrpc": "2.0", "id": None, "error": {"code": code, "message": message}}


def too_deep_refusal(scope: Scope) -> JSONResponse:
    """The answer to a too-deep body: /rpc's parse error, else the API's error shape."""
    if scope.get("path") == RPC_PATH:
        # imported here: rpc.py imports the app module, which imports this one
        from gridshare.web.routes.rpc import CORS_HEADERS, PARSE_ERROR

        content = _rpc_error(PARSE_ERROR, f"parse error: {TOO_DEEP}")
        return JSONResponse(content, headers=CORS_HEADERS)  # /rpc answers errors with 200
    return JSONResponse(
        error_body("invalid", f"body: {TOO_DEEP} is refused.", "body"), status_code=400
    )


def duplicate_key_refusal(key: str) -> JSONResponse:
    """The answer to an API body that gives `key` twice in one object."""
    message = f"body: {key[:100]!r} is given twice in one object; give each field once."
    return JSONResponse(error_body("invalid", message, key[:100]), status_code=400)


def too_large_refusal(scope: Scope) -> JSONResponse:
    """The answer to a body over the limit: /rpc's own error for it, else 413 body_too_large.

    It closes the connection, so the server reads no more of a body nobody will use.
    """
    close = {"connection": "close"}
    if scope.get("path") == RPC_PATH:
        from gridshare.web.routes.rpc import CORS_HEADERS, INVALID_REQUEST

        content = _rpc_error(INVALID_REQUEST, RPC_TOO_LARGE)
        return JSONResponse(content, headers={**CORS_HEADERS, **close})
    message = f"The request body is {TOO_LARGE}."
    return JSONResponse(
        error_body("body_too_large", message, "body"), status_code=413, headers=close
    )
