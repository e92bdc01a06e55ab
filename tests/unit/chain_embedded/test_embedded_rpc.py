"""RpcDispatcher: encodings wallets expect, errors, batches, logs, fees, test helpers."""

from __future__ import annotations

import json
import re
from typing import Any

import pytest
from eth_account.signers.local import LocalAccount
from eth_utils.address import to_checksum_address

from gridshare.chain.embedded import EmbeddedChain, RpcDispatcher
from tests.unit.chain_embedded.embedded_helpers import (
    CHAIN_ID,
    GENESIS_TIME,
    Compiled,
    call_raw,
    deploy_raw,
    encode_call,
    topic,
    transfer,
)

QUANTITY = re.compile(r"^0x(0|[1-9a-f][0-9a-f]*)$")
REGISTERED = "0x" + topic("HouseholdRegistered(address,uint32,uint32)").hex()


def ask(rpc: RpcDispatcher, method: str, *params: Any) -> Any:
    response = rpc.handle({"jsonrpc": "2.0", "id": 1, "method": method, "params": list(params)})
    assert isinstance(response, dict) and response["id"] == 1
    assert "error" not in response, response
    return response["result"]


def error_of(rpc: RpcDispatcher, method: str, *params: Any) -> dict[str, Any]:
    response = rpc.handle({"jsonrpc": "2.0", "id": 7, "method": method, "params": list(params)})
    assert isinstance(response, dict) and "result" not in response, response
    error: dict[str, Any] = response["error"]
    return error


def send(rpc: RpcDispatcher, raw: bytes) -> str:
    tx_hash: str = ask(rpc, "eth_sendRawTransaction", "0x" + raw.hex())
    return tx_hash


@pytest.fixture
def market(rpc: RpcDispatcher, compiled: Compiled, operator: LocalAccount,
           residents: list[LocalAccount]) -> str:
    receipt = ask(rpc, "eth_getTransactionReceipt", send(rpc, deploy_raw(compiled, operator, 0)))
    address = to_checksum_address(receipt["contractAddress"])
    for n, resident in enumerate(residents[:2]):
        data = encode_call("register_household(address,uint32,uint32)", resident.address, n + 1, 9)
        send(rpc, call_raw(operator, n + 1, address, data))
    return address


def test_identity_and_fee_methods(rpc: RpcDispatcher) -> None:
    assert ask(rpc, "eth_chainId") == hex(CHAIN_ID)
    assert ask(rpc, "net_version") == str(CHAIN_ID)
    assert ask(rpc, "web3_clientVersion").startswith("gridshare-embedded/")
    assert ask(rpc, "eth_blockNumber") == "0x0"
    assert ask(rpc, "eth_gasPrice") == "0x0"
    assert ask(rpc, "eth_maxPriorityFeePerGas") == "0x0"
    assert ask(rpc, "eth_syncing") is False
    assert ask(rpc, "eth_accounts") == []


def test_block_encoding(rpc: RpcDispatcher, operator: LocalAccount) -> None:
    tx_hash = send(rpc, transfer(operator, 0, operator.address))
    block = ask(rpc, "eth_getBlockByNumber", "latest", False)
    assert block["transactions"] == [tx_hash]
    assert len(block["logsBloom"]) == 2 + 512
    assert len(block["hash"]) == 66 and len(block["nonce"]) == 18
    for field in ("number", "gasLimit", "gasUsed", "timestamp", "baseFeePerGas", "size",
                  "difficulty"):
        assert QUANTITY.match(block[field]), (field, block[field])
    assert block["baseFeePerGas"] == "0x0" and block["number"] == "0x1"
    full = ask(rpc, "eth_getBlockByHash", block["hash"], True)
    assert full["transactions"][0]["hash"] == tx_hash
    assert ask(rpc, "eth_getBlockByNumber", "0x0", False)["timestamp"] == hex(GENESIS_TIME)
    assert ask(rpc, "eth_getBlockByNumber", "0x9", False) is None
    assert ask(rpc, "eth_getBlockByHash", "0x" + "ab" * 32, False) is None
    assert ask(rpc, "eth_getBlockTransactionCountByNumber", "0x1") == "0x1"


@pytest.mark.parametrize("tx_type", [0, 1, 2])
def test_transaction_and_receipt_encoding(
    rpc: RpcDispatcher, operator: LocalAccount, residents: list[LocalAccount], tx_type: int
) -> None:
    to = residents[0].address
    tx_hash = send(rpc, transfer(operator, 0, to, 256, tx_type))
    tx = ask(rpc, "eth_getTransactionByHash", tx_hash)
    assert tx["type"] == hex(tx_type) and tx["hash"] == tx_hash
    assert tx["from"] == operator.address.lower() and tx["to"] == to.lower()
    assert tx["value"] == "0x100" and tx["nonce"] == "0x0" and tx["gasPrice"] == "0x0"
    assert tx["blockNumber"] == "0x1" and tx["transactionIndex"] == "0x0"
    if tx_type == 0:
        assert int(tx["v"], 16) in (CHAIN_ID * 2 + 35, CHAIN_ID * 2 + 36)
    else:
        assert tx["chainId"] == hex(CHAIN_ID) and tx["accessList"] == []
        assert tx["yParity"] in ("0x0", "0x1") and tx["v"] == tx["yParity"]
    if tx_type == 2:
        assert tx["maxFeePerGas"] == "0x0" and tx["maxPriorityFeePerGas"] == "0x0"
    receipt = ask(rpc, "eth_getTransactionReceipt", tx_hash)
    assert receipt["status"] == "0x1" and receipt["type"] == hex(tx_type)
    assert receipt["gasUsed"] == hex(21_000) == receipt["cumulativeGasUsed"]
    assert receipt["effectiveGasPrice"] == "0x0" and receipt["contractAddress"] is None
    assert len(receipt["logsBloom"]) == 514 and receipt["logs"] == []
    assert ask(rpc, "eth_getTransactionByHash", "0x" + "00" * 32) is None
    assert ask(rpc, "eth_getTransactionReceipt", "0x" + "00" * 32) is None


def test_access_list_is_encoded(rpc: RpcDispatcher, operator: LocalAccount) -> None:
    entry = {"address": "0x" + "33" * 20, "storageKeys": ["0x" + "00" * 31 + "05"]}
    raw = transfer(operator, 0, operator.address, tx_type=1, accessList=[entry], gas=30_000)
    tx = ask(rpc, "eth_getTransactionByHash", send(rpc, raw))
    assert tx["accessList"] == [entry]


def test_state_reads(rpc: RpcDispatcher, market: str, operator: LocalAccount) -> None:
    assert ask(rpc, "eth_getTransactionCount", operator.address, "latest") == "0x3"
    assert ask(rpc, "eth_getTransactionCount", operator.address, "0x1") == "0x1"
    assert len(ask(rpc, "eth_getCode", market, "latest")) > 1000
    assert ask(rpc, "eth_getCode", operator.address, "latest") == "0x"
    slot = ask(rpc, "eth_getStorageAt", market, "0x1", "latest")  # operator
    assert slot == "0x" + operator.address.lower()[2:].rjust(64, "0")
    assert ask(rpc, "eth_getBalance", operator.address, {"blockNumber": "0x0"}) == hex(10**24)


def test_pending_nonce_counts_unmined_transactions(
    rpc: RpcDispatcher, chain: EmbeddedChain, operator: LocalAccount
) -> None:
    ask(rpc, "evm_setAutomine", False)
    send(rpc, transfer(operator, 0, operator.address))
    tx_hash = send(rpc, transfer(operator, 1, operator.address))
    assert ask(rpc, "eth_getTransactionCount", operator.address, "pending") == "0x2"
    assert ask(rpc, "eth_getTransactionCount", operator.address, "latest") == "0x0"
    assert ask(rpc, "eth_getTransactionByHash", tx_hash)["blockNumber"] is None
    assert ask(rpc, "eth_getTransactionReceipt", tx_hash) is None
    ask(rpc, "evm_mine")
    assert ask(rpc, "eth_getTransactionReceipt", tx_hash)["blockNumber"] == "0x1"


def test_call_and_revert_data(rpc: RpcDispatcher, market: str, residents: list[LocalAccount],
                              operator: LocalAccount) -> None:
    result = ask(rpc, "eth_call", {"to": market, "data": "0x" + encode_call("operator()").hex()})
    assert result == "0x" + operator.address.lower()[2:].rjust(64, "0")
    call = {"from": residents[0].address, "to": market,
            "input": "0x" + encode_call("set_timing(uint256,uint256)", 1, 1).hex()}
    for method in ("eth_call", "eth_estimateGas"):
        error = error_of(rpc, method, call, "latest")
        assert error["code"] == 3 and error["message"] == "execution reverted: not operator"
        assert error["data"].startswith("0x08c379a0")
    estimate = ask(rpc, "eth_estimateGas", {**call, "from": operator.address})
    assert 21_000 < int(estimate, 16) < 100_000


def test_reverted_transaction_is_mined_with_status_zero(
    rpc: RpcDispatcher, market: str, residents: list[LocalAccount]
) -> None:
    data = encode_call("set_timing(uint256,uint256)", 1, 1)
    tx_hash = send(rpc, call_raw(residents[0], 0, market, data))
    assert ask(rpc, "eth_getTransactionReceipt", tx_hash)["status"] == "0x0"


def test_get_logs_filters(rpc: RpcDispatcher, market: str, residents: list[LocalAccount]) -> None:
    logs = ask(rpc, "eth_getLogs", {"fromBlock": "0x0", "address": market,
                                    "topics": [REGISTERED]})
    assert [log["blockNumber"] for log in logs] == ["0x2", "0x3"]
    assert logs[0]["logIndex"] == "0x0" and logs[0]["removed"] is False
    first = "0x" + residents[0].address.lower()[2:].rjust(64, "0")
    second = "0x" + residents[1].address.lower()[2:].rjust(64, "0")
    either = ask(rpc, "eth_getLogs", {"fromBlock": "earliest", "topics": [None, [first, second]]})
    assert len(either) == 2
    only = ask(rpc, "eth_getLogs", {"fromBlock": "0x0", "address": [market, "0x" + "99" * 20],
                                    "topics": [REGISTERED, second]})
    assert len(only) == 1 and only[0]["topics"][1] == second
    assert ask(rpc, "eth_getLogs", {"fromBlock": "0x0", "address": "0x" + "99" * 20}) == []
    by_hash = ask(rpc, "eth_getLogs", {"blockHash": logs[1]["blockHash"]})
    assert len(by_hash) == 1  # only register_household's event in that block
    assert ask(rpc, "eth_getLogs", {})[0]["blockNumber"] == "0x3"  # latest by default
    receipt = ask(rpc, "eth_getTransactionReceipt", logs[0]["transactionHash"])
    assert receipt["logs"] == [logs[0]]


def test_fee_history_fills_rewards(rpc: RpcDispatcher, operator: LocalAccount) -> None:
    send(rpc, transfer(operator, 0, operator.address, maxPriorityFeePerGas=0))
    history = ask(rpc, "eth_feeHistory", "0x2", "latest", [25, 75])
    assert history["oldestBlock"] == "0x0" and history["baseFeePerGas"] == ["0x0"] * 3
    assert history["reward"] == [["0x0", "0x0"], ["0x0", "0x0"]]
    assert len(history["gasUsedRatio"]) == 2


def test_batch_and_notifications(rpc: RpcDispatcher) -> None:
    responses = rpc.handle([
        {"jsonrpc": "2.0", "id": 1, "method": "eth_chainId", "params": []},
        {"jsonrpc": "2.0", "method": "eth_blockNumber", "params": []},  # notification
        {"jsonrpc": "2.0", "id": "b", "method": "nope", "params": []},
        42,
    ])
    assert isinstance(responses, list) and len(responses) == 3
    assert responses[0] == {"jsonrpc": "2.0", "id": 1, "result": hex(CHAIN_ID)}
    assert responses[1]["id"] == "b" and responses[1]["error"]["code"] == -32601
    assert responses[2]["error"]["code"] == -32600
    assert rpc.handle({"jsonrpc": "2.0", "method": "eth_chainId"}) is None
    assert rpc.handle([])["error"]["code"] == -32600  # type: ignore[call-overload,index]


def test_json_text_entry_point(rpc: RpcDispatcher) -> None:
    answer = rpc.handle_text('{"jsonrpc":"2.0","id":3,"method":"eth_chainId","params":[]}')
    assert answer is not None and json.loads(answer)["result"] == hex(CHAIN_ID)
    broken = rpc.handle_text("{not json")
    assert broken is not None and json.loads(broken)["error"]["code"] == -32700


def test_errors_for_unknown_unsupported_and_malformed(rpc: RpcDispatcher,
                                                       operator: LocalAccount) -> None:
    assert error_of(rpc, "eth_foo")["code"] == -32601
    refused = error_of(rpc, "eth_sendTransaction", {"from": operator.address})
    assert "eth_sendRawTransaction" in refused["message"]
    assert error_of(rpc, "eth_getBalance", "0x1234", "latest")["code"] == -32602
    assert "address" in error_of(rpc, "eth_getBalance")["message"]
    assert error_of(rpc, "eth_getBalance", operator.address, "0x99")["code"] == -32000
    assert error_of(rpc, "eth_sendRawTransaction", "0xzz")["code"] == -32602
    bad_nonce = error_of(rpc, "eth_sendRawTransaction",
                         "0x" + transfer(operator, 5, operator.address).hex())
    assert bad_nonce["code"] == -32000 and "nonce" in bad_nonce["message"].lower()
    assert rpc.handle({"id": 1, "method": "eth_chainId"})["error"]["code"] == -32600  # type: ignore[index,call-overload]
    assert rpc.handle({"jsonrpc": "2.0", "id": 1, "method": "eth_chainId", "params": 5})[
        "error"]["code"] == -32602  # type: ignore[index,call-overload]


@pytest.mark.parametrize("garbage", [None, 1, "x", "0x", [], {}, [1, 2], {"a": []}, -1, True])
def test_no_exception_escapes_for_any_parameter(rpc: RpcDispatcher, garbage: Any) -> None:
    for method in rpc.methods:
        response = rpc.handle(
            {"jsonrpc": "2.0", "id": 1, "method": method, "params": [garbage, garbage, garbage]}
        )
        assert isinstance(response, dict) and ("result" in response or "error" in response)


def test_evm_helpers(rpc: RpcDispatcher, operator: LocalAccount) -> None:
    ask(rpc, "evm_setNextBlockTimestamp", hex(GENESIS_TIME + 1000))
    ask(rpc, "evm_mine")
    latest = ask(rpc, "eth_getBlockByNumber", "latest", False)
    assert latest["timestamp"] == hex(GENESIS_TIME + 1000)
    ask(rpc, "evm_mine", hex(GENESIS_TIME + 2000))
    assert ask(rpc, "eth_blockNumber") == "0x2"
    assert ask(rpc, "evm_increaseTime", 10) == 10
    snapshot = ask(rpc, "evm_snapshot")
    send(rpc, transfer(operator, 0, operator.address))
    assert ask(rpc, "evm_revert", snapshot) is True
    assert ask(rpc, "eth_blockNumber") == "0x2"
    assert ask(rpc, "eth_getTransactionCount", operator.address, "latest") == "0x0"
    assert error_of(rpc, "evm_setNextBlockTimestamp", hex(GENESIS_TIME))["code"] == -32000
