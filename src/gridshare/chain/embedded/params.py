"""Parsing JSON-RPC parameters; every bad value raises RpcError naming the parameter."""

from __future__ import annotations

import re
from typing import Any

from gridshare.chain.embedded.chain import BlockRef
from gridshare.chain.embedded.execution import CallRequest

INVALID_REQUEST = -32600
METHOD_NOT_FOUND = -32601
INVALID_PARAMS = -32602
INTERNAL_ERROR = -32603
PARSE_ERROR = -32700
SERVER_ERROR = -32000
LIMIT_EXCEEDED = -32005
EXECUTION_REVERTED = 3

_QUANTITY = re.compile(r"0[xX][0-9a-fA-F]+")  # int(_, 16) alone also takes "0x_1" and "0x1 "
_TAGS = ("latest", "earliest", "pending", "safe", "finalized")


class RpcError(Exception):
    """A JSON-RPC error response: code, message and optional data."""

    def __init__(self, code: int, message: str, data: Any = None) -> None:
        super().__init__(message)
        self.code = code
        self.message = message
        self.data = data

    def as_json(self) -> dict[str, Any]:
        """The `error` member of a response."""
        error: dict[str, Any] = {"code": self.code, "message": self.message}
        if self.data is not None:
            error["data"] = self.data
        return error


def invalid(name: str, rule: str) -> RpcError:
    """An invalid-params error naming the parameter and the rule it broke."""
    return RpcError(INVALID_PARAMS, f"invalid {name}: {rule}")


def arg(params: list[Any], position: int, name: str, default: Any = ...) -> Any:
    """Positional parameter, or `default` when absent (required if no default)."""
    if position < len(params) and params[position] is not None:
        return params[position]
    if default is ...:
        raise invalid(name, "required")
    return default


def parse_quantity(value: Any, name: str) -> int:
    """A hex quantity ("0x1a"); plain non-negative integers are accepted too."""
    if isinstance(value, int) and not isinstance(value, bool) and value >= 0:
        return value
    if not isinstance(value, str) or not _QUANTITY.fullmatch(value):
        raise invalid(name, "expected a 0x-prefixed hex quantity")
    return int(value, 16)


def parse_flag(value: Any, name: str) -> bool:
    """A JSON true or false."""
    if not isinstance(value, bool):
        raise invalid(name, "expected true or false")
    return value


MAX_WORD = 2**256 - 1  # the largest number the EVM holds (a storage slot, a value, gas)
WORD_RULE = "expected a 0x-prefixed hex quantity of at most 2**256 - 1 (64 hex digits)"


def parse_word(value: Any, name: str) -> int:
    """A quantity the EVM can hold (a slot, a value, gas); a larger one is invalid params."""
    number = parse_quantity(value, name)
    if number > MAX_WORD:
        raise invalid(name, WORD_RULE)
    return number


def parse_data(value: Any, name: str, length: int | None = None) -> bytes:
    """0x-prefixed hex bytes, optionally of an exact length."""
    if not isinstance(value, str) or not value.startswith(("0x", "0X")):
        raise invalid(name, "expected 0x-prefixed hex data")
    try:
        result = bytes.fromhex(value[2:])
    except ValueError:
        raise invalid(name, "expected 0x-prefixed hex data of whole bytes") from None
    if length is not None and len(result) != length:
        raise invalid(name, f"expected {length} bytes, got {len(result)}")
    return result


def parse_address(value: Any, name: str) -> bytes:
    """A 20-byte address (any letter case)."""
    return parse_data(value, name, 20)


def parse_hash(value: Any, name: str) -> bytes:
    """A 32-byte hash."""
    return parse_data(value, name, 32)


def parse_block_ref(value: Any, name: str = "block") -> BlockRef:
    """A tag, a hex block number, or an EIP-1898 {blockHash} / {blockNumber} object."""
    if value is None:
        return "latest"
    if isinstance(value, str) and value in _TAGS:
        return value  # type: ignore[return-value]
    if isinstance(value, dict):
        if "blockHash" in value:
            return parse_hash(value["blockHash"], f"{name}.blockHash")
        if "blockNumber" in value:
            return parse_block_ref(value["blockNumber"], f"{name}.blockNumber")
        raise invalid(name, "object needs blockHash or blockNumber")
    return parse_quantity(value, name)


def parse_call(value: Any, name: str = "transaction") -> CallRequest:
    """An eth_call / eth_estimateGas transaction object (fee fields are ignored)."""
    if not isinstance(value, dict):
        raise invalid(name, "expected a transaction object")
    input_data = value.get("input", value.get("data"))
    to = value.get("to")
    gas = value.get("gas")
    return CallRequest(
        sender=parse_address(value["from"], f"{name}.from") if value.get("from") else b"\0" * 20,
        to=parse_address(to, f"{name}.to") if to else b"",
        data=parse_data(input_data, f"{name}.input") if input_data else b"",
        value=parse_word(value["value"], f"{name}.value") if value.get("value") else 0,
        gas=parse_word(gas, f"{name}.gas") if gas is not None else None,
    )


def parse_topics(value: Any) -> tuple[tuple[bytes, ...] | None, ...]:
    """eth_getLogs topics: per position null (any), a hash, or a list of hashes (OR)."""
    if value is None:
        return ()
    if not isinstance(value, list) or len(value) > 4:
        raise invalid("filter.topics", "expected a list of at most 4 entries")
    topics: list[tuple[bytes, ...] | None] = []
    for position, entry in enumerate(value):
        label = f"filter.topics[{position}]"
        if entry is None:
            topics.append(None)
        elif isinstance(entry, list):
            topics.append(tuple(parse_hash(t, label) for t in entry) if entry else None)
        else:
            topics.append((parse_hash(entry, label),))
    return tuple(topics)


def parse_addresses(value: Any) -> tuple[bytes, ...]:
    """eth_getLogs address: one address or a list (OR)."""
    if value is None:
        return ()
    if isinstance(value, list):
        return tuple(parse_address(a, "filter.address") for a in value)
    return (parse_address(value, "filter.address"),)
