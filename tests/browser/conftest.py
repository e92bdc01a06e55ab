"""A real server (uvicorn on loopback) with two simulated meters, and Debian's Chromium."""

from __future__ import annotations

import asyncio
import socket
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
import uvicorn
from tests.integration.web_support import OPERATOR_PASSWORD, web_app

from gridshare.runtime import Runtime
from gridshare.sim import MeterSim, SimSettings

CHROMIUM = "/usr/bin/chromium"
ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking",
        "--disable-component-update", "--disable-sync", "--no-first-run"]
ARTIFACTS = Path(__file__).resolve().parents[2] / "test-artifacts" / "web"


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@dataclass
class Server:
    url: str
    runtime: Runtime
    sim: MeterSim


def _serve_meters(sim: MeterSim, ready: threading.Event) -> None:
    asyncio.run(sim.serve(lambda _: ready.set()))


@pytest.fixture(scope="session")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    if not Path(CHROMIUM).exists():
        pytest.fail("Debian chromium is not installed: `make install` installs it")
    base = free_port()
    sim = MeterSim(SimSettings(houses=3, base_port=base if base < 65000 else 18300, speed=20.0,
                               data_dir=tmp_path_factory.mktemp("meters")))
    ready = threading.Event()
    meters = threading.Thread(target=_serve_meters, args=(sim, ready), daemon=True)
    meters.start()
    assert ready.wait(20), "meter simulator did not start"
    with web_app(tmp_path_factory.mktemp("server")) as (runtime, _settings, app):
        port = free_port()
        config = uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning")  # type: ignore[arg-type]
        uv = uvicorn.Server(config)
        thread = threading.Thread(target=uv.run, daemon=True)
        thread.start()
        deadline = time.monotonic() + 30
        while not uv.started:
            assert time.monotonic() < deadline, "server did not start"
            time.sleep(0.05)
        try:
            yield Server(f"http://127.0.0.1:{port}", runtime, sim)
        finally:
            uv.should_exit = True
            thread.join(10)
            sim.stop()
            meters.join(10)


@pytest.fixture(scope="session")
def browser() -> Iterator[object]:
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        chromium = p.chromium.launch(executable_path=CHROMIUM, args=ARGS)
        yield chromium
        chromium.close()


__all__ = ["ARTIFACTS", "OPERATOR_PASSWORD", "Server"]
