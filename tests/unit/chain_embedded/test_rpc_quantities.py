"""RpcDispatcher: a quantity past 2**256 - 1 is invalid params naming it, not an internal error."""

from __future__ import annotations

from typing import Any

import pytest
from eth_account.signers.local import LocalAccount

from gridshare.chain.embedded import RpcDispatcher

TOO_BIG = (hex(2**256), hex(2**300), 2**300)


def error_of(rpc: RpcDispatcher, method: str, *params: Any) -> dict[str, Any]:
    response = rpc.handle({"jsonrpc": "2.0", "id": 7, "method": method, "params": list(params)})
    assert isinstance(response, dict) and "result" not in response, response
    error: dict[str, Any] = response["error"]
    return error


@pytest.mark.parametrize("big", TOO_BIG)
def test_a_storage_slot_past_uint256_is_invalid_params(
    rpc: RpcDispatcher, operator: LocalAccount, big: Any
) -> None:
    error = error_of(rpc, "eth_getStorageAt", operator.address, big, "latest")
    assert error == {
        "code": -32602,
        "message": "invalid position: expected a 0x-prefixed hex quantity of at most"
        " 2**256 - 1 (64 hex digits)",
    }


@pytest.mark.parametrize("method", ["eth_call", "eth_estimateGas"])
@pytest.mark.parametrize("field", ["value", "gas"])
def test_a_call_value_or_gas_past_uint256_is_invalid_params(
    rpc: RpcDispatcher, operator: LocalAccount, method: str, field: str
) -> None:
    call = {"from": operator.address, "to": operator.address, field: hex(2**256)}
    error = error_of(rpc, method, call, "latest")
    assert error["code"] == -32602
    assert error["message"].startswith(f"invalid transaction.{field}: ")


def test_the_largest_slot_is_read(rpc: RpcDispatcher, operator: LocalAccount) -> None:
    response = rpc.handle({"jsonrpc": "2.0", "id": 1, "method": "eth_getStorageAt",
                           "params": [operator.address, hex(2**256 - 1), "latest"]})  # fmt: skip
    assert isinstance(response, dict) and response["result"] == "0x" + "00" * 32
