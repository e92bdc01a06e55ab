"""The explorer served by uvicorn on loopback after a scripted day of trading, and Chromium."""

from __future__ import annotations

import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from tests.integration.test_explorer_support import Day, close_runtime, open_runtime, trade_a_day
from tests.support.live_server import serve_in_thread

from gridshare.runtime import Runtime
from gridshare.web.app import create_app

CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking",
                 "--disable-component-update", "--disable-sync", "--no-first-run"]
ARTIFACTS = Path(__file__).resolve().parents[3] / "test-artifacts" / "explorer"


@dataclass
class ExplorerServer:
    url: str
    runtime: Runtime
    day: Day


@pytest.fixture(scope="module")
def explorer_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ExplorerServer]:
    if not Path(CHROMIUM).exists():
        pytest.fail("Debian chromium is not installed: `make install` installs it")
    # the village's clock (UTC+5), so times the pages draw live are checked against the server's
    runtime = open_runtime(tmp_path_factory.mktemp("explorer-browser"), timezone="Asia/Karachi")
    try:
        day = trade_a_day(runtime)
        app = create_app(runtime.settings, runtime)
        with serve_in_thread(app) as url:
            parts: Any = app.state.explorer
            head = int(runtime.chain.w3.eth.block_number)
            deadline = time.monotonic() + 60
            while (parts.store.last_block() or parts.store.block(-1) or _never()).number < head:
                assert time.monotonic() < deadline, "explorer did not index the day"
                time.sleep(0.05)
            yield ExplorerServer(url, runtime, day)
    finally:
        close_runtime(runtime)


class _never:
    number = -1


@pytest.fixture(scope="module")
def chromium() -> Iterator[Any]:
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        yield browser
        browser.close()
