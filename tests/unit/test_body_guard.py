"""`json_depth` measures nesting as the JSON parser would meet it; `BodyGuard` passes the rest.

The depth is checked against the parsed value's real nesting for any JSON value hypothesis
makes, with brackets, quotes and backslashes inside its strings and keys, in every encoding
`json.loads` reads; a table pins the edge cases (escapes, unterminated strings, stray
closers). The middleware, over a stand-in app: a too-deep body never reaches the app, a
JSON body reaches it as the same bytes, a form as the same messages (held until complete, up
to the 2 MiB limit), and a client that leaves mid-body calls nothing.
"""

from __future__ import annotations

import json
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from starlette.types import Message, Receive, Scope, Send

from gridshare.nesting import json_depth
from gridshare.web.body_guard import MAX_JSON_DEPTH, BodyGuard, duplicate_key, too_deep
from tests.support.async_run import run_async

TRICKY = st.text(alphabet='[]{}"\\/ aé€\n\u2028', max_size=12)
VALUES = st.recursive(
    st.none() | st.booleans() | st.integers() | TRICKY,
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(TRICKY, inner, max_size=3),
    max_leaves=30,
)
ENCODINGS = ("utf-8", "utf-8-sig", "utf-16", "utf-16-be", "utf-32", "utf-32-le")


def nesting(value: Any) -> int:
    """How deep lists and dicts nest in a parsed value."""
    if isinstance(value, list):
        return 1 + max(map(nesting, value), default=0)
    if isinstance(value, dict):
        return 1 + max(map(nesting, value.values()), default=0)
    return 0


@settings(max_examples=300)
@given(VALUES, st.sampled_from(ENCODINGS), st.booleans())
def test_depth_is_the_parsed_values_nesting(value: Any, encoding: str, ascii_only: bool) -> None:
    body = json.dumps(value, ensure_ascii=ascii_only).encode(encoding)
    assert json.loads(body) == value  # the parser reads these bytes as this value
    assert json_depth(body) == nesting(value)


@pytest.mark.parametrize(
    ("body", "depth"),
    [
        (b"", 0),
        (b"1", 0),
        (b"[]", 1),
        (b'{"a": [1, {"b": []}]}', 4),
        (b'["[[[", "{{{"]', 1),  # brackets in strings
        (b'["\\"[[", "\\\\", []]', 2),  # an escaped quote, then an escaped backslash
        (b'["\\\\\\"[[["]', 1),  # escaped backslash, escaped quote, still inside
        (b'["unterminated [[[[', 1),  # the parser stops at the string
        (b"]]]][[", 0),  # a stray closer: the parser stops there (counted from 0 anyway)
        (b"[" * MAX_JSON_DEPTH + b"]" * MAX_JSON_DEPTH, MAX_JSON_DEPTH),
        (b"[" * 100_000 + b"]" * 100_000, 100_000),
        (b"[" * 3_000_000, 3_000_000),  # more than one chunk of the sums
    ],
)
def test_depth_table(body: bytes, depth: int) -> None:
    assert json_depth(body) == depth
    assert too_deep(body) is (depth > MAX_JSON_DEPTH)


class _App:
    """A stand-in app that reads the whole body and answers 204."""

    def __init__(self) -> None:
        self.received: list[Message] = []

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        while not self.received or self.received[-1].get("more_body", False):
            self.received.append(await receive())
        await send({"type": "http.response.start", "status": 204, "headers": []})
        await send({"type": "http.response.body", "body": b""})


def _run(pieces: list[bytes], path: str = "/api/v1/x") -> tuple[_App, list[Message]]:
    """Send `pieces` through BodyGuard as separate http.request messages; then disconnect."""
    app, sent = _App(), list[Message]()
    messages: list[Message] = [
        {"type": "http.request", "body": piece, "more_body": i < len(pieces) - 1}
        for i, piece in enumerate(pieces)
    ]

    async def receive() -> Message:
        return messages.pop(0) if messages else {"type": "http.disconnect"}

    async def send(message: Message) -> None:
        sent.append(message)

    scope: Scope = {"type": "http", "method": "POST", "path": path, "headers": []}
    run_async(BodyGuard(app), scope, receive, send)
    return app, sent


def test_guard_passes_json_whole_and_forms_as_sent_and_refuses_deep_bodies() -> None:
    body = b'\n {"a": ["[[["], "b": {}}'
    app, sent = _run([body[:3], body[3:9], body[9:]])
    assert b"".join(m["body"] for m in app.received) == body
    assert sent[0]["status"] == 204

    form = [b"username=a", b"&password=%5B%5B", b""]
    app, _ = _run(form)
    assert [m["body"] for m in app.received] == form  # the same messages, in order

    app, sent = _run([b"[" * 40, b"[" * 40, b"]" * 80])
    assert app.received == [] and sent[0]["status"] == 400
    assert b"JSON nested deeper than 64" in sent[1]["body"]

    app, sent = _run([b"[" * 65], path="/rpc")
    assert app.received == [] and sent[0]["status"] == 200  # /rpc's parse errors are 200
    assert json.loads(sent[1]["body"])["error"]["code"] == -32700


def test_guard_calls_nothing_when_the_client_leaves_mid_body() -> None:
    app: list[Scope] = []
    sent: list[Message] = []

    async def never(scope: Scope, receive: Receive, send: Send) -> None:
        app.append(scope)

    messages: list[Message] = [
        {"type": "http.request", "body": b"[[[", "more_body": True},
        {"type": "http.disconnect"},
    ]

    async def receive() -> Message:
        return messages.pop(0)

    async def send(message: Message) -> None:
        sent.append(message)

    scope: Scope = {"type": "http", "method": "POST", "path": "/rpc", "headers": []}
    run_async(BodyGuard(never), scope, receive, send)
    assert (app, sent) == ([], [])


@pytest.mark.parametrize(("body", "key"), [
    (b'{"a": 1, "a": 2}', "a"),
    (b'{"a": 1, "\\u0061": 1}', "a"),  # the same key once decoded, though spelt otherwise
    (b'{"x": [{"b": 1, "b": 1}]}', "b"),  # in an object inside
    (b'{"a": 1, "A": 2}', None),  # keys are case-sensitive
    (b'[{"a": 1}, {"a": 2}]', None),  # one key in two objects
    (b'{"a": 1, "a": }', None),  # not JSON: the app refuses it with its own message
    (b'\xff{"a": 1, "a": 2}', None),
])  # fmt: skip
def test_duplicate_key_finds_a_key_one_object_gives_twice(body: bytes, key: str | None) -> None:
    assert duplicate_key(body) == key
