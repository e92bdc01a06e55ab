"""Benchmark of gridshare's chain layer (EnergyMarket + Transactor): embedded vs Ganache vs Anvil.

Run alone:  .venv/bin/python bench/bench_chain.py [--quick]
Prints the figures and writes them to bench/results/chain.json.

One run measures every chain on the same workload, through the same code a server uses:
a plain transfer (the floor: a block with no EVM work), then place_order, take, match and
settle, one transaction at a time (signed, sent raw, receipt awaited), first on an empty
market and then with 2,000 orders already in storage; then trades settled per second when
the operator uses match_batch + settle_batch. Ganache and Anvil (instant mining; Anvil with
--prune-history and a scratch HOME) are started from node_modules by tests/support/nodes.py.
The embedded chain runs twice: as the server runs it (an fsync per block) and with
durability=normal ("embedded-nosync": no fsync; Ganache and Anvil hold their state in memory
and write nothing).
"""

from __future__ import annotations

import argparse
import itertools
import json
import platform
import shutil
import sys
import tempfile
import time
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from importlib.metadata import version
from pathlib import Path
from typing import Any

from eth_account import Account
from eth_account.signers.local import LocalAccount
from eth_utils.crypto import keccak
from web3 import Web3
from web3.providers.rpc import HTTPProvider

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))  # tests.support.nodes starts the real nodes

from tests.support.nodes import NodeProcess, start_node  # noqa: E402

from gridshare.chain import EnergyMarket, Transactor, TxRequest, compile_contract  # noqa: E402
from gridshare.chain.compiler import CompiledContract  # noqa: E402
from gridshare.chain.connection import open_embedded  # noqa: E402
from gridshare.domain import MatchProposal, Side  # noqa: E402

RESULTS = ROOT / "bench" / "results" / "chain.json"
FAR = 2**40
PRICE = 5
PRELOAD_ORDERS = 2_000
COIN = 10**18
# How often the client asks a node for a receipt. The server's 20 ms (Transactor's default)
# suits it, but here it timed our sleep, not the node: Ganache and Anvil mine after answering
# eth_sendRawTransaction, so a receipt not there at the first look cost a whole 20 ms (Anvil's
# `take` read 43 tx/s at 20 ms and 123 at 1 ms, the same day). The embedded chain mines before
# it answers, so this changes nothing for it.
POLL_S = 0.001


@dataclass
class Chain:
    """One backend under test: its web3 and how to give an account coins."""

    name: str
    w3: Web3
    fund: Callable[[str, int], None]
    close: Callable[[], None]


@contextmanager
def open_chain(name: str) -> Iterator[Chain]:
    """The embedded chain in a scratch directory, or Ganache / Anvil from node_modules."""
    if name in ("embedded", "embedded-nosync"):
        faucet = _account("faucet")
        scratch = Path(tempfile.mkdtemp(prefix="gridshare-bench-"))
        connection = open_embedded(
            scratch, 1337, {faucet.address: 10**12 * COIN},
            durability="normal" if name == "embedded-nosync" else "full",
        )  # fmt: skip
        transactor = Transactor(connection.w3, poll_interval=POLL_S)

        def fund(address: str, wei: int) -> None:
            transactor.transact(faucet, TxRequest(address, b"", wei))

        def close() -> None:
            connection.close()
            shutil.rmtree(scratch, ignore_errors=True)

        chain = Chain(name, connection.w3, fund, close)
    else:
        node: NodeProcess = start_node(name)
        w3 = Web3(HTTPProvider(node.url, request_kwargs={"timeout": 60}))
        method = "anvil_setBalance" if name == "anvil" else "evm_setAccountBalance"

        def fund(address: str, wei: int) -> None:
            w3.provider.make_request(method, [address, hex(wei)])  # type: ignore[arg-type]

        chain = Chain(name, w3, fund, node.stop)
    try:
        yield chain
    finally:
        chain.close()


def summary(latencies: Sequence[float]) -> dict[str, float]:
    """tx/s (sequential) and p50/p95 latency in milliseconds."""
    ordered = sorted(latencies)
    return {
        "transactions": len(ordered),
        "tx_per_s": round(len(ordered) / sum(ordered), 1),
        "p50_ms": round(1000 * ordered[len(ordered) // 2], 2),
        "p95_ms": round(1000 * ordered[max(0, int(len(ordered) * 0.95) - 1)], 2),
    }


def timed(calls: Sequence[Callable[[], Any]]) -> tuple[list[Any], dict[str, float]]:
    """Run calls one after another; their results and the latency summary."""
    results, latencies = [], []
    for call in calls:
        started = time.perf_counter()
        results.append(call())
        latencies.append(time.perf_counter() - started)
    return results, summary(latencies)


class Workload:
    """A deployed market with five sellers and five buyers, driven through EnergyMarket."""

    def __init__(self, chain: Chain, compiled: CompiledContract, operator: LocalAccount) -> None:
        self.chain = chain
        self.transactor = Transactor(chain.w3, poll_interval=POLL_S)
        self.market = EnergyMarket.deploy(
            self.transactor, compiled, operator, delivery_window=3600, settle_grace=600
        )
        self.operator = operator
        self.sellers = [_account(f"seller-{i}") for i in range(5)]
        self.buyers = [_account(f"buyer-{i}") for i in range(5)]
        for house, account in enumerate(self.sellers + self.buyers, start=1):
            chain.fund(account.address, 10**6 * COIN)
            self.market.register_household(operator, account.address, house, house)
        for buyer in self.buyers:
            self.market.deposit(buyer, 10**5 * COIN)

    def preload(self, count: int) -> None:
        """Put `count` open orders in storage (sent without waiting, then confirmed)."""
        data = self.market._functions["place_order"].encode((False, 10**6, PRICE + 100, FAR))
        last = b""
        for i in range(count):
            seller = self.sellers[i % len(self.sellers)]
            last = self.transactor.submit(seller, TxRequest(self.market.address, data))
        self.transactor.await_receipt(last)

    def run(self, n: int) -> dict[str, Any]:
        """A plain transfer, then place_order, take, match and settle: n each, one at a time.

        The transfer (1 wei, no calldata, no contract) is each chain's floor: what signing,
        sending, mining one block and reading its receipt cost with no EVM work to speak of.
        """
        m, seller, buyer = self.market, self.sellers, self.buyers
        _, transferred = timed(
            [
                lambda i=i: self.transactor.transact(
                    seller[i % 5], TxRequest(buyer[i % 5].address, b"", 1)
                )
                for i in range(n)
            ]
        )
        offers, placed = timed(
            [
                lambda i=i: m.place_order(seller[i % 5], Side.SELL, 1000, PRICE, FAR)
                for i in range(n)
            ]
        )
        deliveries, took = timed(
            [lambda i=i: m.take(buyer[i % 5], offers[i].id, 1) for i in range(n)]
        )
        bids = [m.place_order(buyer[i % 5], Side.BUY, 10, PRICE, FAR) for i in range(n)]
        _, matched = timed(
            [
                lambda i=i: m.match(
                    self.operator, MatchProposal(bids[i].id, offers[i].id, 1, PRICE)
                )
                for i in range(n)
            ]
        )
        _, settled = timed(
            [lambda i=i: m.settle(self.operator, deliveries[i].id, 1) for i in range(n)]
        )
        return {
            "transfer": transferred,
            "place_order": placed,
            "take": took,
            "match": matched,
            "settle": settled,
        }

    def batched(self, trades: int) -> dict[str, float]:
        """Trades settled per second with match_batch + settle_batch (MAX_BATCH per call)."""
        m = self.market
        size = m.limits.max_batch
        offers = [
            m.place_order(self.sellers[i % 5], Side.SELL, 10**5, PRICE, FAR) for i in range(5)
        ]
        bids = [m.place_order(self.buyers[i % 5], Side.BUY, 10, PRICE, FAR) for i in range(trades)]
        proposals = [
            MatchProposal(bid.id, offers[i % 5].id, 10, PRICE) for i, bid in enumerate(bids)
        ]
        started = time.perf_counter()
        settled = 0
        for first in range(0, trades, size):
            created = m.match_batch(self.operator, proposals[first : first + size])
            settled += len(m.settle_batch(self.operator, [(d.id, 10) for d in created]))
        elapsed = time.perf_counter() - started
        return {
            "trades": settled,
            "batch_size": size,
            "seconds": round(elapsed, 3),
            "settled_trades_per_s": round(settled / elapsed, 1),
        }


def _account(label: str) -> LocalAccount:
    account: LocalAccount = Account.from_key(keccak(text=f"gridshare-bench-{label}"))
    return account


def bench_chain(name: str, n: int, batch_trades: int) -> dict[str, Any]:
    """Every workload on one chain, empty and then with PRELOAD_ORDERS orders."""
    operator = _account("operator")
    compiled = compile_contract()
    with open_chain(name) as chain:
        chain.fund(operator.address, 10**9 * COIN)
        workload = Workload(chain, compiled, operator)
        empty = workload.run(n)
        started = time.perf_counter()
        workload.preload(PRELOAD_ORDERS)
        preload_s = time.perf_counter() - started
        loaded = workload.run(n)
        batched = workload.batched(batch_trades)
        client = chain.w3.client_version
    return {
        "client": client,
        "empty": empty,
        "with_2000_orders": loaded,
        "preload_2000_orders_s": round(preload_s, 2),
        "batched_settlement": batched,
    }


def ratios(results: dict[str, Any]) -> dict[str, Any]:
    """Embedded tx/s divided by each node's, per workload and market size."""
    out: dict[str, Any] = {}
    for ours, node in itertools.product(("embedded", "embedded-nosync"), ("ganache", "anvil")):
        if ours not in results or node not in results:
            continue
        mine, theirs = results[ours], results[node]
        out[f"{ours}_over_{node}"] = {
            size: {
                op: round(mine[size][op]["tx_per_s"] / theirs[size][op]["tx_per_s"], 2)
                for op in mine[size]
            }
            for size in ("empty", "with_2000_orders")
        }
        out[f"{ours}_over_{node}"]["batched_settlement"] = round(
            mine["batched_settlement"]["settled_trades_per_s"]
            / theirs["batched_settlement"]["settled_trades_per_s"],
            2,
        )
    return out


def machine() -> dict[str, Any]:
    """Where the figures were measured."""
    from gridshare.chain.embedded import EmbeddedChain

    cpu = "unknown"
    cpuinfo = Path("/proc/cpuinfo")
    if cpuinfo.exists():
        cpu = next(
            (line.split(":", 1)[1].strip() for line in cpuinfo.read_text().splitlines()
             if line.startswith("model name")),
            cpu,
        )  # fmt: skip
    return {
        "cpu": cpu,
        "os": platform.platform(),
        "python": platform.python_version(),
        "py_evm": version("py-evm"),
        "web3": version("web3"),
        "signature_backend": EmbeddedChain.signature_backend(),
    }


def main() -> None:
    """Run every chain, print the table, write the JSON."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="fewer transactions (smoke run)")
    parser.add_argument("--chains", default="embedded,embedded-nosync,ganache,anvil",
                        help="embedded: an fsync per block, as the server runs it; "
                        "embedded-nosync: durability=normal (survives a process crash, not a "
                        "power cut), like Ganache and Anvil, which keep nothing on disk")
    args = parser.parse_args()
    n, batch_trades = (30, 100) if args.quick else (100, 500)
    results: dict[str, Any] = {}
    for name in args.chains.split(","):
        print(f"== {name}", flush=True)
        results[name] = bench_chain(name, n, batch_trades)
        for size in ("empty", "with_2000_orders"):
            for op, figures in results[name][size].items():
                print(
                    f"  {size:17} {op:12} {figures['tx_per_s']:8.1f} tx/s"
                    f"  p50 {figures['p50_ms']:7.2f} ms  p95 {figures['p95_ms']:7.2f} ms"
                )
        print(f"  batched settlement {results[name]['batched_settlement']}", flush=True)
    report = {
        "benchmark": "chain",
        "machine": machine(),
        "workload": "EnergyMarket via gridshare's Transactor: signed EIP-1559 raw transactions, "
        f"one at a time, receipt awaited (asked for every {POLL_S * 1000:g} ms); 5 sellers, "
        "5 buyers, the operator",
        "transactions_per_workload": n,
        "results": results,
        "ratios": ratios(results),
    }
    print(json.dumps(report["ratios"], indent=2))
    if not args.quick:
        RESULTS.parent.mkdir(parents=True, exist_ok=True)
        RESULTS.write_text(json.dumps(report, indent=2) + "\n")
        print(f"written to {RESULTS.relative_to(ROOT)}")


if __name__ == "__main__":
    main()
