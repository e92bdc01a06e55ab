"""Run a coroutine function to completion from synchronous test code, on a thread of its own.

Playwright's sync API (the browser tests' session-scoped fixture) keeps an asyncio loop
running on the main thread of the pytest worker that ran them, so `anyio.run` there refuses
("Already running asyncio in this thread"); a fresh thread has no loop.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from concurrent.futures import ThreadPoolExecutor
from typing import Any, TypeVar

import anyio

T = TypeVar("T")


def run_async(func: Callable[..., Awaitable[T]], *args: Any) -> T:
    """`anyio.run(func, *args)` on a new thread, whatever loop this thread is running."""
    with ThreadPoolExecutor(max_workers=1) as pool:
        return pool.submit(anyio.run, func, *args).result()
