"""Real Ethereum nodes from node_modules (Ganache, Anvil) as subprocesses on loopback."""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path

import httpx

ROOT = Path(__file__).resolve().parents[2]
NODE_BIN = ROOT / "node_modules" / ".bin"


def free_port() -> int:
    """A TCP port on 127.0.0.1 nobody is listening on right now."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@dataclass
class NodeProcess:
    """A running node: its kind, URL, process and scratch directory."""

    kind: str
    url: str
    process: subprocess.Popen[bytes]
    home: Path
    log: Path = field(init=False)

    def __post_init__(self) -> None:
        self.log = self.home / "node.log"

    def stop(self) -> None:
        """Terminate the node and delete its scratch directory."""
        if self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()
        shutil.rmtree(self.home, ignore_errors=True)


def start_node(kind: str, *, chain_id: int = 1337, block_time: int | None = None) -> NodeProcess:
    """Start `ganache` or `anvil` (instant mining unless `block_time`) and wait until it answers."""
    port = free_port()
    home = Path(tempfile.mkdtemp(prefix=f"gridshare-{kind}-"))
    if kind == "ganache":
        cmd = [
            str(NODE_BIN / "ganache"),
            "--server.host",
            "127.0.0.1",
            "--server.port",
            str(port),
            "--chain.chainId",
            str(chain_id),
            "--chain.hardfork",
            "shanghai",
            "--miner.blockGasLimit",
            "30000000",
            "--logging.quiet",
        ]
        if block_time:
            cmd += ["--miner.blockTime", str(block_time)]
    elif kind == "anvil":
        # Anvil keeps per-block state snapshots under ~/.foundry forever: give it a
        # scratch HOME and prune history so a long test does not fill the disk.
        cmd = [
            str(NODE_BIN / "anvil"),
            "--host",
            "127.0.0.1",
            "--port",
            str(port),
            "--chain-id",
            str(chain_id),
            "--prune-history",
            "--hardfork",
            "shanghai",
            "--gas-limit",
            "30000000",
            "--silent",
        ]
        if block_time:
            cmd += ["--block-time", str(block_time)]
    else:
        raise ValueError(f"unknown node kind {kind!r}")
    log = open(home / "node.log", "wb")  # noqa: SIM115 - lives as long as the process
    process = subprocess.Popen(
        cmd, stdout=log, stderr=subprocess.STDOUT, env={**os.environ, "HOME": str(home)}
    )
    node = NodeProcess(kind, f"http://127.0.0.1:{port}", process, home)
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"{kind} exited: {(home / 'node.log').read_text()[-2000:]}")
        try:
            reply = httpx.post(
                node.url, json={"jsonrpc": "2.0", "id": 1, "method": "eth_chainId"}, timeout=2
            )
            if reply.status_code == 200 and "result" in reply.json():
                return node
        except httpx.HTTPError:
            pass
        time.sleep(0.1)
    node.stop()
    raise RuntimeError(f"{kind} did not start within 60 s")
