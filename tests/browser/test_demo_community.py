"""`gridshare demo` as a real process: a house logs in and sees trades settle; Ctrl-C stops it
cleanly (exit 0); running it again resumes the same community on the same contract.

Screenshots go to test-artifacts/demo/.
"""

from __future__ import annotations

import os
import queue
import re
import signal
import socket
import subprocess
import sys
import threading
import time
from pathlib import Path
from typing import IO, Any

import httpx
from playwright.sync_api import Browser, Page
from tests.support.nodes import free_port

ARTIFACTS = Path(__file__).resolve().parents[2] / "test-artifacts" / "demo"
SPEED = "600"  # one simulated hour in six seconds: agents every 0.5 s, deliveries in seconds
LOGIN = re.compile(r"^\s+(house-\d\d)\s+password: (\S+)")
MARKET = re.compile(r"market (0x[0-9a-fA-F]{40})")


def free_port_range(count: int = 10) -> int:
    """A base port with `count` free ports above it (checked by binding each one)."""
    for base in range(21000, 60000, 997):
        try:
            for port in range(base, base + count):
                with socket.socket() as s:
                    s.bind(("127.0.0.1", port))
        except OSError:
            continue
        return base
    raise AssertionError("no free port range")


class Demo:
    """`gridshare demo` in a subprocess, its stdout read line by line on a thread."""

    def __init__(self, data: Path, port: int, meter_base: int, *extra: str) -> None:
        self.url = f"http://127.0.0.1:{port}"
        self.lines: queue.Queue[str] = queue.Queue()
        self.stderr = (data.parent / f"demo-{time.monotonic_ns()}.err").open("w")
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "gridshare.cli", "demo", "--data", str(data),
             "--port", str(port), "--meter-base-port", str(meter_base), "--speed", SPEED,
             *extra],
            stdout=subprocess.PIPE, stderr=self.stderr, text=True,
            env={**os.environ, "GRIDSHARE_PASSWORD_WORK": "light"},  # logins hashed cheaply
        )
        assert self.proc.stdout is not None
        self.reader = threading.Thread(target=self._read, args=(self.proc.stdout,), daemon=True)
        self.reader.start()

    def _read(self, stream: IO[str]) -> None:
        for line in stream:
            self.lines.put(line)

    def banner(self, timeout: float = 45) -> list[str]:
        """Stdout up to the 'Open http://...' line."""
        seen: list[str] = []
        end = time.monotonic() + timeout
        while not seen or not seen[-1].startswith("Open http"):
            left = end - time.monotonic()
            assert left > 0 and self.proc.poll() is None, f"demo did not start: {seen}"
            try:
                seen.append(self.lines.get(timeout=min(left, 1)))
            except queue.Empty:
                continue
        return seen

    def health(self, timeout: float = 30) -> dict[str, Any]:
        end = time.monotonic() + timeout
        while True:
            try:
                reply = httpx.get(self.url + "/api/v1/health", timeout=2)
                if reply.status_code == 200:
                    return dict(reply.json())
            except httpx.HTTPError:
                pass
            assert time.monotonic() < end, "the demo's web app does not answer"
            time.sleep(0.2)

    def interrupt(self) -> int:
        """Ctrl-C, then the exit status."""
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGINT)
        try:
            return self.proc.wait(30)
        finally:
            if self.proc.poll() is None:
                self.proc.kill()
            self.reader.join(5)
            self.stderr.close()


def shoot(page: Page, name: str) -> None:
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / f"{name}.png"), full_page=True)


def settled(page: Page, url: str) -> int:
    """Settled trades, from the logged-in resident's view of the API."""
    reply = page.request.get(url + "/api/v1/trades")
    assert reply.status == 200, reply.text()
    return sum(1 for t in reply.json() if t["status"] == "settled")


def wait_until(what: str, check: Any, timeout: float) -> None:
    end = time.monotonic() + timeout
    while not check():
        assert time.monotonic() < end, f"timed out waiting for {what}"
        time.sleep(0.5)


def test_demo_community_trades_by_itself_stops_on_ctrl_c_and_resumes(
    browser: Browser, tmp_path: Path
) -> None:
    data = tmp_path / "demo"
    port, meter_base = free_port(), free_port_range()
    demo = Demo(data, port, meter_base, "--fresh")
    try:
        banner = demo.banner()
        logins = dict(m.groups() for line in banner if (m := LOGIN.match(line)))
        assert sorted(logins) == [f"house-{i:02d}" for i in range(1, 11)]
        market = MARKET.search(banner[0])
        assert market is not None, banner[0]
        first = demo.health()
        assert first["contract_address"] == market.group(1)

        page = browser.new_context(viewport={"width": 1280, "height": 800}).new_page()
        page.goto(demo.url + "/login")
        page.fill("input[name=username]", "house-01")
        page.fill("input[name=password]", logins["house-01"])
        page.click("button[type=submit]")
        page.wait_for_load_state()
        assert "/login" not in page.url, "house-01 could not log in"

        # nobody touches anything: the agents trade and the meters settle, again and again
        wait_until("a settled trade", lambda: settled(page, demo.url) >= 1, 40)
        count = settled(page, demo.url)
        wait_until("more settled trades", lambda: settled(page, demo.url) > count, 30)
        assert demo.health()["head_block"] > first["head_block"]  # the chain grows by itself
        for path in ("/community", "/market", "/account"):
            page.goto(demo.url + path)
            page.wait_for_load_state()
            shoot(page, "house-01" + path.replace("/", "-"))
        page.context.close()
    finally:
        assert demo.interrupt() == 0
    stopped = "".join(demo.lines.queue)
    assert "stopped" in stopped

    again = Demo(data, port, meter_base)  # no --fresh: the same community
    try:
        banner = again.banner()
        assert not any(LOGIN.match(line) for line in banner)  # passwords are shown only once
        assert any("printed when this community was created" in line for line in banner)
        assert again.health()["contract_address"] == market.group(1)
    finally:
        assert again.interrupt() == 0
