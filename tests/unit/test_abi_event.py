"""AbiEvent decodes every EnergyMarket event's log exactly as web3's `process_log` does.

The logs are built with eth_abi from drawn values (indexed arguments as topics, the rest as
data), so the check covers each event of the contract with values at their type's bounds.
"""

from __future__ import annotations

from typing import Any

import pytest
from eth_abi.abi import encode as abi_encode
from hexbytes import HexBytes
from hypothesis import given, settings
from hypothesis import strategies as st
from web3 import Web3

from gridshare.chain import compile_contract
from gridshare.chain.abi import AbiEvent, abi_type

ABI = list(compile_contract().abi)
EVENTS = [item for item in ABI if item["type"] == "event"]
CONTRACT = Web3().eth.contract(address="0x" + "11" * 20, abi=ABI)


def _values(kind: str) -> st.SearchStrategy[Any]:
    if kind == "address":
        return st.binary(min_size=20, max_size=20).map(lambda b: "0x" + b.hex())
    if kind == "bool":
        return st.booleans()
    bits = int(kind.removeprefix("uint"))
    return st.integers(min_value=0, max_value=2**bits - 1)


def _log(item: dict[str, Any], values: dict[str, Any]) -> dict[str, Any]:
    event = AbiEvent.from_abi(item)
    indexed = [i for i in item["inputs"] if i["indexed"]]
    plain = [i for i in item["inputs"] if not i["indexed"]]
    topics = [event.topic] + [abi_encode([abi_type(i)], [values[i["name"]]]) for i in indexed]
    data = abi_encode([abi_type(i) for i in plain], [values[i["name"]] for i in plain])
    return {
        "address": CONTRACT.address, "topics": [HexBytes(t) for t in topics],
        "data": HexBytes(data), "logIndex": 0, "transactionIndex": 0,
        "transactionHash": HexBytes(b"\x01" * 32), "blockHash": HexBytes(b"\x02" * 32),
        "blockNumber": 1,
    }  # fmt: skip


@pytest.mark.parametrize("item", EVENTS, ids=[e["name"] for e in EVENTS])
@settings(max_examples=40, deadline=None)
@given(data=st.data())
def test_decodes_as_web3_does(item: dict[str, Any], data: st.DataObject) -> None:
    values = {
        i["name"]: data.draw(_values(abi_type(i)), label=i["name"]) for i in item["inputs"]
    }
    log = _log(item, values)
    ours = AbiEvent.from_abi(item).decode(log["topics"], log["data"])
    theirs = CONTRACT.events[item["name"]]().process_log(log)["args"]
    assert list(ours) == [i["name"] for i in item["inputs"]]  # declaration order
    assert {k: Web3.to_checksum_address(v) if isinstance(v, str) else v
            for k, v in ours.items()} == dict(theirs)  # fmt: skip


def test_a_log_of_another_shape_is_refused() -> None:
    item = next(e for e in EVENTS if e["name"] == "DeliverySettled")
    log = _log(item, {"delivery_id": 7, "buyer": "0x" + "22" * 20, "seller": "0x" + "33" * 20,
                      "delivered_wh": 5, "paid": 25, "refunded": 0})  # fmt: skip
    event = AbiEvent.from_abi(item)
    with pytest.raises(ValueError, match="not a DeliverySettled log"):
        event.decode(log["topics"][:3], log["data"])
    other = next(e for e in EVENTS if e["name"] == "DeliveryExpired")
    with pytest.raises(ValueError, match="not a DeliveryExpired log"):
        AbiEvent.from_abi(other).decode(log["topics"][:4], log["data"])


def test_an_indexed_string_cannot_be_decoded_and_says_so() -> None:
    item = {"type": "event", "name": "Named", "anonymous": False,
            "inputs": [{"name": "label", "type": "string", "indexed": True}]}  # fmt: skip
    with pytest.raises(ValueError, match="indexed label"):
        AbiEvent.from_abi(item)
