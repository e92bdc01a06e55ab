"""Over-deep JSON is refused before it is parsed, so one request cannot crash the server.

py-evm raises the recursion limit to 100,000, and 100,000 nested `[` then overflow the C stack
of Python's JSON parser: the process died with a segfault. Through the real app (embedded
chain, every route module): a 200 KB nested body to the API and to /rpc gets a clear error and
the server answers normally afterwards; depth 65 is refused and depth 64 still reaches the
routes' own validation; brackets inside strings are not nesting; a body that arrives in
pieces is checked as a whole; a normal login still works.

The 100,000-deep body is only sent after checking that the guard is installed: without it the
test process itself would crash. The depth-65 tests prove the rule and fail without the guard.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient
from starlette.types import Message, Scope

from gridshare.web.body_guard import BodyGuard
from tests.integration.web_support import OPERATOR_PASSWORD, web_app
from tests.support.async_run import run_async

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


async def _post_in_pieces(app: FastAPI, path: str, pieces: list[bytes]) -> tuple[int, Any]:
    """POST `pieces` as separate http.request messages (more_body), as a real server may."""
    messages: list[Message] = [
        {"type": "http.request", "body": piece, "more_body": i < len(pieces) - 1}
        for i, piece in enumerate(pieces)
    ]
    sent: list[Message] = []

    async def receive() -> Message:
        return messages.pop(0) if messages else {"type": "http.disconnect"}

    async def send(message: Message) -> None:
        sent.append(message)

    scope: Scope = {
        "type": "http", "asgi": {"version": "3.0"}, "http_version": "1.1", "method": "POST",
        "scheme": "http", "path": path, "raw_path": path.encode(), "root_path": "",
        "query_string": b"", "headers": [(b"content-type", b"application/json")],
        "client": ("127.0.0.1", 5000), "server": ("testserver", 80), "app": app,
    }  # fmt: skip
    await app(scope, receive, send)
    status = next(m["status"] for m in sent if m["type"] == "http.response.start")
    body = b"".join(m.get("body", b"") for m in sent if m["type"] == "http.response.body")
    return status, json.loads(body)


def test_a_body_in_pieces_is_checked_whole_and_passed_on_whole(
    app: FastAPI, client: TestClient
) -> None:
    deep = nested(65)
    pieces = [b"  ", b"\n", deep[:10], deep[10:11], deep[11:100], deep[100:], b""]
    status, answer = run_async(_post_in_pieces, app, SESSION, pieces)
    assert (status, answer) == (400, API_REFUSAL)
    login = f'{{"username": "operator", "password": "{OPERATOR_PASSWORD}"}}'.encode()
    status, answer = run_async(_post_in_pieces, app, SESSION, [b" ", login[:7], login[7:]])
    assert (status, answer["user"]["role"]) == (200, "operator")
