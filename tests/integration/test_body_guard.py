"""Over-large and over-deep bodies are refused before anything parses them.

py-evm raises the recursion limit to 100,000, and 100,000 nested `[` then overflow the C stack
of Python's JSON parser: the process died with a segfault. Through the real app (embedded
chain, every route module): a 200 KB nested body to the API and to /rpc gets a clear error and
the server answers normally afterwards; depth 65 is refused and depth 64 still reaches the
routes' own validation; brackets inside strings are not nesting; a body that arrives in
pieces is checked as a whole; a normal login still works.

The 100,000-deep body is only sent after checking that the guard is installed: without it the
test process itself would crash. The depth-65 tests prove the rule and fail without the guard.

Bodies were also read whole with no limit (a streamed 300 MiB body took 16 s and stalled every
other request): now any body over 2 MiB is refused, 413 `body_too_large` (on /rpc its
JSON-RPC "request too large"), from its Content-Length before a byte is read, or, without
one, at the first piece that passes the limit, the rest left unread; a body of exactly 2 MiB
still works. Under a real uvicorn a 300 MiB Content-Length is answered before any body is
sent, and while a large body's depth scan is held (a stand-in scan that waits), another
request is answered: the scan runs off the event loop.
"""

from __future__ import annotations

import json
import socket
import threading
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from typing import Any

import httpx
import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from gridshare.web import body_guard
from gridshare.web.body_guard import MAX_BODY_BYTES, RPC_PATH, BodyGuard
from tests.integration.web_support import OPERATOR_PASSWORD, web_app
from tests.support.async_run import run_async
from tests.support.live_server import serve_in_thread

SESSION = "/api/v1/session"
JSON = {"Content-Type": "application/json"}
API_REFUSAL = {
    "error": {
        "code": "invalid",
        "message": "body: JSON nested deeper than 64 is refused.",
        "field": "body",
    }
}
RPC_REFUSAL = {
    "jsonrpc": "2.0",
    "id": None,
    "error": {"code": -32700, "message": "parse error: JSON nested deeper than 64"},
}
CHAIN_ID = {"jsonrpc": "2.0", "id": 1, "method": "eth_chainId", "params": []}


def nested(depth: int) -> bytes:
    """`depth` arrays and objects inside each other, alternating: valid JSON."""
    opening = "".join('{"k":' if level % 2 else "[" for level in range(depth))
    closing = "".join("}" if level % 2 else "]" for level in reversed(range(depth)))
    return (opening + "1" + closing).encode()


@pytest.fixture(scope="module")
def app() -> Iterator[FastAPI]:
    with web_app() as (_runtime, _settings, built):
        assert isinstance(built, FastAPI)
        yield built


@pytest.fixture(scope="module")
def client(app: FastAPI) -> Iterator[TestClient]:
    with TestClient(app) as test_client:
        yield test_client


def guarded(app: FastAPI) -> bool:
    classes: list[object] = [middleware.cls for middleware in app.user_middleware]
    return BodyGuard in classes


def logs_in(client: TestClient) -> bool:
    reply = client.post(SESSION, json={"username": "operator", "password": OPERATOR_PASSWORD})
    return reply.status_code == 200 and bool(reply.json()["user"]["role"] == "operator")


def test_a_200_kb_nested_body_is_refused_and_the_server_keeps_answering(
    app: FastAPI, client: TestClient
) -> None:
    assert guarded(app)  # else the next request would crash this test process
    bomb = b"[" * 100_000 + b"]" * 100_000
    reply = client.post(SESSION, content=bomb, headers=JSON)
    assert (reply.status_code, reply.json()) == (400, API_REFUSAL)
    assert reply.headers["x-frame-options"] == "DENY"  # the security headers still apply
    rpc = client.post("/rpc", content=bomb, headers=JSON)
    assert (rpc.status_code, rpc.json()) == (200, RPC_REFUSAL)  # /rpc: errors are HTTP 200
    assert rpc.headers["access-control-allow-origin"] == "*"  # wallets can read the error
    assert client.post("/rpc", json=CHAIN_ID).json()["result"] == "0x539"
    assert logs_in(client)


def test_depth_65_is_refused_whatever_the_content_type(client: TestClient) -> None:
    for headers in (JSON, {"Content-Type": "text/plain"}, {}):
        reply = client.post(SESSION, content=nested(65), headers=headers)
        assert (reply.status_code, reply.json()) == (400, API_REFUSAL), headers
        rpc = client.post("/rpc", content=b" \r\n\t" + nested(65), headers=headers)
        assert rpc.json() == RPC_REFUSAL, headers


def test_depth_65_in_utf_16_is_refused(client: TestClient) -> None:
    # json.loads reads UTF-16 and UTF-32 bytes too, and /rpc hands it the raw body
    for encoding in ("utf-16", "utf-16-be", "utf-32-le"):
        body = nested(65).decode().encode(encoding)
        assert client.post("/rpc", content=body).json() == RPC_REFUSAL, encoding
        assert client.post(SESSION, content=body, headers=JSON).status_code == 400, encoding


def test_depth_64_reaches_the_routes_own_validation(client: TestClient) -> None:
    reply = client.post(SESSION, content=nested(64), headers=JSON)
    assert reply.status_code == 422  # Credentials wants an object with a username
    assert reply.json()["error"]["code"] == "invalid"
    assert "nested deeper" not in reply.json()["error"]["message"]
    rpc = client.post("/rpc", content=b"[" * 64 + b"]" * 64, headers=JSON).json()
    assert rpc == [{"jsonrpc": "2.0", "id": None,
                    "error": {"code": -32600, "message": "request must be an object"}}]  # fmt: skip


def test_brackets_inside_strings_are_not_nesting(client: TestClient) -> None:
    brackets = '[{\\"\\\\' * 40  # 80 openings, escaped quotes and backslashes between them
    body = f'{{"username": "{brackets}", "password": "x", "{brackets}": 1}}'.encode()
    reply = client.post(SESSION, content=body, headers=JSON)
    # reached the route: a username over 64 characters, not the guard's 400
    assert reply.status_code == 422
    assert reply.json()["error"]["field"] == "username"
    rpc = {"jsonrpc": "2.0", "id": 2, "method": "eth_chainId", "params": [], "x": "[" * 100}
    assert client.post("/rpc", json=rpc).json()["result"] == "0x539"


def test_a_normal_login_still_works(client: TestClient) -> None:
    assert logs_in(client)


def test_an_api_body_giving_a_key_twice_is_refused_naming_the_key(client: TestClient) -> None:
    """Python's parser would keep the last value; another reader may keep the first."""
    twice = (f'{{"username": "operator", "password": "wrong",'
             f' "password": {json.dumps(OPERATOR_PASSWORD)}}}').encode()
    anonymous = TestClient(client.app)
    reply = anonymous.post(SESSION, content=twice, headers=JSON)
    assert reply.status_code == 400
    assert reply.json()["error"] == {
        "code": "invalid", "field": "password",
        "message": "body: 'password' is given twice in one object; give each field once."}
    assert anonymous.get("/api/v1/me").status_code == 401  # not logged in
    deep = b'{"username": "operator", "password": "x", "extra": [{"a": 1, "a": 2}]}'
    assert anonymous.post(SESSION, content=deep, headers=JSON).json()["error"]["field"] == "a"
    large = b'{"username": "operator", "pad": "' + b"x" * 40_000 + b'", "pad": 1}'  # off-loop
    assert anonymous.post(SESSION, content=large, headers=JSON).json()["error"]["field"] == "pad"
    apart = b'[{"username": "operator"}, {"username": "operator"}]'  # one key in two objects
    assert anonymous.post(SESSION, content=apart, headers=JSON).status_code == 422  # the route's
    rpc = b'{"jsonrpc": "2.0", "id": 1, "id": 2, "method": "eth_chainId", "params": []}'
    assert client.post("/rpc", content=rpc, headers=JSON).json()["result"] == "0x539"  # not /api


@dataclass
class Exchange:
    """What one ASGI request got: status, headers, body, and how many messages were read."""

    status: int
    headers: dict[str, str]
    body: bytes
    reads: int

    def json(self) -> Any:
        return json.loads(self.body)


async def _exchange(
    app: ASGIApp, path: str, pieces: list[bytes], headers: list[tuple[bytes, bytes]]
) -> Exchange:
    """POST `pieces` as separate http.request messages (more_body), as a real server may."""
    messages: list[Message] = [
        {"type": "http.request", "body": piece, "more_body": i < len(pieces) - 1}
        for i, piece in enumerate(pieces)
    ]
    sent: list[Message] = []
    reads = 0

    async def receive() -> Message:
        nonlocal reads
        reads += 1
        return messages.pop(0) if messages else {"type": "http.disconnect"}

    async def send(message: Message) -> None:
        sent.append(message)

    scope: Scope = {
        "type": "http", "asgi": {"version": "3.0"}, "http_version": "1.1", "method": "POST",
        "scheme": "http", "path": path, "raw_path": path.encode(), "root_path": "",
        "query_string": b"", "headers": [(b"content-type", b"application/json"), *headers],
        "client": ("127.0.0.1", 5000), "server": ("testserver", 80), "app": app,
    }  # fmt: skip
    await app(scope, receive, send)
    start = next(m for m in sent if m["type"] == "http.response.start")
    answer = {k.decode().lower(): v.decode() for k, v in start.get("headers", [])}
    body = b"".join(m.get("body", b"") for m in sent if m["type"] == "http.response.body")
    return Exchange(start["status"], answer, body, reads)


def post_in_pieces(
    app: ASGIApp, path: str, pieces: list[bytes], headers: tuple[tuple[bytes, bytes], ...] = ()
) -> Exchange:
    return run_async(_exchange, app, path, pieces, list(headers))


def test_a_body_in_pieces_is_checked_whole_and_passed_on_whole(
    app: FastAPI, client: TestClient
) -> None:
    deep = nested(65)
    pieces = [b"  ", b"\n", deep[:10], deep[10:11], deep[11:100], deep[100:], b""]
    refused = post_in_pieces(app, SESSION, pieces)
    assert (refused.status, refused.json()) == (400, API_REFUSAL)
    login = f'{{"username": "operator", "password": "{OPERATOR_PASSWORD}"}}'.encode()
    answer = post_in_pieces(app, SESSION, [b" ", login[:7], login[7:]])
    assert (answer.status, answer.json()["user"]["role"]) == (200, "operator")


# ---------------------------------------------------------------- bodies over the size limit

LIMIT = MAX_BODY_BYTES  # 2 MiB
PIECE = 256 * 1024  # LIMIT // PIECE + 1 pieces pass the limit
TOO_LARGE = {
    "error": {
        "code": "body_too_large",
        "message": "The request body is larger than the limit of 2 MiB (2097152 bytes).",
        "field": "body",
    }
}
RPC_TOO_LARGE = {
    "jsonrpc": "2.0",
    "id": None,
    "error": {"code": -32600, "message": "request too large"},  # what /rpc itself answered
}
LOGIN = {"username": "operator", "password": OPERATOR_PASSWORD}


def padded(document: dict[str, Any], size: int) -> bytes:
    """`document` as JSON, then JSON whitespace up to `size` bytes: still the same document."""
    body = json.dumps(document).encode()
    return body + b" " * (size - len(body))


def length(size: int | str) -> tuple[tuple[bytes, bytes], ...]:
    return ((b"content-length", str(size).encode()),)


class Recorder:
    """A stand-in app behind the guard: records the path of every request that reaches it."""

    def __init__(self) -> None:
        self.seen: list[str] = []

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        self.seen.append(scope["path"])
        await send({"type": "http.response.start", "status": 204, "headers": []})
        await send({"type": "http.response.body", "body": b""})


def test_a_body_declared_over_2_mib_is_refused_413_before_a_byte_is_read(
    app: FastAPI, client: TestClient
) -> None:
    refused = post_in_pieces(app, SESSION, [b"{}"], length(LIMIT + 1))
    assert (refused.status, refused.json(), refused.reads) == (413, TOO_LARGE, 0)
    assert refused.headers["connection"] == "close"  # the server reads no more of it
    assert refused.headers["x-frame-options"] == "DENY"  # the security headers still apply
    behind = Recorder()
    for size in (LIMIT + 1, 300 * 2**20, "9" * 5000):  # 5000 digits: past what int() parses
        refused = post_in_pieces(BodyGuard(behind), "/account/export", [b"a=1"], length(size))
        assert (refused.status, refused.reads) == (413, 0), size
    assert behind.seen == []
    over = client.post(SESSION, content=padded(LOGIN, LIMIT + 1), headers=JSON)
    assert (over.status_code, over.json()) == (413, TOO_LARGE)


def test_a_body_without_a_length_is_refused_at_the_piece_that_passes_2_mib(
    app: FastAPI,
) -> None:
    json_pieces = [b"[" + b" " * (PIECE - 1)] + [b" " * PIECE] * 39  # 10 MiB, chunked
    refused = post_in_pieces(app, SESSION, json_pieces)
    assert (refused.status, refused.json()) == (413, TOO_LARGE)
    assert refused.reads == LIMIT // PIECE + 1  # 9 pieces read; the other 31 never are
    behind = Recorder()
    form = [b"password=" + b"x" * (PIECE - 9)] + [b"x" * PIECE] * 39  # not JSON: counted too
    refused = post_in_pieces(BodyGuard(behind), "/account/export", form)
    assert (refused.status, refused.reads, behind.seen) == (413, LIMIT // PIECE + 1, [])


def test_rpc_answers_its_json_rpc_error_for_a_body_over_2_mib(
    app: FastAPI, client: TestClient
) -> None:
    declared = post_in_pieces(app, RPC_PATH, [b"{}"], length(LIMIT + 1))
    streamed = post_in_pieces(app, RPC_PATH, [b" " * PIECE] * 40)
    for refused in (declared, streamed):
        assert (refused.status, refused.json()) == (200, RPC_TOO_LARGE)  # /rpc: errors are 200
        assert refused.headers["access-control-allow-origin"] == "*"  # wallets can read it
    assert (declared.reads, streamed.reads) == (0, LIMIT // PIECE + 1)
    over = client.post(RPC_PATH, content=padded(CHAIN_ID, LIMIT + 1), headers=JSON)
    assert (over.status_code, over.json()) == (200, RPC_TOO_LARGE)


def test_a_body_of_exactly_2_mib_still_works(app: FastAPI, client: TestClient) -> None:
    rpc = client.post(RPC_PATH, content=padded(CHAIN_ID, LIMIT), headers=JSON)
    assert rpc.json()["result"] == "0x539"
    login = client.post(SESSION, content=padded(LOGIN, LIMIT), headers=JSON)
    assert (login.status_code, login.json()["user"]["role"]) == (200, "operator")
    pieces = [padded(LOGIN, PIECE)] + [b" " * PIECE] * (LIMIT // PIECE - 1)  # chunked, 2 MiB
    chunked = post_in_pieces(app, SESSION, pieces)
    assert (chunked.status, chunked.json()["user"]["role"]) == (200, "operator")


# ---------------------------------------------------------------- the same under real uvicorn


@pytest.fixture(scope="module")
def served(app: FastAPI, client: TestClient) -> Iterator[str]:
    """The module's app (its runtime already started by `client`) under uvicorn."""
    with serve_in_thread(app) as url:
        yield url


def test_uvicorn_answers_a_300_mib_content_length_before_any_body_is_sent(served: str) -> None:
    host, port = served.removeprefix("http://").split(":")
    head = (
        f"POST {SESSION} HTTP/1.1\r\nHost: {host}\r\nContent-Type: application/json\r\n"
        f"Content-Length: {300 * 2**20}\r\n\r\n"
    )
    with socket.create_connection((host, int(port)), timeout=10) as sock:
        sock.sendall(head.encode())  # and not one byte of the body
        reply = b""
        while chunk := sock.recv(65536):  # to the end: the server closes the connection
            reply += chunk
    status, _, rest = reply.partition(b"\r\n")
    assert status.startswith(b"HTTP/1.1 413 ")
    assert json.loads(rest.partition(b"\r\n\r\n")[2]) == TOO_LARGE


def test_another_request_is_answered_while_a_large_body_is_scanned(
    served: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The depth scan of a 2 MiB body is held until released; /api/v1/health answers meanwhile.

    Were the scan on the event loop, the loop would wait with it and the health check time out.
    """
    started, release = threading.Event(), threading.Event()
    scan = body_guard.too_deep

    def held_scan(body: bytes) -> bool:
        started.set()
        release.wait(30)
        return scan(body)

    monkeypatch.setattr(body_guard, "too_deep", held_scan)
    large = padded(CHAIN_ID, LIMIT)
    with ThreadPoolExecutor(max_workers=1) as pool:
        posted = pool.submit(httpx.post, f"{served}{RPC_PATH}", content=large, timeout=60)
        try:
            assert started.wait(30)
            health = httpx.get(f"{served}/api/v1/health", timeout=5)
            assert health.status_code == 200
            assert not posted.done()  # the scan was still held when health was answered
        finally:
            release.set()
        assert posted.result().json()["result"] == "0x539"
