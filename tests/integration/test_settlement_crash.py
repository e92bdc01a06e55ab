"""Crash test: the engine server is SIGKILLed at random moments during 200 in-flight deliveries.

The server is a subprocess (`engine/serve_engine.py`) running the real MarketEngine over a
data directory holding the persistent embedded chain, the database and the transaction
outbox. The meter simulator runs in this process, so the meters live through every kill. The
server is killed at seeded random moments and restarted each time; afterwards the chain must
show every one of the 200 deliveries in exactly one final state (DeliverySettled or
DeliveryExpired, once) by its deadline + grace, with the escrow conserved.
"""

from __future__ import annotations

import random
import sqlite3
import time
from collections import Counter
from collections.abc import Callable
from pathlib import Path

from web3 import Web3

from gridshare.config import Settings
from gridshare.domain import WEI_PER_COIN, DeliveryStatus
from gridshare.runtime import build_runtime
from gridshare.services.chain_clock import ChainClock
from tests.integration.engine.support import (
    EngineProcess,
    market_events,
    place_pairs_fast,
    register_community,
    sim_in_thread,
    sim_settings,
    spawn_engine,
)

SEED = 20250621
HOUSES = 10
ROUNDS = 40  # x 5 pairs = 200 deliveries
DELIVERIES = 200
WH = 2
PRICE = 10**12
COINS_EACH = 1000
SPEED = 20.0
SAMPLE_MS = 250
TICK_S = 0.1
KILLS = 10
UPTIME_S = (1.0, 4.0)  # how long each server runs before its SIGKILL (seeded uniform)
# Chain time: every block is at least 1 s after its parent, so while the engine settles (a
# block per tick) chain time runs several times faster than the wall clock; the window is in
# chain seconds and sized for that, not for wall time.
WINDOW_S = 600
GRACE_S = 10
SETTLE_WAIT_S = 40  # wall seconds after the last restart before chain time is moved on
# Chain seconds, beyond those the chain spent mining blocks (each block is at least a second
# after its parent, and the engine settles and expires one delivery per block), that a
# delivery may stay pending past deadline + grace: the engine noticing it, a restart.
FINAL_SLACK_S = 15


def _phases(data_dir: Path) -> tuple[int, int]:
    """(deliveries recorded, of which settled or expired) in the server's database."""
    path = data_dir / "gridshare.sqlite"
    try:
        conn = sqlite3.connect(f"file:{path}?mode=ro", uri=True, timeout=5)
        try:
            total, final = conn.execute(
                "SELECT COUNT(*), COALESCE(SUM(phase IN ('settled', 'expired')), 0) FROM deliveries"
            ).fetchone()
        finally:
            conn.close()
    except sqlite3.OperationalError:  # no database or no table yet
        return 0, 0
    return int(total), int(final)


def _wait_until(predicate: Callable[[], bool], timeout_s: float) -> bool:
    end = time.monotonic() + timeout_s
    while not predicate():
        if time.monotonic() > end:
            return False
        time.sleep(0.2)
    return True


def test_sigkilled_engine_loses_and_double_settles_no_delivery_and_conserves_escrow(
    tmp_path: Path,
) -> None:
    rng = random.Random(SEED)
    data_dir = tmp_path / "server"
    settings = Settings(
        data_dir=data_dir, market_engine=False, delivery_window_s=WINDOW_S, settle_grace_s=GRACE_S
    )

    def all_final() -> bool:
        return _phases(data_dir)[1] == DELIVERIES

    with sim_in_thread(sim_settings(HOUSES, SPEED, sample_ms=SAMPLE_MS)) as sim:
        # set-up: households and 200 crossing order pairs, then the test lets go of the chain
        runtime = build_runtime(settings)
        try:
            accounts = register_community(runtime, sim.entries, COINS_EACH)
            ranked = sorted(range(HOUSES), key=lambda i: -sim.house(i + 1).soc)
            sellers = [accounts[i] for i in ranked[: HOUSES // 2]]
            buyers = [accounts[i] for i in ranked[HOUSES // 2 :]]
            expires_at = ChainClock(runtime.market.w3)() + 3600
            place_pairs_fast(runtime, sellers, buyers, ROUNDS, WH, PRICE, expires_at)
        finally:
            runtime.close()

        server: EngineProcess = spawn_engine(data_dir, TICK_S)
        standby: EngineProcess | None = None
        at_kill: list[tuple[int, int]] = []  # (recorded, final) deliveries at each kill
        try:
            server.activate()
            standby = EngineProcess(data_dir, TICK_S)  # imports while the server works
            assert _wait_until(lambda: _phases(data_dir)[0] > 0, 30), "".join(server.output)
            while len(at_kill) < KILLS:
                time.sleep(rng.uniform(*UPTIME_S))
                phases = _phases(data_dir)
                if phases == (DELIVERIES, DELIVERIES):
                    break  # all settled already (a fast machine): nothing left to kill in
                at_kill.append(phases)
                server.kill()
                server, standby = standby, EngineProcess(data_dir, TICK_S)
                server.activate()
            if not _wait_until(all_final, SETTLE_WAIT_S):
                # move chain time past every deadline + grace: the rest must be expired
                server.stop()
                _move_chain_past_deadlines(settings)
                server, standby = standby, None
                server.activate()
                assert _wait_until(all_final, 30), _phases(data_dir)
            server.stop()
            assert server.proc.returncode == 0, "".join(server.output)
        finally:
            server.kill()
            if standby is not None:
                standby.stop()

    # every kill hit a server with deliveries in flight, and there were enough of them
    assert len(at_kill) >= KILLS // 2, at_kill
    assert all(recorded > final for recorded, final in at_kill), at_kill

    runtime = build_runtime(settings)
    try:
        market = runtime.market
        assert market.delivery_count() == DELIVERIES  # every pair matched exactly once
        grace = market.timing()[1]
        settled = market_events(market, "DeliverySettled")
        expired = market_events(market, "DeliveryExpired")
        finals = Counter(int(e["args"]["delivery_id"]) for e in settled + expired)
        assert set(finals) == set(range(1, DELIVERIES + 1))  # 0 lost
        assert set(finals.values()) == {1}  # 0 double-settled: exactly one final state each
        for event in settled + expired:
            d = market.delivery(int(event["args"]["delivery_id"]))
            assert d is not None
            args = event["args"]
            if event["event"] == "DeliverySettled":
                assert d.status is DeliveryStatus.SETTLED
                assert args["paid"] + args["refunded"] == d.escrow
                assert args["paid"] == d.delivered_wh * d.price_per_wh
            else:
                assert d.status is DeliveryStatus.EXPIRED
                assert args["refunded"] == d.escrow
            # final by deadline + grace: no more than FINAL_SLACK_S chain seconds went by,
            # past the due time, that the chain did not spend mining other blocks
            idle = _idle_seconds_after(market.w3, d.deadline + grace, event["blockNumber"])
            assert idle <= FINAL_SLACK_S, (d, idle)
        # no wei created or destroyed: every deposit is still in some household's balances
        total = sum(market.balances(a.address).total for a in accounts)
        assert total == HOUSES * COINS_EACH * WEI_PER_COIN == market.contract_balance()
        # the meters moved energy through the kills (not everything was refunded)
        assert len(settled) > DELIVERIES // 2, (len(settled), len(expired))
    finally:
        runtime.close()


def _idle_seconds_after(w3: Web3, due: int, block_number: int) -> int:
    """Chain seconds from `due` to the block, less one second per block mined in between."""
    mined_at = int(w3.eth.get_block(block_number)["timestamp"])
    if mined_at <= due:
        return 0
    number = block_number
    while number > 0 and int(w3.eth.get_block(number - 1)["timestamp"]) > due:
        number -= 1
    busy = block_number - number  # blocks after `due`, before this one
    return mined_at - due - busy


def _move_chain_past_deadlines(settings: Settings) -> None:
    """With the server stopped: mine an empty block after every deadline + grace."""
    runtime = build_runtime(settings)
    try:
        market, embedded = runtime.market, runtime.chain.embedded
        assert embedded is not None
        last = max(d.deadline for i in range(1, market.delivery_count() + 1)
                   if (d := market.delivery(i)) is not None)  # fmt: skip
        embedded.mine_block(last + market.timing()[1] + 1)
    finally:
        runtime.close()
