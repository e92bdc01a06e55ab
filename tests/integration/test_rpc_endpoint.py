"""POST /rpc on the embedded chain: wallet methods, batches, refusals, CORS, never a 500."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from eth_account import Account
from fastapi import FastAPI
from fastapi.testclient import TestClient
from pydantic import SecretStr

from gridshare.config import Settings
from gridshare.runtime import Runtime, build_runtime
from gridshare.web.routes.rpc import respond
from gridshare.web.rpc_limits import PUBLIC_GAS_CAP, ExecutionSlot


@pytest.fixture(scope="module")
def runtime(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Runtime]:
    data = tmp_path_factory.mktemp("rpc") / "data"
    built = build_runtime(Settings(data_dir=data, operator_password=SecretStr("test password")))
    yield built
    built.close()


@pytest.fixture(scope="module")
def client(runtime: Runtime) -> Iterator[TestClient]:
    # only the /rpc router: the rest of the app is other modules' business
    from gridshare.web.routes.rpc import router

    app = FastAPI()
    app.state.runtime = runtime
    app.state.rpc_slot = ExecutionSlot()
    app.include_router(router)
    with TestClient(app) as test_client:
        yield test_client


def call(client: TestClient, method: str, params: list[Any] | None = None) -> Any:
    reply = client.post("/rpc", json={"jsonrpc": "2.0", "id": 7, "method": method,
                                      "params": params or []})  # fmt: skip
    assert reply.status_code == 200
    body = reply.json()
    assert body["id"] == 7
    return body


def test_wallet_reads_answer_with_the_embedded_chain(client: TestClient, runtime: Runtime) -> None:
    assert call(client, "eth_chainId")["result"] == "0x539"
    assert call(client, "net_version")["result"] == "1337"
    assert call(client, "eth_gasPrice")["result"] == "0x0"
    assert call(client, "eth_accounts")["result"] == []
    operator = runtime.operator.address
    assert int(call(client, "eth_getBalance", [operator, "latest"])["result"], 16) > 0
    code = call(client, "eth_getCode", [runtime.market.address, "latest"])["result"]
    assert len(code) > 1000
    block = call(client, "eth_getBlockByNumber", ["latest", False])["result"]
    assert len(block["logsBloom"]) == 2 + 512 and block["baseFeePerGas"] == "0x0"


def test_a_batch_is_answered_item_by_item_with_errors_in_place(client: TestClient) -> None:
    reply = client.post(
        "/rpc",
        json=[
            {"jsonrpc": "2.0", "id": 1, "method": "eth_blockNumber", "params": []},
            {"jsonrpc": "2.0", "id": 2, "method": "no_suchMethod", "params": []},
            {"jsonrpc": "2.0", "method": "eth_chainId", "params": []},  # notification
            "not a request",
        ],
    )
    assert reply.status_code == 200
    first, second, third = reply.json()
    assert first["id"] == 1 and first["result"].startswith("0x")
    assert second["id"] == 2 and second["error"]["code"] == -32601
    assert third["error"]["code"] == -32600


@pytest.mark.parametrize(
    ("body", "code"),
    [
        (b"{not json", -32700),
        (b"[]", -32600),
        (b'{"id": 1, "method": "eth_chainId"}', -32600),
        (b'{"jsonrpc": "2.0", "id": 1, "method": "eth_getBalance", "params": ["0x12"]}', -32602),
        (b'{"jsonrpc": "2.0", "id": 1, "method": "eth_getLogs", "params": 5}', -32602),
        (b'{"jsonrpc": "2.0", "id": 1, "method": "eth_sendRawTransaction",'
         b' "params": ["0x02deadbeef"]}', -32000),
    ],
)
def test_malformed_requests_get_json_rpc_errors_with_http_200(
    client: TestClient, body: bytes, code: int
) -> None:
    reply = client.post("/rpc", content=body, headers={"content-type": "application/json"})
    assert reply.status_code == 200
    assert reply.json()["error"]["code"] == code


@pytest.mark.parametrize(
    "method",
    ["evm_revert", "evm_mine", "evm_increaseTime", "evm_setAutomine", "anvil_setBalance",
     "eth_sendTransaction", "eth_sign", "personal_unlockAccount", "debug_traceTransaction"],
)  # fmt: skip
def test_chain_control_and_unlocked_account_methods_are_refused(
    client: TestClient, runtime: Runtime, method: str
) -> None:
    head = runtime.chain.w3.eth.block_number
    error = call(client, method, [1])["error"]
    assert error["code"] == -32601
    assert runtime.chain.w3.eth.block_number == head


def test_a_signed_transaction_is_mined_and_its_receipt_readable(
    client: TestClient, runtime: Runtime
) -> None:
    operator = runtime.operator
    stranger = Account.create()
    count = call(client, "eth_getTransactionCount", [operator.address, "pending"])["result"]
    transfer = {
        "to": stranger.address, "value": 12345, "gas": 21000, "nonce": int(count, 16),
        "chainId": 1337, "maxFeePerGas": 0, "maxPriorityFeePerGas": 0, "type": 2,
    }  # fmt: skip
    raw = operator.sign_transaction(transfer).raw_transaction
    tx_hash = call(client, "eth_sendRawTransaction", ["0x" + raw.hex()])["result"]
    receipt = call(client, "eth_getTransactionReceipt", [tx_hash])["result"]
    assert receipt["status"] == "0x1"
    assert call(client, "eth_getBalance", [stranger.address, "latest"])["result"] == hex(12345)


def test_a_reverting_call_returns_error_string_data(client: TestClient, runtime: Runtime) -> None:
    withdraw_too_much = "0x2e1a7d4d" + (10**30).to_bytes(32, "big").hex()
    error = call(
        client,
        "eth_call",
        [{"from": Account.create().address, "to": runtime.market.address,
          "data": withdraw_too_much}, "latest"],
    )["error"]  # fmt: skip
    assert error["code"] == 3
    assert error["data"].startswith("0x08c379a0")


def test_cors_lets_wallet_extensions_call_from_any_origin(client: TestClient) -> None:
    preflight = client.options(
        "/rpc",
        headers={"Origin": "chrome-extension://nkbihfbeogaeaoehlefnkodbefgpgknn",
                 "Access-Control-Request-Method": "POST",
                 "Access-Control-Request-Headers": "content-type"},
    )  # fmt: skip
    assert preflight.status_code == 204
    assert preflight.headers["access-control-allow-origin"] == "*"
    assert "POST" in preflight.headers["access-control-allow-methods"]
    assert "content-type" in preflight.headers["access-control-allow-headers"]
    reply = client.post("/rpc", json={"jsonrpc": "2.0", "id": 1, "method": "eth_chainId"})
    assert reply.headers["access-control-allow-origin"] == "*"


def test_get_explains_the_endpoint_and_notifications_get_no_body(client: TestClient) -> None:
    page = client.get("/rpc")
    assert page.status_code == 200 and "1337" in page.text and "MetaMask" in page.text
    assert "eth_accounts" in page.text and "eth_sendRawTransaction" in page.text  # all it answers
    quiet = client.post("/rpc", json={"jsonrpc": "2.0", "method": "eth_chainId"})
    assert quiet.status_code == 204 and quiet.content == b""


class _BrokenChain:
    kind = "rpc"

    def handle_rpc(self, request: Any) -> Any:
        raise ConnectionError("node down")


class _BrokenRuntime:
    chain = _BrokenChain()


def test_an_unreachable_node_is_a_json_rpc_error_not_a_crash() -> None:
    request = {"jsonrpc": "2.0", "id": 3, "method": "eth_blockNumber"}
    answer = respond(_BrokenRuntime(), ExecutionSlot(), request)  # type: ignore[arg-type]
    assert answer == {
        "jsonrpc": "2.0",
        "id": 3,
        "error": {"code": -32603, "message": "the chain did not answer: ConnectionError"},
    }


LOOP_FOREVER = "0x5b600056"  # init code: JUMPDEST PUSH1 0 JUMP
MAX_GAS = hex(2**256 - 1)


def signed(account: Any, nonce: int, *, gas: int = 21000, to: str | None = None) -> str:
    transaction = {
        "to": to or account.address, "value": 0, "gas": gas, "nonce": nonce, "chainId": 1337,
        "maxFeePerGas": 0, "maxPriorityFeePerGas": 0, "type": 2,
    }  # fmt: skip
    return "0x" + bytes(account.sign_transaction(transaction).raw_transaction).hex()


def test_a_call_that_loops_forever_runs_out_of_the_public_gas_cap_instead_of_hanging(
    client: TestClient,
) -> None:
    """Asking for 2**256 - 1 gas used to run the loop for as long as that lasts (for ever),
    holding the chain's lock: every chain read and every trade waited behind it."""
    for method in ("eth_call", "eth_estimateGas"):
        error = call(client, method, [{"data": LOOP_FOREVER, "gas": MAX_GAS}, "latest"])["error"]
        assert "OutOfGas" in error["message"], error
    spent = call(client, "eth_estimateGas", [{"data": "0x00"}, "latest"])["result"]
    assert int(spent, 16) < PUBLIC_GAS_CAP  # an ordinary call still fits


def test_only_the_operator_and_households_may_send_and_at_most_the_public_gas_cap(
    client: TestClient, runtime: Runtime
) -> None:
    """Gas is free on this chain: a stranger's transactions (a loop, or just many blocks)
    would cost them nothing and the village's server its time and disk."""
    stranger, operator = Account.create(), runtime.operator
    error = call(client, "eth_sendRawTransaction", [signed(stranger, 0)])["error"]
    assert error["code"] == -32000
    assert "not a household of this market" in error["message"]
    assert call(client, "eth_getTransactionCount", [stranger.address, "latest"])["result"] == "0x0"

    head = runtime.chain.w3.eth.block_number
    count = call(client, "eth_getTransactionCount", [operator.address, "pending"])["result"]
    nonce = int(count, 16)
    greedy = signed(operator, nonce, gas=PUBLIC_GAS_CAP + 1)
    error = call(client, "eth_sendRawTransaction", [greedy])["error"]
    assert f"is above {PUBLIC_GAS_CAP:,}, the most /rpc accepts" in error["message"]
    assert runtime.chain.w3.eth.block_number == head  # nothing was mined


@pytest.mark.parametrize(
    "spell", [str.upper, lambda raw: "0X" + raw[2:], lambda raw: "0x" + raw[2:].upper()]
)
def test_a_strangers_transaction_is_refused_however_its_hex_is_written(
    client: TestClient, runtime: Runtime, spell: Any
) -> None:
    """The check once read only a lowercase `0x`: `0X…` was passed on unread, and the chain,
    which reads both, mined a stranger's contract creation and a 30M-gas loop."""
    stranger, head = Account.create(), runtime.chain.w3.eth.block_number
    creation = stranger.sign_transaction({
        "data": LOOP_FOREVER, "value": 0, "gas": 30_000_000, "nonce": 0, "chainId": 1337,
        "maxFeePerGas": 0, "maxPriorityFeePerGas": 0, "type": 2,
    })  # fmt: skip
    raw = "0x" + bytes(creation.raw_transaction).hex()
    error = call(client, "eth_sendRawTransaction", [spell(raw)])["error"]
    assert error["code"] == -32000
    assert "is above 500,000, the most /rpc accepts" in error["message"]
    assert runtime.chain.w3.eth.block_number == head  # nothing was mined


@pytest.mark.parametrize(
    ("params", "code"),
    [(["0x"], -32000), (["0xf8"], -32000), (["f86c"], -32602), (["0x0"], -32602),
     (["0x 00"], -32602), ([5], -32602), ({"tx": "0x00"}, -32602), ([], -32602)],
)
def test_a_raw_transaction_this_check_cannot_read_is_refused_here(
    client: TestClient, runtime: Runtime, params: Any, code: int
) -> None:
    head = runtime.chain.w3.eth.block_number
    reply = client.post("/rpc", json={"jsonrpc": "2.0", "id": 7, "method": "eth_sendRawTransaction",
                                      "params": params}).json()  # fmt: skip
    assert reply["error"]["code"] == code, reply
    assert reply["error"]["message"].startswith("invalid transaction: ")
    assert runtime.chain.w3.eth.block_number == head


def test_a_transaction_signed_without_a_chain_id_is_refused_and_not_mined(
    client: TestClient, runtime: Runtime
) -> None:
    """A pre-EIP-155 signature is valid on every chain, so anyone holding it could replay it
    elsewhere (or here, from elsewhere); geth refuses these over RPC by default too."""
    operator, head = runtime.operator, runtime.chain.w3.eth.block_number
    count = call(client, "eth_getTransactionCount", [operator.address, "pending"])["result"]
    nonce = int(count, 16)
    unprotected = operator.sign_transaction(
        {"to": operator.address, "value": 0, "gas": 21000, "nonce": nonce, "gasPrice": 0}
    )
    raw = "0x" + bytes(unprotected.raw_transaction).hex()
    error = call(client, "eth_sendRawTransaction", [raw])["error"]
    assert error["code"] == -32000
    assert "not replay-protected (EIP-155)" in error["message"]
    assert runtime.chain.w3.eth.block_number == head
    protected = operator.sign_transaction(
        {"to": operator.address, "value": 0, "gas": 21000, "nonce": nonce, "gasPrice": 0,
         "chainId": 1337}
    )  # fmt: skip
    sent = call(client, "eth_sendRawTransaction", ["0x" + bytes(protected.raw_transaction).hex()])
    assert "result" in sent, sent


def test_a_batch_may_hold_ten_calls_and_an_unknown_transaction_type_is_named(
    client: TestClient,
) -> None:
    calls = [
        {"jsonrpc": "2.0", "id": i, "method": "eth_call", "params": [{"data": "0x00"}, "latest"]}
        for i in range(11)
    ]
    refused = client.post("/rpc", json=calls).json()
    assert refused["error"]["code"] == -32600 and "at most 10" in refused["error"]["message"]
    answered = client.post("/rpc", json=calls[:10]).json()
    assert [a["result"] for a in answered] == ["0x"] * 10
    # eth_getLogs counts too: 200 of them in one small request made a 562 MB answer
    logs = {"jsonrpc": "2.0", "method": "eth_getLogs", "params": [{"fromBlock": "0x0"}]}
    refused = client.post("/rpc", json=[{**logs, "id": i} for i in range(11)]).json()
    assert refused["error"]["code"] == -32600 and "eth_getLogs" in refused["error"]["message"]
    mixed = [{**logs, "id": 0}, *calls[:9]]
    assert len(client.post("/rpc", json=mixed).json()) == 10

    error = call(client, "eth_sendRawTransaction", ["0x00"])["error"]
    unknown = "invalid transaction: unknown transaction type 0x00"
    assert error == {"code": -32000, "message": unknown}


@pytest.mark.parametrize(
    ("method", "params", "name"),
    [
        ("eth_getBlockByNumber", ["0x_1", False], "block"),
        ("eth_getBlockByNumber", ["0x1 ", False], "block"),
        ("eth_getBlockByNumber", ["0x1", "no"], "full"),
        ("eth_feeHistory", ["0x4", "latest", [50] * 101], "rewardPercentiles"),
    ],
)
def test_lenient_numbers_flags_and_long_percentile_lists_are_invalid_params(
    client: TestClient, method: str, params: list[Any], name: str
) -> None:
    error = call(client, method, params)["error"]
    assert error["code"] == -32602 and name in error["message"], error
