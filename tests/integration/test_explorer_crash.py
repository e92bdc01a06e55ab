"""SIGKILL the explorer indexer mid-run, again and again: the index ends up exactly the chain.

The chain is an Anvil node (a real RPC chain: the worker starts fast, without py-evm).
Run as a script (`python test_explorer_crash.py --worker URL INDEX_FILE MARKET ABI_FILE`), this
module is the worker: it indexes the node at URL into INDEX_FILE in small batches, printing
READY, then the indexed height after each batch, then DONE.
"""

from __future__ import annotations

import json
import random
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path
from typing import Any

import pytest

CHAIN_ID = 1337
KILLS_WANTED = 3
ORDERS = 60  # each in its own block, followed by EMPTY empty blocks
EMPTY = 4


def _worker(url: str, index_file: Path, market: str, abi_file: Path) -> None:
    from gridshare.explorer import ExplorerStore, HttpJsonRpc, Indexer, MarketAbi, RpcSource

    store = ExplorerStore(index_file)
    source = RpcSource(HttpJsonRpc(url))
    indexer = Indexer(store, source, MarketAbi(json.loads(abi_file.read_text())), market, batch=4)
    print("READY", flush=True)
    while indexer.sync(max_blocks=8):
        last = store.last_block()
        print(last.number if last else -1, flush=True)
    print("DONE", flush=True)


def _build_chain(url: str) -> tuple[str, int]:
    """Market traffic in some blocks, none in others; returns (market address, head)."""
    from eth_account import Account
    from web3 import Web3
    from web3.providers.rpc import HTTPProvider
    from web3.types import RPCEndpoint

    from gridshare.chain import EnergyMarket, Transactor, compile_contract

    w3 = Web3(HTTPProvider(url))
    operator, resident = Account.create(), Account.create()
    for account in (operator, resident):
        w3.provider.make_request(RPCEndpoint("anvil_setBalance"), [account.address, hex(10**30)])
    transactor = Transactor(w3)
    market = EnergyMarket.deploy(transactor, compile_contract(), operator,
                                 delivery_window=3600, settle_grace=600)
    market.register_household(operator, resident.address, 1, 101)
    market.deposit_for(operator, resident.address, 10**21)
    expires = int(w3.eth.get_block("latest")["timestamp"]) + 10**6
    nonce = w3.eth.get_transaction_count(resident.address)
    fees = {"maxFeePerGas": 10**10, "maxPriorityFeePerGas": 0, "chainId": CHAIN_ID, "type": 2}
    for i in range(ORDERS):  # signed here and sent raw: fast enough for a thousand blocks
        data = market.contract.encode_abi("place_order", [False, 1 + i, 10**15, expires])
        signed = resident.sign_transaction(
            {"to": market.address, "data": data, "gas": 300_000, "nonce": nonce + i, **fees})
        w3.eth.send_raw_transaction(signed.raw_transaction)
        w3.provider.make_request(RPCEndpoint("anvil_mine"), [hex(EMPTY)])
    return str(market.address), int(w3.eth.block_number)


def _run_and_kill(args: list[str], batches: int, jitter: float) -> tuple[bool, int]:
    """Start a worker; SIGKILL it `jitter` s after it has committed `batches` batches.

    Counting batches (not wall seconds) puts every kill in the middle of indexing however
    fast or loaded the machine is; the jitter lands kills inside a batch's commit too.
    Returns (finished by itself, last height seen).
    """
    process = subprocess.Popen(
        [sys.executable, __file__, "--worker", *args],
        stdout=subprocess.PIPE, text=True,
    )
    lines: list[str] = []
    ready = threading.Event()

    def read() -> None:
        assert process.stdout is not None
        for line in process.stdout:
            if line.startswith("READY"):
                ready.set()
            lines.append(line.strip())

    reader = threading.Thread(target=read)
    reader.start()
    started = time.monotonic()
    while not ready.wait(0.05):
        assert process.poll() is None, "worker exited before READY (see its stderr)"
        assert time.monotonic() - started < 60, "worker did not start"
    while process.poll() is None and "DONE" not in lines:
        if sum(1 for line in lines if line.lstrip("-").isdigit()) >= batches:
            break
        assert time.monotonic() - started < 60, "worker made no progress"
        time.sleep(0.005)
    time.sleep(jitter)
    process.send_signal(signal.SIGKILL)
    process.wait()
    reader.join()
    heights = [int(line) for line in lines if line.lstrip("-").isdigit()]
    return "DONE" in lines, heights[-1] if heights else -1


@pytest.mark.node
def test_sigkill_during_indexing_loses_nothing_and_repeats_nothing(tmp_path: Path) -> None:
    from gridshare.chain import compile_contract
    from gridshare.explorer import ExplorerStore, HttpJsonRpc, MarketAbi, RpcSource
    from tests.support.nodes import start_node  # not at the top: the worker runs as a script

    node = start_node("anvil")
    try:
        market, head = _build_chain(node.url)
        abi = compile_contract().abi
        abi_file, index = tmp_path / "abi.json", tmp_path / "explorer.sqlite"
        abi_file.write_text(json.dumps(list(abi)))
        seed = random.randrange(2**32)
        rng = random.Random(seed)
        kills, finished, heights = 0, False, []
        for _ in range(80):  # about 8 runs reach the head; the bound only stops a hang
            finished, height = _run_and_kill(
                [node.url, str(index), market, str(abi_file)],
                rng.randint(1, 2), rng.uniform(0.0, 0.05))
            heights.append(height)
            if finished:
                break
            kills += height < head
        assert finished, f"the indexer never finished (seed {seed}, heights {heights})"
        assert kills >= KILLS_WANTED, f"only {kills} kills mid-index (seed {seed}, {heights})"
        _check_index(ExplorerStore(index), RpcSource(HttpJsonRpc(node.url)),
                     MarketAbi(abi), market, head)
    finally:
        node.stop()


def _check_index(store: Any, source: Any, abi: Any, market: str, head: int) -> None:
    """Every block, transaction, event and address row of the chain is in the index, once."""
    try:
        conn = store.database.connection()
        numbers = [r[0] for r in conn.execute("SELECT number FROM explorer_blocks ORDER BY 1")]
        assert numbers == list(range(head + 1)), "blocks missing or extra"
        expected_txs: set[str] = set()
        expected_events = expected_address_rows = 0
        for number in range(head + 1):
            fetched = source.block(number)
            assert fetched is not None
            block, txs = fetched
            stored = store.block(number)
            assert stored is not None and stored.hash == block.hash
            expected_txs |= {t.hash for t in txs}
            expected_address_rows += sum(
                len({a for a in (t.sender, t.to, t.contract_address) if a}) for t in txs)
            for t in txs:
                expected_events += len(abi.events_of(t.logs, market, block_number=number,
                                                     tx_hash=t.hash, timestamp=0))
        stored_txs = [r[0] for r in conn.execute("SELECT hash FROM explorer_txs")]
        assert len(stored_txs) == len(expected_txs) and set(stored_txs) == expected_txs
        (events,) = conn.execute("SELECT COUNT(*) FROM explorer_events").fetchone()
        assert events == expected_events > ORDERS
        (rows,) = conn.execute("SELECT COUNT(*) FROM explorer_address_txs").fetchone()
        assert rows == expected_address_rows
        placed = [r[0] for r in conn.execute(
            "SELECT order_id FROM explorer_events WHERE name = 'OrderPlaced' ORDER BY 1")]
        assert placed == list(range(1, ORDERS + 1))
    finally:
        store.close()


if __name__ == "__main__" and sys.argv[1:2] == ["--worker"]:
    _worker(sys.argv[2], Path(sys.argv[3]), sys.argv[4], Path(sys.argv[5]))
