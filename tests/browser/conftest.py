"""A real server (uvicorn on loopback) with two simulated meters, and Debian's Chromium."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
from tests.integration.engine.support import free_base_port, sim_in_thread
from tests.integration.web_support import OPERATOR_PASSWORD, web_app
from tests.support.live_server import serve_in_thread

from gridshare.demo.runner import meter_silence_s
from gridshare.runtime import Runtime
from gridshare.sim import MeterSim, SimSettings

CHROMIUM = "/usr/bin/chromium"
ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking",
        "--disable-component-update", "--disable-sync", "--no-first-run"]
SPEED = 20.0  # the simulated meters' clock against the wall's
ARTIFACTS = Path(__file__).resolve().parents[2] / "test-artifacts" / "web"


@dataclass
class Server:
    url: str
    runtime: Runtime
    sim: MeterSim


@pytest.fixture(scope="session")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    if not Path(CHROMIUM).exists():
        pytest.fail("Debian chromium is not installed: `make install` installs it")
    # The meters run 20x fast, so their 60 s silence limit was 3 s of wall time: on a loaded
    # machine the engine could miss it, the buyer's meter opened its relay and the first trade
    # stayed pending with nothing delivered. 30 s of wall time, as `gridshare demo` gives them.
    silence_s = meter_silence_s(SPEED)
    settings = SimSettings(houses=3, base_port=free_base_port(3), speed=SPEED,
                           silence_ms=silence_s * 1000, data_dir=tmp_path_factory.mktemp("meters"))
    with sim_in_thread(settings) as sim, web_app(
        tmp_path_factory.mktemp("server"), meter_silence_s=silence_s
    ) as (runtime, _settings, app), serve_in_thread(app) as url:
        yield Server(url, runtime, sim)


@pytest.fixture(scope="session")
def browser() -> Iterator[object]:
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        chromium = p.chromium.launch(executable_path=CHROMIUM, args=ARGS)
        yield chromium
        chromium.close()


__all__ = ["ARTIFACTS", "OPERATOR_PASSWORD", "Server"]
