"""Decode EnergyMarket calldata and logs from its ABI: pure functions over bytes."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

from eth_abi.abi import decode as abi_decode
from eth_utils.crypto import keccak

from gridshare.chain.abi import AbiEvent, abi_type
from gridshare.explorer.records import Args, Call, Event, LogEntry


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
        self._events: dict[str, tuple[AbiEvent, Mapping[str, Any]]] = {}
        for item in abi:
            if item.get("type") == "function":
                types = ",".join(abi_type(i) for i in item.get("inputs", ()))
                selector = "0x" + keccak(text=f"{item['name']}({types})")[:4].hex()
                self._functions[selector] = item
            elif item.get("type") == "event":
                event = AbiEvent.from_abi(item)
                self._events["0x" + event.topic.hex()] = (event, item)

    def decode_call(self, data: str) -> Call | None:
        """The function and arguments in `data`, or None if it is not one of ours."""
        item = self._functions.get(data[:10].lower())
        if item is None:
            return None
        inputs = list(item["inputs"])
        try:
            values = abi_decode([abi_type(i) for i in inputs], bytes.fromhex(data[10:]))
        except Exception:  # malformed calldata is shown raw, never a crash
            return None
        args = {i["name"]: _plain(v, i) for i, v in zip(inputs, values, strict=True)}
        return Call(str(item["name"]), args)

    def decode_log(self, log: LogEntry) -> tuple[str, Args] | None:
        """The event name and arguments of `log`, or None if it is not one of ours."""
        if not log.topics:
            return None
        found = self._events.get(log.topics[0].lower())
        if found is None:
            return None
        event, item = found
        try:
            topics = [bytes.fromhex(topic[2:]) for topic in log.topics]
            values = event.decode(topics, bytes.fromhex(log.data[2:]))
        except Exception:  # a malformed log is shown raw, never a crash
            return None
        inputs = {i["name"]: i for i in item["inputs"]}
        return event.name, {name: _plain(value, inputs[name]) for name, value in values.items()}

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
