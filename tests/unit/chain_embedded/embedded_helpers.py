"""Shared helpers of the embedded chain tests: keys, signed transactions, a fake clock."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

from eth_account.signers.local import LocalAccount

CHAIN_ID = 1337
GENESIS_TIME = 1_700_000_000
TREASURY_WEI = 10**24
CONTRACT = Path(__file__).resolve().parents[3] / "contracts" / "energy_market.vy"


@dataclass(frozen=True)
class Compiled:
    abi: list[dict[str, Any]]
    bytecode: str


class FakeClock:
    """A settable time source for block timestamps."""

    def __init__(self, now: float = GENESIS_TIME) -> None:
        self.now = now

    def __call__(self) -> float:
        return self.now


def addr(checksum: str) -> bytes:
    """20-byte address from a 0x string."""
    return bytes.fromhex(checksum[2:])


def transfer(
    account: LocalAccount, nonce: int, to: str, value: int = 1, tx_type: int = 2, **extra: Any
) -> bytes:
    """A signed value transfer with zero fees."""
    fields: dict[str, Any] = {"to": to, "value": value, "gas": 21_000, "nonce": nonce,
                              "chainId": CHAIN_ID}
    if tx_type == 2:
        fields.update(maxFeePerGas=0, maxPriorityFeePerGas=0, type=2)
    elif tx_type == 1:
        fields.update(gasPrice=0, accessList=[], type=1)
    else:
        fields.update(gasPrice=0)
    fields.update(extra)
    return bytes(account.sign_transaction(fields).raw_transaction)


def deploy_raw(compiled: Compiled, account: LocalAccount, nonce: int) -> bytes:
    """A signed deployment of EnergyMarket(delivery_window=3600, settle_grace=600)."""
    args = (3600).to_bytes(32, "big") + (600).to_bytes(32, "big")
    fields = {"data": compiled.bytecode + args.hex(), "gas": 3_500_000, "nonce": nonce,
              "chainId": CHAIN_ID, "maxFeePerGas": 0, "maxPriorityFeePerGas": 0, "type": 2}
    return bytes(account.sign_transaction(fields).raw_transaction)  # type: ignore[arg-type]


def call_raw(account: LocalAccount, nonce: int, to: str, data: bytes, value: int = 0,
             gas: int = 300_000) -> bytes:
    """A signed contract call with zero fees."""
    fields = {"to": to, "data": "0x" + data.hex(), "value": value, "gas": gas, "nonce": nonce,
              "chainId": CHAIN_ID, "maxFeePerGas": 0, "maxPriorityFeePerGas": 0, "type": 2}
    return bytes(account.sign_transaction(fields).raw_transaction)  # type: ignore[arg-type]


def encode_call(signature: str, *args: Any) -> bytes:
    """ABI calldata for `name(type,...)` with the given arguments."""
    from eth_abi.abi import encode
    from eth_utils.crypto import keccak

    inner = signature[signature.index("(") + 1 : -1]
    types = [t for t in inner.split(",") if t]
    return keccak(text=signature)[:4] + encode(types, list(args))


def topic(signature: str) -> bytes:
    """Event topic0 of `Name(type,...)`."""
    from eth_utils.crypto import keccak

    return keccak(text=signature)
