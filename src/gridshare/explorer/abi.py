"""Decode EnergyMarket calldata and logs from its ABI: pure functions over bytes."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

from eth_abi.abi import decode as abi_decode
from eth_utils.crypto import keccak

from gridshare.explorer.records import Args, Call, Event, LogEntry


def _abi_type(item: Mapping[str, Any]) -> str:
    kind = str(item["type"])
    if kind.startswith("tuple"):
        inner = ",".join(_abi_type(c) for c in item["components"])
        return f"({inner}){kind[5:]}"
    return kind


def _plain(value: Any, item: Mapping[str, Any]) -> Any:
    """ABI values as JSON-friendly Python: tuples of structs become dicts, bytes hex."""
    kind = str(item["type"])
    if kind.startswith("tuple"):
        components = list(item["components"])
        if kind.endswith("[]"):
            return [_plain(v, {**item, "type": kind[:-2]}) for v in value]
        return {c["name"]: _plain(v, c) for c, v in zip(components, value, strict=True)}
    if kind.endswith("[]"):
        return [_plain(v, {**item, "type": kind[:-2]}) for v in value]
    if isinstance(value, bytes):
        return "0x" + value.hex()
    if isinstance(value, str) and value.startswith("0x"):
        return value.lower()
    return value


class MarketAbi:
    """Selectors and topics of one contract ABI, prepared once."""

    def __init__(self, abi: Iterable[Mapping[str, Any]]) -> None:
        self._functions: dict[str, Mapping[str, Any]] = {}
        self._events: dict[str, Mapping[str, Any]] = {}
        for item in abi:
            types = ",".join(_abi_type(i) for i in item.get("inputs", ()))
            if item.get("type") == "function":
                selector = "0x" + keccak(text=f"{item['name']}({types})")[:4].hex()
                self._functions[selector] = item
            elif item.get("type") == "event":
                topic = "0x" + keccak(text=f"{item['name']}({types})").hex()
                self._events[topic] = item

    def decode_call(self, data: str) -> Call | None:
        """The function and arguments in `data`, or None if it is not one of ours."""
        item = self._functions.get(data[:10].lower())
        if item is None:
            return None
        inputs = list(item["inputs"])
        try:
            values = abi_decode([_abi_type(i) for i in inputs], bytes.fromhex(data[10:]))
        except Exception:  # malformed calldata is shown raw, never a crash
            return None
        args = {i["name"]: _plain(v, i) for i, v in zip(inputs, values, strict=True)}
        return Call(str(item["name"]), args)

    def decode_log(self, log: LogEntry) -> tuple[str, Args] | None:
        """The event name and arguments of `log`, or None if it is not one of ours."""
        if not log.topics:
            return None
        item = self._events.get(log.topics[0].lower())
        if item is None:
            return None
        indexed = [i for i in item["inputs"] if i.get("indexed")]
        plain = [i for i in item["inputs"] if not i.get("indexed")]
        if len(log.topics) != len(indexed) + 1:
            return None
        args: Args = {}
        try:
            for inp, topic in zip(indexed, log.topics[1:], strict=True):
                (value,) = abi_decode([_abi_type(inp)], bytes.fromhex(topic[2:]))
                args[inp["name"]] = _plain(value, inp)
            values = abi_decode([_abi_type(i) for i in plain], bytes.fromhex(log.data[2:]))
        except Exception:
            return None
        for inp, value in zip(plain, values, strict=True):
            args[inp["name"]] = _plain(value, inp)
        ordered = {i["name"]: args[i["name"]] for i in item["inputs"]}
        return str(item["name"]), ordered

    def events_of(
        self, logs: Iterable[LogEntry], contract: str, *, block_number: int, tx_hash: str,
        timestamp: int,
    ) -> list[Event]:
        """The decoded events that `contract` emitted among `logs`."""
        found = []
        for log in logs:
            if log.address.lower() != contract.lower():
                continue
            decoded = self.decode_log(log)
            if decoded is not None:
                found.append(
                    Event(decoded[0], decoded[1], block_number, log.log_index, tx_hash, timestamp)
                )
        return found
