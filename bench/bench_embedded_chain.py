"""Benchmark of gridshare's embedded chain: restart time and transactions per second.

Run alone:  .venv/bin/python bench/bench_embedded_chain.py [--quick]
Prints the figures and writes them to bench/results/embedded_chain.json (`--quick`: smaller
counts, printed only unless `--out` names a file).

Workload: the EnergyMarket contract (compiled for shanghai), 10 registered residents
placing sell offers with signed raw transactions. `run_workload(w3, accounts, compiled)`
takes any Web3 (embedded provider, Ganache, Anvil) so node comparisons use the same code.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import statistics
import tempfile
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from importlib.metadata import version
from pathlib import Path
from typing import Any

import vyper
from eth_abi.abi import encode
from eth_account import Account
from eth_account.signers.local import LocalAccount
from eth_utils.address import to_checksum_address
from eth_utils.crypto import keccak
from web3 import Web3

from gridshare.chain.embedded import EmbeddedChain, EmbeddedProvider, open_embedded_chain

ROOT = Path(__file__).resolve().parents[1]
RESULTS = ROOT / "bench" / "results" / "embedded_chain.json"
CHAIN_ID = 1337
ORDER_GAS = 300_000
FAR_FUTURE = 2**40


@dataclass(frozen=True)
class Compiled:
    """EnergyMarket's ABI and deployment bytecode."""

    abi: list[dict[str, Any]]
    bytecode: str


def compile_market() -> Compiled:
    """Compile contracts/energy_market.vy (its pragma selects evm shanghai)."""
    source = (ROOT / "contracts" / "energy_market.vy").read_text()
    out = vyper.compile_code(source, output_formats=["abi", "bytecode"])
    return Compiled(out["abi"], out["bytecode"])


def make_accounts(count: int = 11) -> list[LocalAccount]:
    """accounts[0] is the operator, the rest are residents."""
    return [Account.from_key(keccak(text=f"gridshare-bench-{i}")) for i in range(count)]


def calldata(signature: str, *args: Any) -> bytes:
    """ABI-encoded call (selector + arguments)."""
    types = [t for t in signature[signature.index("(") + 1 : -1].split(",") if t]
    return keccak(text=signature)[:4] + encode(types, list(args))


def place_order_data(amount_wh: int) -> bytes:
    """A sell offer of `amount_wh` at 2 wei/Wh that never expires in the benchmark."""
    return calldata("place_order(bool,uint256,uint256,uint256)", False, amount_wh, 2, FAR_FUTURE)


def summary(latencies: Sequence[float], elapsed: float) -> dict[str, float]:
    """tx/s and p50/p95 latency in milliseconds."""
    ordered = sorted(latencies)
    return {
        "transactions": len(ordered),
        "tx_per_s": round(len(ordered) / elapsed, 1),
        "p50_ms": round(1000 * ordered[len(ordered) // 2], 2),
        "p95_ms": round(1000 * ordered[int(len(ordered) * 0.95) - 1], 2),
    }


# ---------------------------------------------------------------- any Web3


def run_workload(
    w3: Web3, accounts: Sequence[LocalAccount], compiled: Compiled, transactions: int = 500
) -> dict[str, float]:
    """Deploy, register residents, then send `transactions` place_order txs one by one.

    Each transaction is signed, sent raw and its receipt awaited before the next. Works
    on any node: fees come from eth_gasPrice, nonces from the node.
    """
    operator, residents = accounts[0], accounts[1:]
    chain_id = w3.eth.chain_id
    gas_price = w3.eth.gas_price
    nonces: dict[str, int] = {
        a.address: w3.eth.get_transaction_count(a.address, "pending") for a in accounts
    }

    def send(account: LocalAccount, fields: dict[str, Any]) -> Any:
        tx = {"chainId": chain_id, "gasPrice": gas_price, "nonce": nonces[account.address],
              "value": 0, **fields}
        nonces[account.address] += 1
        raw = account.sign_transaction(tx).raw_transaction
        receipt = w3.eth.wait_for_transaction_receipt(
            w3.eth.send_raw_transaction(raw), timeout=60, poll_latency=0.005
        )
        assert receipt["status"] == 1, receipt
        return receipt

    args = encode(["uint256", "uint256"], [3600, 600]).hex()
    deployed = send(operator, {"data": compiled.bytecode + args, "gas": 3_500_000})
    market = deployed["contractAddress"]
    for house, resident in enumerate(residents, start=1):
        data = calldata("register_household(address,uint32,uint32)", resident.address, house, house)
        send(operator, {"to": market, "data": data, "gas": ORDER_GAS})
    latencies: list[float] = []
    started = time.perf_counter()
    for i in range(transactions):
        begin = time.perf_counter()
        send(residents[i % len(residents)],
             {"to": market, "data": place_order_data(1 + i % 50), "gas": ORDER_GAS})
        latencies.append(time.perf_counter() - begin)
    return summary(latencies, time.perf_counter() - started)


# ---------------------------------------------------------------- embedded, direct


class DirectMarket:
    """The same workload straight on EmbeddedChain (no web3, no JSON-RPC)."""

    def __init__(self, chain: EmbeddedChain, accounts: Sequence[LocalAccount],
                 compiled: Compiled) -> None:
        self.chain = chain
        self.operator, self.residents = accounts[0], list(accounts[1:])
        self.nonces = {a.address: chain.nonce(bytes.fromhex(a.address[2:]), "pending")
                       for a in accounts}
        args = encode(["uint256", "uint256"], [3600, 600]).hex()
        receipt = self.send(self.operator, {"data": compiled.bytecode + args, "gas": 3_500_000})
        assert receipt.contract_address is not None
        self.market = to_checksum_address(receipt.contract_address)
        for house, resident in enumerate(self.residents, start=1):
            data = calldata("register_household(address,uint32,uint32)", resident.address,
                            house, house)
            self.send(self.operator, {"to": self.market, "data": data, "gas": ORDER_GAS})

    def sign(self, account: LocalAccount, fields: dict[str, Any]) -> bytes:
        tx = {"chainId": CHAIN_ID, "maxFeePerGas": 0, "maxPriorityFeePerGas": 0, "type": 2,
              "nonce": self.nonces[account.address], "value": 0, **fields}
        self.nonces[account.address] += 1
        return bytes(account.sign_transaction(tx).raw_transaction)

    def send(self, account: LocalAccount, fields: dict[str, Any]) -> Any:
        record = self.chain.transaction(self.chain.send_raw_transaction(self.sign(account, fields)))
        assert record is not None and record.status == 1
        return record

    def order(self, i: int) -> bytes:
        return self.sign(self.residents[i % len(self.residents)],
                         {"to": self.market, "data": place_order_data(1 + i % 50),
                          "gas": ORDER_GAS})

    def sequential(self, transactions: int) -> dict[str, float]:
        """One transaction per block, each receipt read before the next is signed."""
        latencies = []
        started = time.perf_counter()
        for i in range(transactions):
            begin = time.perf_counter()
            record = self.chain.transaction(self.chain.send_raw_transaction(self.order(i)))
            assert record is not None and record.status == 1
            latencies.append(time.perf_counter() - begin)
        return summary(latencies, time.perf_counter() - started)

    def batched(self, transactions: int, per_block: int) -> dict[str, float]:
        """`per_block` signed transactions mined together, receipts read after each block."""
        latencies = []
        started = time.perf_counter()
        for first in range(0, transactions, per_block):
            begin = time.perf_counter()
            raws = [self.order(i) for i in range(first, min(first + per_block, transactions))]
            hashes = self.chain.send_raw_transactions(raws)
            assert all(self.chain.transaction(h) is not None for h in hashes)
            latencies.extend([(time.perf_counter() - begin)] * len(raws))
        result = summary(latencies, time.perf_counter() - started)
        result["per_block"] = per_block
        return result


def open_chain(data_dir: Path, accounts: Sequence[LocalAccount], **options: Any) -> EmbeddedChain:
    alloc = {bytes.fromhex(a.address[2:]): 10**24 for a in accounts}
    return open_embedded_chain(data_dir, CHAIN_ID, alloc, **options)


def timed(action: Callable[[], Any]) -> tuple[float, Any]:
    begin = time.perf_counter()
    result = action()
    return time.perf_counter() - begin, result


def restart_figures(root: Path, accounts: Sequence[LocalAccount], compiled: Compiled,
                    history: int) -> dict[str, Any]:
    """Build a `history`-transaction chain (20 per block), then time reopening it."""
    data_dir = root / "history"
    chain = open_chain(data_dir, accounts)
    market = DirectMarket(chain, accounts, compiled)
    build_time, _ = timed(lambda: market.batched(history, 20))
    head, count = chain.head.hash, chain.transaction_count()
    owner = market.residents[0].address
    chain.close()
    opens, first_reads = [], []
    for _ in range(5):
        begin = time.perf_counter()
        reopened = open_embedded_chain(data_dir, CHAIN_ID)
        opens.append(time.perf_counter() - begin)
        begin = time.perf_counter()
        reopened.balance(bytes.fromhex(owner[2:]))
        first_reads.append(time.perf_counter() - begin)
        assert reopened.head.hash == head
        begin = time.perf_counter()
        logs = reopened.logs(_orders_of(reopened, market, owner))
        logs_time = time.perf_counter() - begin
        reopened.close()
    size = sum(f.stat().st_size for f in data_dir.iterdir())
    return {
        "history_transactions": count,
        "history_blocks": int(chain.head.block_number),
        "build_seconds": round(build_time, 2),
        "reopen_s_median": round(statistics.median(opens), 4),
        "reopen_s_max": round(max(opens), 4),
        "first_reads_s_median": round(statistics.median(first_reads), 4),
        "get_logs_one_owner_s": round(logs_time, 4),
        "get_logs_one_owner_count": len(logs),
        "data_dir_mb": round(size / 2**20, 1),
        "target_reopen_s": 1.0,
    }


def _orders_of(chain: EmbeddedChain, market: DirectMarket, owner: str) -> Any:
    from gridshare.chain.embedded import LogFilter

    placed = keccak(text="OrderPlaced(uint256,address,bool,uint256,uint256,uint256)")
    owner_topic = bytes(12) + bytes.fromhex(owner[2:])
    return LogFilter(0, chain.block_number, (bytes.fromhex(market.market[2:]),),
                     ((placed,), None, (owner_topic,)))


def machine_info() -> dict[str, Any]:
    cpu = next((line.split(":", 1)[1].strip() for line in
                Path("/proc/cpuinfo").read_text().splitlines() if line.startswith("model name")),
               platform.processor()) if Path("/proc/cpuinfo").exists() else platform.processor()
    memory = (os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES")) / 2**30
    return {
        "cpu": cpu, "cores": os.cpu_count(), "memory_gb": round(memory, 1),
        "os": platform.platform(), "python": platform.python_version(),
        "py_evm": version("py-evm"), "web3": version("web3"),
        "signature_backend": EmbeddedChain.signature_backend(),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true",
                        help="small counts (smoke test), recorded only with --out")
    parser.add_argument("--out", type=Path, help=f"where to record (default {RESULTS.name})")
    options = parser.parse_args()
    count, history = (100, 1_000) if options.quick else (1_000, 10_000)
    compiled, accounts = compile_market(), make_accounts()
    results: dict[str, Any] = {"benchmark": "embedded_chain", "machine": machine_info(),
                               "workload": "EnergyMarket.place_order by 10 residents, "
                                           "signed raw transactions, receipt awaited"}
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)
        for durability in ("full", "normal"):
            chain = open_chain(root / f"seq-{durability}", accounts, durability=durability)
            market = DirectMarket(chain, accounts, compiled)
            results[f"direct_sequential_{durability}_sync"] = market.sequential(count)
            if durability == "full":
                results["direct_100_per_block"] = market.batched(count, 100)
            chain.close()
        chain = open_chain(root / "web3", accounts)
        w3 = Web3(EmbeddedProvider(chain))
        results["web3_embedded_provider_sequential"] = run_workload(
            w3, accounts, compiled, count // 2)
        chain.close()
        results["restart"] = restart_figures(root, accounts, compiled, history)
    print(json.dumps(results, indent=2))
    out = options.out or (None if options.quick else RESULTS)
    if out is not None:
        out.parent.mkdir(parents=True, exist_ok=True)
        out.write_text(json.dumps(results, indent=2) + "\n")


if __name__ == "__main__":
    main()
