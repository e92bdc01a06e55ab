"""Shared set-up for the engine's integration tests: meter simulator, households, orders."""

from __future__ import annotations

import asyncio
import contextlib
import os
import signal
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterator, Sequence
from datetime import datetime
from pathlib import Path
from typing import cast
from zoneinfo import ZoneInfo

from eth_account import Account
from eth_account.signers.local import LocalAccount
from web3.types import EventData, TxReceipt

from gridshare.chain.market import EnergyMarket
from gridshare.config import Settings
from gridshare.domain import WEI_PER_COIN
from gridshare.meters import MeterEntry, MeterKey
from gridshare.runtime import Runtime, build_runtime
from gridshare.services.engine import EngineSettings, MarketEngine
from gridshare.services.households import HouseholdService
from gridshare.sim.house import HouseSpec
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


class EngineProcess:
    """`serve_engine.py` over a data directory in a subprocess, started in standby.

    `spawn_engine()` starts it up to its imports; `activate()` lets it open the data
    directory and run the engine; `kill()` is SIGKILL; `stop()` a clean SIGTERM.
    """

    def __init__(self, data_dir: Path, tick_s: float) -> None:
        self.proc = subprocess.Popen(
            [sys.executable, str(ENGINE_SCRIPT), str(data_dir), str(tick_s), "--standby"],
            stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
            env={**os.environ, "PYTHONUNBUFFERED": "1"},
        )  # fmt: skip
        self.output: list[str] = []  # everything it printed (its log), filled by a thread
        threading.Thread(target=self._pump, daemon=True).start()

    def _pump(self) -> None:
        for line in self.proc.stdout or []:
            self.output.append(line)

    def wait_for(self, text: str, timeout_s: float = 60) -> None:
        """Wait until the process prints a line containing `text`."""
        deadline = time.monotonic() + timeout_s
        while not any(text in line for line in list(self.output)):
            if self.proc.poll() is not None:
                time.sleep(0.2)  # let the pump take the last lines
                if any(text in line for line in list(self.output)):
                    return
                raise AssertionError(f"engine exited before {text!r}:\n" + "".join(self.output))
            assert time.monotonic() < deadline, f"no {text!r}:\n" + "".join(self.output)
            time.sleep(0.02)

    def activate(self, timeout_s: float = 60) -> None:
        """Let a standby server open the data directory; returns once its engine runs."""
        assert self.proc.stdin is not None
        self.proc.stdin.write("go\n")
        self.proc.stdin.flush()
        self.wait_for("engine ready", timeout_s)

    def kill(self) -> None:
        """SIGKILL, and reap the process (its data directory is free afterwards)."""
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGKILL)
        self.proc.wait()

    def stop(self) -> None:
        """SIGTERM (the engine finishes its round and closes the runtime), else SIGKILL."""
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            if self.proc.stdin is not None:
                with contextlib.suppress(OSError):
                    self.proc.stdin.close()  # a standby server exits on end of input
            try:
                self.proc.wait(timeout=15)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()


def spawn_engine(data_dir: Path, tick_s: float = 0.1, timeout_s: float = 60) -> EngineProcess:
    """An engine server over `data_dir`, imported and waiting for `activate()`."""
    server = EngineProcess(data_dir, tick_s)
    server.wait_for("engine standby", timeout_s)
    return server


# evening: no PV, so sellers discharge their batteries and buyers have room to charge
EVENING = datetime(2025, 6, 21, 20, 0, tzinfo=ZoneInfo("Asia/Karachi"))


@contextlib.contextmanager
def sim_in_thread(
    settings: SimSettings, specs: Sequence[HouseSpec] | None = None
) -> Iterator[MeterSim]:
    """MeterSim serving real HTTP meters on loopback from a thread of this process (houses
    `specs`, else the simulator's default village)."""
    sim = MeterSim(settings, specs)
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


@contextlib.contextmanager
def fast_engine(
    data_dir: Path, meter_silence_ms: int = 60_000
) -> Iterator[tuple[Runtime, MarketEngine]]:
    """A runtime over `data_dir` and a market engine (not started) that ticks every 50 ms and
    gives up on a meter after 0.5 s; both are stopped and closed on the way out.
    `meter_silence_ms` is the meters' silence limit as the engine assumes it, on the server's
    clock (wall time here)."""
    runtime = build_runtime(Settings(data_dir=data_dir, market_engine=False))
    engine = MarketEngine(
        runtime.market, runtime.operator, runtime.database,
        EngineSettings(tick_s=0.05, meter_timeout_s=0.5, meter_silence_ms=meter_silence_ms),
    )  # fmt: skip
    try:
        yield runtime, engine
    finally:
        engine.stop()
        runtime.close()


def sim_settings(
    houses: int, speed: float, silence_ms: int = 600_000, sample_ms: int = 100
) -> SimSettings:
    """Simulated meters on free loopback ports, starting in the evening."""
    return SimSettings(
        houses=houses, base_port=free_base_port(houses), speed=speed, silence_ms=silence_ms,
        sample_ms=sample_ms, start=EVENING,
    )  # fmt: skip


UNREACHABLE = "http://127.0.0.1:9"  # no meter answers there: a delivery can only expire


class SimulatedClock:
    """Seconds that move only when told to (thread-safe reads)."""

    def __init__(self, start: float) -> None:
        self._now = start
        self._lock = threading.Lock()

    def __call__(self) -> float:
        with self._lock:
            return self._now

    def advance(self, seconds: float) -> None:
        with self._lock:
            self._now += seconds


def unmetered(houses: int) -> list[MeterEntry]:
    """Meter entries for houses 1..houses at an address no meter answers at."""
    return [MeterEntry(h, h, UNREACHABLE, MeterKey.generate(h)) for h in range(1, houses + 1)]


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
    logs = market.w3.eth.get_logs({"address": market.checksum, "fromBlock": 0, "toBlock": "latest"})
    return market.events(cast(TxReceipt, {"logs": logs}), name)


def wait_until(predicate: Callable[[], bool], timeout_s: float) -> None:
    """Poll `predicate` every 50 ms; fail the test if it is still false after `timeout_s`."""
    end = time.monotonic() + timeout_s
    while not predicate():
        assert time.monotonic() < end, "timed out"
        time.sleep(0.05)
