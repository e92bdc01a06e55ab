"""`gridshare serve` as a real subprocess on a free loopback port, for end-to-end tests."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx

from tests.support.nodes import free_port

TEST_PASSWORD = "correct horse battery staple"


@dataclass
class ServedProcess:
    """A running `gridshare serve`: its URL, process and log file."""

    url: str
    process: subprocess.Popen[bytes]
    log: Path

    def health(self) -> dict[str, Any]:
        """GET /api/v1/health."""
        reply = httpx.get(f"{self.url}/api/v1/health", timeout=10)
        reply.raise_for_status()
        return dict(reply.json())

    def rpc(self, method: str, params: list[Any] | None = None) -> Any:
        """One JSON-RPC call to /rpc; returns the whole response object."""
        payload = {"jsonrpc": "2.0", "id": 1, "method": method, "params": params or []}
        return httpx.post(f"{self.url}/rpc", json=payload, timeout=30).json()

    def stop(self) -> None:
        """SIGTERM, then wait for a clean exit (SIGKILL after 15 s)."""
        if self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(timeout=15)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()


def serve_command(data_dir: Path, port: int, *extra: str) -> list[str]:
    """The command line of `gridshare serve` run by this venv's Python."""
    return [
        sys.executable, "-m", "gridshare.cli", "serve",
        "--data", str(data_dir), "--host", "127.0.0.1", "--port", str(port), *extra,
    ]  # fmt: skip


def serve_env(password: str | None = TEST_PASSWORD, *, production: bool = False) -> dict[str, str]:
    """The environment for the server: no inherited GRIDSHARE_* settings, and the light hashing
    cost for passwords and keys unless it is a production start (which refuses it)."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("GRIDSHARE_")}
    if not production:
        env["GRIDSHARE_PASSWORD_WORK"] = "light"
    if password is not None:
        env["GRIDSHARE_OPERATOR_PASSWORD"] = password
    return env


def start_server(
    data_dir: Path, *extra: str, password: str | None = TEST_PASSWORD, timeout: float = 60
) -> ServedProcess:
    """Start `gridshare serve` and wait until /api/v1/health answers."""
    port = free_port()
    log = data_dir.parent / f"serve-{port}.log"
    handle = open(log, "wb")  # noqa: SIM115 - lives as long as the process
    process = subprocess.Popen(
        serve_command(data_dir, port, *extra),
        stdout=handle,
        stderr=subprocess.STDOUT,
        stdin=subprocess.DEVNULL,
        env=serve_env(password, production="--production" in extra),
    )
    served = ServedProcess(f"http://127.0.0.1:{port}", process, log)
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"gridshare serve exited: {log.read_text()[-3000:]}")
        try:
            if httpx.get(f"{served.url}/api/v1/health", timeout=2).status_code == 200:
                return served
        except httpx.HTTPError:
            pass
        time.sleep(0.1)
    served.stop()
    raise RuntimeError(f"gridshare serve did not start: {log.read_text()[-3000:]}")


def run_serve_once(data_dir: Path, *extra: str, password: str | None = TEST_PASSWORD) -> Any:
    """Run `gridshare serve` expecting it to exit (a refused start); returns the result."""
    return subprocess.run(
        serve_command(data_dir, free_port(), *extra),
        capture_output=True,
        text=True,
        stdin=subprocess.DEVNULL,
        env=serve_env(password, production="--production" in extra),
        timeout=60,
    )
