"""kill -9 the embedded chain mid-stream: every returned receipt survives, the chain goes on.

Run as a script (`python test_embedded_crash.py --worker DIR BYTECODE COUNT`), this module
is the worker: it opens the chain in DIR, sends COUNT signed transactions (value transfers
and EnergyMarket calls) and prints "tx_hash block_hash block_number" for each receipt,
flushed, as soon as send_raw_transaction has returned it.
"""

from __future__ import annotations

import random
import signal
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path

CHAIN_ID = 1337
OPERATOR_KEY = "0x" + "11" * 32
RESIDENT_KEY = "0x" + "22" * 32
KILLS_WANTED = 5
TXS_PER_RUN = 200
CONTRACT = Path(__file__).resolve().parents[2] / "contracts" / "energy_market.vy"


def _worker(data_dir: Path, bytecode_file: Path, count: int) -> None:
    from eth._utils.address import generate_contract_address
    from eth_account import Account
    from eth_typing import Address
    from eth_utils.address import to_checksum_address
    from eth_utils.crypto import keccak

    from gridshare.chain.embedded import open_embedded_chain

    operator = Account.from_key(OPERATOR_KEY)
    resident = Account.from_key(RESIDENT_KEY)
    alloc = {bytes.fromhex(a.address[2:]): 10**24 for a in (operator, resident)}
    chain = open_embedded_chain(data_dir, CHAIN_ID, alloc)
    operator_address = Address(bytes.fromhex(operator.address[2:]))
    op_nonce = chain.nonce(operator_address)
    res_nonce = chain.nonce(bytes.fromhex(resident.address[2:]))
    fees = {"maxFeePerGas": 0, "maxPriorityFeePerGas": 0, "chainId": CHAIN_ID, "type": 2}
    market = ""
    print(f"READY {chain.block_number}", flush=True)

    def emit(raw: bytes) -> None:
        tx_hash = chain.send_raw_transaction(raw)
        record = chain.transaction(tx_hash)
        assert record is not None
        print(f"{tx_hash.hex()} {record.block_hash.hex()} {record.block_number}", flush=True)
        nonlocal market
        if record.contract_address:
            market = to_checksum_address(record.contract_address)

    if op_nonce == 0:
        data = bytecode_file.read_text().strip() + (3600).to_bytes(32, "big").hex() * 2
        emit(
            bytes(
                operator.sign_transaction(
                    {"data": data, "gas": 3_500_000, "nonce": 0, **fees}
                ).raw_transaction
            )
        )
        op_nonce = 1
    else:  # deployed by the first run as the operator's transaction with nonce 0
        market = to_checksum_address(generate_contract_address(operator_address, 0))
    set_timing = keccak(text="set_timing(uint256,uint256)")[:4]
    for i in range(count):
        kind = i % 3
        if kind == 0:
            tx = {"to": resident.address, "value": 1 + i, "gas": 21_000, "nonce": op_nonce}
            signer = operator
        elif kind == 1:
            args = (3600 + i).to_bytes(32, "big") + (600).to_bytes(32, "big")
            tx = {
                "to": market,
                "data": "0x" + (set_timing + args).hex(),
                "gas": 100_000,
                "nonce": op_nonce,
            }
            signer = operator
        else:
            tx = {"to": operator.address, "value": 1, "gas": 21_000, "nonce": res_nonce}
            signer = resident
        emit(bytes(signer.sign_transaction({**tx, **fees}).raw_transaction))
        if signer is operator:
            op_nonce += 1
        else:
            res_nonce += 1
    chain.close()
    print("DONE", flush=True)


@dataclass
class Run:
    """One worker's life: the receipt lines it printed, whether it finished, its exit code."""

    lines: list[str]
    done: bool
    returncode: int

    @property
    def killed_mid_stream(self) -> bool:
        return self.returncode == -signal.SIGKILL and not self.done


def _run_and_kill(data_dir: Path, bytecode: Path, after: int, rng: random.Random) -> Run:
    """Start a worker; SIGKILL it once `after` receipts have come back, plus a random fraction
    of the last gap between receipts, so the kill can land anywhere inside a transaction too.
    Every receipt line printed before it died is collected."""
    process = subprocess.Popen(
        [sys.executable, __file__, "--worker", str(data_dir), str(bytecode), str(TXS_PER_RUN)],
        stdout=subprocess.PIPE,
        text=True,
    )
    assert process.stdout is not None
    lines: list[str] = []
    done = sent = False
    last = time.monotonic()
    for line in process.stdout:
        now = time.monotonic()
        if line.startswith("DONE"):
            done = True
        elif not line.startswith("READY"):
            lines.append(line.strip())
        gap, last = now - last, now
        if not sent and len(lines) == after and not done:
            time.sleep(rng.uniform(0, min(gap, 0.05)))
            process.send_signal(signal.SIGKILL)
            sent = True
    process.wait()
    return Run(lines, done, process.returncode)


def _check_restart(data_dir: Path, confirmed: list[str], seed: int) -> None:
    """Every returned receipt is there with its block hash; nonces match the mined history."""
    from gridshare.chain.embedded import open_embedded_chain

    chain = open_embedded_chain(data_dir, CHAIN_ID)
    try:
        for line in confirmed:
            tx_hash, block_hash, number_text = line.split()
            record = chain.transaction(bytes.fromhex(tx_hash))
            assert record is not None, f"lost tx {tx_hash} (seed {seed})"
            assert record.block_hash.hex() == block_hash, f"moved tx {tx_hash} (seed {seed})"
            assert chain.header(int(number_text)).hash.hex() == block_hash
        sent: dict[bytes, int] = {}
        for number in range(1, chain.block_number + 1):
            for record in chain.block_transactions(chain.header(number)):
                sent[record.sender] = sent.get(record.sender, 0) + 1
        for sender, total in sent.items():
            assert chain.nonce(sender) == total, "nonce out of step with mined transactions"
    finally:
        chain.close()


def test_receipts_returned_before_sigkill_survive_and_chain_continues(tmp_path: Path) -> None:
    import vyper
    from eth_account import Account

    from gridshare.chain.embedded import open_embedded_chain

    bytecode = tmp_path / "market.bin"
    bytecode.write_text(
        vyper.compile_code(CONTRACT.read_text(), output_formats=["bytecode"])["bytecode"]
    )
    data_dir = tmp_path / "chain"
    seed = random.randrange(2**32)
    rng = random.Random(seed)
    # Kill i lands after a random number of receipts in the i-th fifth of the stream, so every
    # run covers its start, middle and end, and any point of the 200 transactions can be hit.
    stratum = TXS_PER_RUN // KILLS_WANTED
    kills_at: list[int] = []
    confirmed: list[str] = []
    for _ in range(KILLS_WANTED * 3):  # a kill near the end may come after DONE
        low = stratum * len(kills_at)
        after = rng.randrange(low, low + stratum)
        run = _run_and_kill(data_dir, bytecode, after, rng)
        assert run.returncode in (0, -signal.SIGKILL), f"worker failed (seed {seed})"
        confirmed += run.lines
        if run.killed_mid_stream:
            kills_at.append(after)
        _check_restart(data_dir, confirmed, seed)
        if len(kills_at) == KILLS_WANTED:
            break
    assert len(kills_at) == KILLS_WANTED, f"only killed mid-stream after {kills_at} (seed {seed})"
    assert len(confirmed) >= sum(kills_at), "receipts printed before a kill went missing"

    chain = open_embedded_chain(data_dir, CHAIN_ID)
    operator = Account.from_key(OPERATOR_KEY)
    nonce = chain.nonce(bytes.fromhex(operator.address[2:]))
    raw = operator.sign_transaction(
        {
            "to": operator.address,
            "value": 0,
            "gas": 21_000,
            "nonce": nonce,
            "gasPrice": 0,
            "chainId": CHAIN_ID,
        }
    )
    head = chain.block_number
    chain.send_raw_transaction(bytes(raw.raw_transaction))
    assert chain.block_number == head + 1
    chain.close()


if __name__ == "__main__" and sys.argv[1:2] == ["--worker"]:
    _worker(Path(sys.argv[2]), Path(sys.argv[3]), int(sys.argv[4]))
