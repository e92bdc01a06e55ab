"""An app served by uvicorn on a free loopback port from a thread, for browser tests."""

from __future__ import annotations

import asyncio
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import uvicorn

from gridshare.web.http_protocol import HTTP_PROTOCOL
from tests.support.nodes import free_port


@contextmanager
def serve_in_thread(app: Any, timeout_s: float = 30,
                    http: type[asyncio.Protocol] = HTTP_PROTOCOL) -> Iterator[str]:
    """Serve `app` until the block ends; yields its base URL once it accepts connections.
    `http` is the protocol `gridshare serve` runs unless a test gives another."""
    port = free_port()
    config = uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning", http=http)
    server = uvicorn.Server(config)
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + timeout_s
    while not server.started:
        assert time.monotonic() < deadline, "server did not start"
        time.sleep(0.05)
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        server.should_exit = True
        thread.join(10)
