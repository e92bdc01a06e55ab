"""Shared set-up for the engine's integration tests: meter simulator, households, orders."""

from __future__ import annotations

import asyncio
import contextlib
import os
import queue
import signal
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from datetime import datetime
from pathlib import Path
from typing import cast
from zoneinfo import ZoneInfo

from eth_account import Account
from eth_account.signers.local import LocalAccount
from web3.types import EventData, TxReceipt

from gridshare.chain.market import EnergyMarket
from gridshare.domain import WEI_PER_COIN
from gridshare.meters import MeterEntry
from gridshare.runtime import Runtime
from gridshare.services.households import HouseholdService
from gridshare.sim.meter_sim import MeterSim, SimSettings
from gridshare.storage.households import HouseholdRepository

ENGINE_SCRIPT = Path(__file__).with_name("serve_engine.py")


def free_base_port(count: int) -> int:
    """A base port with `count` consecutive free loopback ports."""
    for _ in range(200):
        with socket.socket() as probe:
            probe.bind(("127.0.0.1", 0))
            base = int(probe.getsockname()[1])
        if base + count > 65000:
            continue
        socks = []
        try:
            for port in range(base, base + count):
                s = socket.socket()
                socks.append(s)
                s.bind(("127.0.0.1", port))
            return base
        except OSError:
            continue
        finally:
            for s in socks:
                s.close()
    raise RuntimeError("no free port range")


def _wait_for(proc: subprocess.Popen[str], text: str, timeout_s: float) -> list[str]:
    lines: queue.Queue[str] = queue.Queue()
    def pump() -> None:
        for line in proc.stdout or []:
            lines.put(line)

    threading.Thread(target=pump, daemon=True).start()
    output: list[str] = []
    deadline = time.monotonic() + timeout_s
    while not any(text in line for line in output):
        assert proc.poll() is None, "".join(output)
        assert time.monotonic() < deadline, f"no {text!r}:\n" + "".join(output)
        with contextlib.suppress(queue.Empty):
            output.append(lines.get(timeout=0.2))
    return output


def spawn(args: list[str], ready: str, timeout_s: float = 60) -> subprocess.Popen[str]:
    """Start a Python subprocess and wait until it prints `ready`."""
    proc = subprocess.Popen(
        [sys.executable, *args], stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
        env={**os.environ, "PYTHONUNBUFFERED": "1"},
    )  # fmt: skip
    _wait_for(proc, ready, timeout_s)
    return proc


def stop(proc: subprocess.Popen[str]) -> None:
    if proc.poll() is None:
        proc.send_signal(signal.SIGTERM)
        try:
            proc.wait(timeout=15)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()


# evening: no PV, so sellers discharge their batteries and buyers have room to charge
EVENING = datetime(2025, 6, 21, 20, 0, tzinfo=ZoneInfo("Asia/Karachi"))


@contextlib.contextmanager
def sim_in_thread(settings: SimSettings) -> Iterator[MeterSim]:
    """MeterSim serving real HTTP meters on loopback from a thread of this process."""
    sim = MeterSim(settings)
    ready = threading.Event()
    loop = asyncio.new_event_loop()

    def run() -> None:
        asyncio.set_event_loop(loop)
        loop.run_until_complete(sim.serve(on_ready=lambda _: ready.set()))

    thread = threading.Thread(target=run, daemon=True)
    thread.start()
    assert ready.wait(30), "meter simulator did not start"
    try:
        yield sim
    finally:
        loop.call_soon_threadsafe(sim.stop)
        thread.join(timeout=15)


def sim_settings(houses: int, speed: float, silence_ms: int = 600_000) -> SimSettings:
    """Simulated meters on free loopback ports, starting in the evening."""
    return SimSettings(
        houses=houses, base_port=free_base_port(houses), speed=speed, silence_ms=silence_ms,
        start=EVENING,
    )  # fmt: skip


def register_community(
    runtime: Runtime, entries: list[MeterEntry], coins_each: int = 1000
) -> list[LocalAccount]:
    """One funded household per meter; returns their accounts (house order)."""
    service = HouseholdService(
        runtime.market, runtime.operator, HouseholdRepository(runtime.database)
    )
    accounts = []
    for entry in sorted(entries, key=lambda e: e.house_id):
        account = Account.create()
        service.register(f"house-{entry.house_id:02d}", account.address, entry.house_id, entry)
        service.deposit_for(account.address, coins_each * WEI_PER_COIN)
        accounts.append(account)
    return accounts


def place_pairs_fast(
    runtime: Runtime,
    sellers: list[LocalAccount],
    buyers: list[LocalAccount],
    rounds: int,
    wh: int,
    price: int,
    expires_at: int,
) -> None:
    """Each round seller k offers `wh` and buyer k bids for it: the matcher pairs them.

    Set-up only (the trading checks are tested elsewhere): signed directly with a fixed gas
    limit and mined in one embedded-chain block, which is ~20x faster than one by one.
    """
    market, w3 = runtime.market, runtime.market.w3
    embedded = runtime.chain.embedded
    assert embedded is not None
    nonces: dict[str, int] = {
        a.address: w3.eth.get_transaction_count(a.address) for a in sellers + buyers
    }
    raws = []
    for _ in range(rounds):
        for seller, buyer in zip(sellers, buyers, strict=True):
            for account, is_buy in ((seller, False), (buyer, True)):
                data = market.contract.encode_abi(
                    "place_order", args=[is_buy, wh, price, expires_at]
                )
                tx = {
                    "to": market.checksum, "data": data, "value": 0, "gas": 300_000,
                    "nonce": nonces[account.address], "chainId": w3.eth.chain_id,
                    "maxFeePerGas": 0, "maxPriorityFeePerGas": 0,
                }  # fmt: skip
                nonces[account.address] += 1
                raws.append(bytes(account.sign_transaction(tx).raw_transaction))
    with embedded.batch():
        for raw in raws:
            embedded.send_raw_transaction(raw)
    assert market.order_count() >= len(raws)


def market_events(market: EnergyMarket, name: str) -> list[EventData]:
    """Every `name` event the market has emitted."""
    logs = market.w3.eth.get_logs(
        {"address": market.checksum, "fromBlock": 0, "toBlock": "latest"}
    )
    return market.events(cast(TxReceipt, {"logs": logs}), name)
