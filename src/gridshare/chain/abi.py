"""ABI encoding prepared once per contract function, and event signatures."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, cast

from eth_abi.abi import decode as abi_decode
from eth_abi.abi import encode as abi_encode
from eth_utils.crypto import keccak
from web3 import Web3


@dataclass(frozen=True)
class AbiFunction:
    """One contract function's ABI encoding, prepared once (web3 re-parses it per call)."""

    selector: bytes
    inputs: tuple[str, ...]
    outputs: tuple[str, ...]

    @classmethod
    def from_abi(cls, item: dict[str, Any]) -> AbiFunction:
        inputs = tuple(_abi_type(i) for i in item["inputs"])
        outputs = tuple(_abi_type(o) for o in item["outputs"])
        selector = keccak(text=f"{item['name']}({','.join(inputs)})")[:4]
        return cls(selector, inputs, outputs)

    def encode(self, args: Sequence[Any]) -> bytes:
        """Calldata for a call with `args`."""
        return self.selector + abi_encode(self.inputs, args)

    def decode(self, data: bytes) -> tuple[Any, ...]:
        """The return values, addresses checksummed, a struct flattened to its fields."""
        values = abi_decode(self.outputs, data)
        if len(self.outputs) == 1 and self.outputs[0].startswith("("):
            values = values[0]  # a struct getter returns one tuple
        return tuple(_checksummed(v) for v in values)


def _checksummed(value: Any) -> Any:
    """eth_abi returns addresses in lower case; the domain uses checksummed ones."""
    if isinstance(value, str) and len(value) == 42 and value.startswith("0x"):
        return Web3.to_checksum_address(value)
    return value


def as_bytes(data: str | bytes) -> bytes:
    """Hex text or bytes, as bytes."""
    return data if isinstance(data, bytes) else bytes.fromhex(data.removeprefix("0x"))


def event_signature(item: dict[str, Any]) -> str:
    """The signature an event topic0 hashes, e.g. `Deposited(address,address,uint256)`."""
    types = ",".join(_abi_type(i) for i in item["inputs"])
    return f"{item['name']}({types})"


def _abi_type(item: dict[str, Any]) -> str:
    if item["type"].startswith("tuple"):
        inner = ",".join(_abi_type(c) for c in cast(list[dict[str, Any]], item["components"]))
        return f"({inner}){item['type'][5:]}"
    return cast(str, item["type"])
