"""Where one embedded `place_order` spends its time, step by step (timers around each step).

Run alone:  .venv/bin/python bench/bench_breakdown.py [--quick]
Prints milliseconds per transaction for each step and writes bench/results/breakdown.json.

The same workload as bench_chain.py (EnergyMarket + Transactor on the embedded chain, 2,000
orders not preloaded): each step below is wrapped in a timer for the run. Steps nest (the
chain's `_mine` holds `seal`, which holds py-evm's `finalize_block`), so the figures do not
add up to the total; the timers add a few microseconds each.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from collections import defaultdict
from collections.abc import Callable
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

import eth.db.chain  # noqa: E402
import eth.vm.base  # noqa: E402
from bench.bench_chain import COIN, FAR, Workload, _account, machine, open_chain  # noqa: E402

from gridshare.chain import compile_contract, market, transactor  # noqa: E402
from gridshare.chain.embedded import chain, pending_block, store  # noqa: E402
from gridshare.domain import Side  # noqa: E402

RESULTS = ROOT / "bench" / "results" / "breakdown.json"

STEPS: list[tuple[str, Any, str]] = [
    ("client: sign", transactor.Transactor, "sign"),
    ("client: read the receipt", transactor.Transactor, "await_receipt"),
    ("client: decode the events", market.EnergyMarket, "events"),
    ("chain: decode tx, recover sender", chain.EmbeddedChain, "decode_transaction"),
    ("chain: new block (VM, header)", pending_block.PendingBlock, "__init__"),
    ("chain: execute (EVM)", pending_block.PendingBlock, "apply"),
    ("chain: seal the block", pending_block.PendingBlock, "seal"),
    ("  py-evm: state root (finalize_block)", eth.vm.base.VM, "finalize_block"),
    ("  py-evm: tx and receipt tries", eth.vm.base.VM, "set_block_transactions_and_withdrawals"),
    ("  py-evm: persist_block", eth.db.chain.ChainDB, "persist_block"),
    ("chain: SQLite commit (fsync)", store.BlockStore, "commit"),
]


def timed(totals: dict[str, float], label: str, function: Callable[..., Any]) -> Callable[..., Any]:
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        started = time.perf_counter()
        try:
            return function(*args, **kwargs)
        finally:
            totals[label] += time.perf_counter() - started

    return wrapper


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="30 transactions, nothing recorded")
    args = parser.parse_args()
    n = 30 if args.quick else 300
    totals: defaultdict[str, float] = defaultdict(float)
    for label, owner, name in STEPS:
        setattr(owner, name, timed(totals, label, getattr(owner, name)))
    operator = _account("operator")
    with open_chain("embedded") as backend:
        backend.fund(operator.address, 10**9 * COIN)
        work = Workload(backend, compile_contract(), operator)
        for i in range(20):  # warm-up
            work.market.place_order(work.sellers[i % 5], Side.SELL, 1000, 5, FAR)
        totals.clear()
        started = time.perf_counter()
        for i in range(n):
            work.market.place_order(work.sellers[i % 5], Side.SELL, 1000, 5, FAR)
        total = time.perf_counter() - started
    per_tx = {"total": round(1000 * total / n, 2)}
    per_tx |= {label: round(1000 * totals[label] / n, 2) for label, _, _ in STEPS}
    for label, ms in per_tx.items():
        print(f"  {label:40} {ms:7.2f} ms")
    if not args.quick:
        RESULTS.write_text(json.dumps({
            "benchmark": "breakdown of one embedded place_order",
            "machine": machine(),
            "transactions": n,
            "ms_per_transaction": per_tx,
        }, indent=2) + "\n")
        print(f"written to {RESULTS.relative_to(ROOT)}")


if __name__ == "__main__":
    main()
