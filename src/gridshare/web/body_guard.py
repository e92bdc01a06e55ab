"""Refuse over-deep JSON request bodies before anything parses them.

py-evm and py_ecc raise Python's recursion limit to 100,000 when they are imported, so the C
JSON scanner (`json.loads`, used by FastAPI for bodies and by /rpc) no longer stops a deeply
nested document with RecursionError: 100,000 `[` overflow the C stack and the whole server
dies with a segfault. `BodyGuard` reads a body that looks like JSON, measures how deep its
arrays and objects nest without parsing it, and answers 400 (a JSON-RPC parse error on /rpc)
when they nest deeper than `MAX_JSON_DEPTH`; any other body reaches the app unchanged.
"""

from __future__ import annotations

import json
from collections import deque

import numpy as np
from starlette.responses import JSONResponse
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from gridshare.web.errors import error_body

MAX_JSON_DEPTH = 64
TOO_DEEP = f"JSON nested deeper than {MAX_JSON_DEPTH}"
RPC_PATH = "/rpc"

# Bytes `json.loads` skips before a document's first character: JSON whitespace, the UTF-8,
# UTF-16 and UTF-32 byte order marks, and the NULs of an ASCII character in UTF-16/32.
_LEADING = b" \t\r\n\x00\xef\xbb\xbf\xfe\xff"
_QUOTE, _OPEN_ARRAY, _OPEN_OBJECT, _CLOSE_ARRAY, _CLOSE_OBJECT = b'"[{]}'
_CHUNK = 1 << 20  # bytes looked at a time: a few MB of numpy arrays, whatever the body size


def json_depth(body: bytes) -> int:
    """How deep arrays and objects nest in `body`, read as `json.loads` would read it.

    Exact for valid JSON in any encoding `json.loads` accepts. For invalid JSON it counts
    at least the nesting of the part before the first error, which is all a parser reads.
    Linear time, in C loops (bytes methods and numpy), never a Python loop over the bytes.
    """
    encoding = json.detect_encoding(body)
    if encoding != "utf-8":  # UTF-16/32 or a BOM: in UTF-8 a quote or bracket byte is that char
        try:
            body = body.decode(encoding, "surrogatepass").encode("utf-8", "surrogatepass")
        except UnicodeError:
            return 0  # json.loads cannot decode it either, so never parses it
    # Escapes go first: a run of backslashes pairs off from the left, then a lone one escapes
    # the quote after it. Every quote left opens or closes a string, so a byte is inside a
    # string when an odd number of quotes came before it (an unterminated string runs to the
    # end: a parser stops there). Brackets inside strings are not nesting.
    data = np.frombuffer(body.replace(b"\\\\", b"").replace(b'\\"', b""), dtype=np.uint8)
    depth = deepest = in_string = 0
    for start in range(0, len(data), _CHUNK):
        part = data[start : start + _CHUNK]
        inside = np.bitwise_xor.accumulate((part == _QUOTE).view(np.uint8)) ^ in_string
        opens = (part == _OPEN_ARRAY) | (part == _OPEN_OBJECT)
        closes = (part == _CLOSE_ARRAY) | (part == _CLOSE_OBJECT)
        steps = np.where(inside, 0, opens.view(np.int8) - closes.view(np.int8))
        sums = steps.cumsum(dtype=np.int32)  # a chunk's sums fit; the carry is a Python int
        deepest = max(deepest, depth + int(sums.max()))
        depth, in_string = depth + int(sums[-1]), int(inside[-1])
    return deepest


def _body(message: Message) -> bytes:
    return bytes(message.get("body", b""))


def _more(message: Message) -> bool:
    return message["type"] == "http.request" and bool(message.get("more_body", False))


def _starts_json(read: deque[Message]) -> bool:
    """True when the body read so far starts, after leading whitespace, with `[` or `{`."""
    for message in read:
        start = _body(message).lstrip(_LEADING)
        if start:
            return start[:1] in (b"[", b"{")
    return False


def too_deep(body: bytes) -> bool:
    """True when `body` nests arrays and objects deeper than `MAX_JSON_DEPTH`."""
    return json_depth(body) > MAX_JSON_DEPTH


class BodyGuard:
    """ASGI middleware: a body starting with `[` or `{` is read whole and refused if too deep.

    Whatever the content type, since /rpc parses its raw body whatever the header says; form
    and multipart bodies never start with a bracket and stream through untouched. A body that
    passes is handed to the app as the same bytes.
    """

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        read = await self.opening(receive)
        if _starts_json(read):
            body = await self.whole_body(read, receive)
            if body is None:
                return  # the client left before sending the whole body: nobody to answer
            if too_deep(body):
                await self.refusal(scope)(scope, receive, send)
                return
            read = deque([{"type": "http.request", "body": body, "more_body": False}])

        async def replay() -> Message:
            return read.popleft() if read else await receive()

        await self.app(scope, replay, send)

    @staticmethod
    async def opening(receive: Receive) -> deque[Message]:
        """The first messages, up to the body's first byte that is not leading whitespace."""
        read: deque[Message] = deque()
        while not read or (_more(read[-1]) and not _body(read[-1]).lstrip(_LEADING)):
            read.append(await receive())
            if read[-1]["type"] != "http.request":
                break
        return read

    @staticmethod
    async def whole_body(read: deque[Message], receive: Receive) -> bytes | None:
        """The whole body: the messages read so far and the rest (None if the client left)."""
        chunks = [_body(message) for message in read]
        more = _more(read[-1])
        while more:
            message = await receive()
            if message["type"] != "http.request":
                return None
            chunks.append(_body(message))
            more = _more(message)
        return b"".join(chunks)

    @staticmethod
    def refusal(scope: Scope) -> JSONResponse:
        """The answer to a too-deep body: /rpc's parse error, else the API's error shape."""
        if scope.get("path") == RPC_PATH:
            # imported here: rpc.py imports the app module, which imports this one
            from gridshare.web.routes.rpc import CORS_HEADERS, PARSE_ERROR

            error = {"code": PARSE_ERROR, "message": f"parse error: {TOO_DEEP}"}
            content = {"jsonrpc": "2.0", "id": None, "error": error}
            return JSONResponse(content, headers=CORS_HEADERS)  # /rpc answers errors with 200
        return JSONResponse(
            error_body("invalid", f"body: {TOO_DEEP} is refused.", "body"), status_code=400
        )
