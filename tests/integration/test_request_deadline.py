"""A connection must deliver each request within the deadline, or the server closes it: a
connection that sends nothing, or trickles its head or body a byte at a time, no longer holds
one of the server's open files for ever. Answers of any length still get through.

Real uvicorn on loopback with the server's own protocol class, its deadline shortened."""

from __future__ import annotations

import asyncio
import select
import socket
import time
from collections.abc import AsyncIterator, Iterator
from urllib.parse import urlsplit

import pytest
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import PlainTextResponse, StreamingResponse
from starlette.routing import Route, WebSocketRoute
from starlette.websockets import WebSocket, WebSocketDisconnect
from websockets.sync.client import connect

from gridshare.web.http_protocol import REQUEST_DEADLINE_S, RequestDeadlineProtocol
from tests.support.live_server import serve_in_thread

DEADLINE_S = 0.6
STREAM_S = 3 * DEADLINE_S


class ShortDeadline(RequestDeadlineProtocol):
    deadline_s = DEADLINE_S


async def hello(request: Request) -> PlainTextResponse:
    return PlainTextResponse("hello")


async def echo(request: Request) -> PlainTextResponse:
    return PlainTextResponse(f"got {len(await request.body())} bytes")


async def slow_stream(request: Request) -> StreamingResponse:
    async def chunks() -> AsyncIterator[bytes]:
        for n in range(6):
            await asyncio.sleep(STREAM_S / 6)
            yield f"chunk {n}\n".encode()
    return StreamingResponse(chunks(), media_type="text/plain")


async def echo_socket(socket: WebSocket) -> None:
    await socket.accept()
    while True:
        try:
            await socket.send_text(await socket.receive_text())
        except WebSocketDisconnect:
            return


APP = Starlette(routes=[Route("/", hello), Route("/echo", echo, methods=["POST"]),
                        Route("/stream", slow_stream), WebSocketRoute("/socket", echo_socket)])


@pytest.fixture(scope="module")
def address() -> Iterator[tuple[str, int]]:
    with serve_in_thread(APP, http=ShortDeadline) as url:
        parts = urlsplit(url)
        assert parts.hostname and parts.port
        yield parts.hostname, parts.port


def closed_after(sock: socket.socket, limit_s: float) -> float | None:
    """Seconds until the server closes `sock` (reading whatever it sends), or None if it is
    still open after `limit_s`."""
    start = time.monotonic()
    while (left := limit_s - (time.monotonic() - start)) > 0:
        readable, _, _ = select.select([sock], [], [], left)
        if readable and not sock.recv(4096):
            return time.monotonic() - start
    return None


def trickle(sock: socket.socket, data: bytes, every_s: float, for_s: float) -> float | None:
    """Send `data` a byte every `every_s`; the seconds until the server closed the connection,
    or None if it was still open after `for_s`."""
    start = time.monotonic()
    for byte in data:
        if time.monotonic() - start > for_s:
            return None
        try:
            sock.sendall(bytes([byte]))
        except (BrokenPipeError, ConnectionResetError):
            return time.monotonic() - start
        readable, _, _ = select.select([sock], [], [], every_s)
        if readable and not sock.recv(4096):
            return time.monotonic() - start
    return None


def read_answer(sock: socket.socket) -> bytes:
    """One whole answer (headers and a Content-Length body) from a kept-alive connection."""
    data = b""
    while b"\r\n\r\n" not in data:
        data += sock.recv(4096)
    head, _, body = data.partition(b"\r\n\r\n")
    length = int(next(line.split(b":")[1] for line in head.split(b"\r\n")
                      if line.lower().startswith(b"content-length")))
    while len(body) < length:
        body += sock.recv(4096)
    return head + b"\r\n\r\n" + body


def test_the_deadline_in_service_leaves_room_for_a_slow_phone() -> None:
    assert RequestDeadlineProtocol.deadline_s == REQUEST_DEADLINE_S == 30


def test_a_connection_that_sends_nothing_is_closed_at_the_deadline(address) -> None:
    with socket.create_connection(address) as sock:
        took = closed_after(sock, 10 * DEADLINE_S)
    assert took is not None, "the silent connection was still open"
    assert DEADLINE_S * 0.8 <= took <= DEADLINE_S + 1.5, took


def test_a_head_trickled_a_byte_at_a_time_is_closed_at_the_deadline(address) -> None:
    """Each byte arrives well within uvicorn's keep-alive timeout, which stops at the first
    byte; only a deadline for the whole request ends it."""
    head = b"GET / HTTP/1.1\r\nHost: x\r\nX-Padding: " + b"a" * 200 + b"\r\n\r\n"
    with socket.create_connection(address) as sock:
        took = trickle(sock, head, every_s=DEADLINE_S / 6, for_s=10 * DEADLINE_S)
    assert took is not None, "the trickling connection was still open"
    assert took <= DEADLINE_S + 1.5, took


def test_a_body_trickled_a_byte_at_a_time_is_closed_at_the_deadline(address) -> None:
    request = b"POST /echo HTTP/1.1\r\nHost: x\r\nContent-Length: 200\r\n\r\n" + b"b" * 200
    with socket.create_connection(address) as sock:
        sock.sendall(request[:60])  # the head, at once, and a few bytes of the body
        took = trickle(sock, request[60:], every_s=DEADLINE_S / 6, for_s=10 * DEADLINE_S)
    assert took is not None, "the connection trickling its body was still open"
    assert took <= DEADLINE_S + 1.5, took


def test_a_kept_alive_connection_gets_a_new_deadline_for_its_next_request(address) -> None:
    with socket.create_connection(address) as sock:
        for _ in range(3):  # requests sent at once are answered, however long the connection lives
            sock.sendall(b"GET / HTTP/1.1\r\nHost: x\r\n\r\n")
            assert read_answer(sock).endswith(b"hello")
            time.sleep(DEADLINE_S / 2)
        took = trickle(sock, b"GET / HTTP/1.1\r\nHost: x\r\n" + b"X: y\r\n" * 40,
                       every_s=DEADLINE_S / 6, for_s=10 * DEADLINE_S)
    assert took is not None, "the kept-alive connection trickling its next request was open"
    assert took <= DEADLINE_S + 1.5, took


def test_an_answer_longer_than_the_deadline_is_sent_in_full(address) -> None:
    with socket.create_connection(address) as sock:
        sock.sendall(b"GET /stream HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
        start, received = time.monotonic(), b""
        while chunk := sock.recv(4096):
            received += chunk
    assert time.monotonic() - start >= STREAM_S * 0.9
    assert all(f"chunk {n}\n".encode() in received for n in range(6)), received


def test_a_request_sent_at_once_is_answered(address) -> None:
    with socket.create_connection(address) as sock:
        sock.sendall(b"POST /echo HTTP/1.1\r\nHost: x\r\nContent-Length: 5\r\n\r\nabcde")
        assert read_answer(sock).endswith(b"got 5 bytes")


def test_a_websocket_outlives_the_deadline(address) -> None:
    """An upgraded connection belongs to the WebSocket protocol; the deadline is for requests."""
    host, port = address
    with connect(f"ws://{host}:{port}/socket") as socket:
        time.sleep(3 * DEADLINE_S)
        socket.send("still here")
        assert socket.recv(timeout=5) == "still here"
