"""POST /rpc: the chain's public Ethereum JSON-RPC endpoint for wallets and tools.

Reads and signed raw transactions only: chain-control methods (evm_*, anvil_*, ...) and
anything needing an unlocked account are refused here, before the chain or node sees them.
Every answer is a JSON-RPC response with HTTP 200, errors included. CORS is open to any
origin because MetaMask and other wallet extensions call from their own origins.
"""

from __future__ import annotations

import json
import logging
from typing import Annotated, Any

from fastapi import APIRouter, Depends, FastAPI, Request
from fastapi.responses import JSONResponse, PlainTextResponse, Response
from starlette.concurrency import run_in_threadpool

from gridshare.chain.embedded.fork import ZeroFeePragueVM
from gridshare.runtime import Runtime
from gridshare.services.chain_pruner import ChainPruner
from gridshare.web.app import get_runtime
from gridshare.web.body_guard import MAX_BODY_BYTES
from gridshare.web.rpc_limits import (
    EXECUTING_METHODS,
    LIMITED_IN_BATCH,
    MAX_EXECUTING_IN_BATCH,
    Busy,
    ExecutionSlot,
    Refusal,
    capped_call,
    checked_transaction,
)

log = logging.getLogger(__name__)

router = APIRouter()


def install(app: FastAPI, runtime: Runtime) -> None:
    """/rpc's execution slot; prune the embedded chain's old state in the background."""
    app.state.rpc_slot = ExecutionSlot()
    chain, settings = runtime.chain.embedded, runtime.settings
    if chain is None or settings.prune_every_blocks == 0:
        return
    pruner = ChainPruner(
        chain, every_blocks=settings.prune_every_blocks, keep_blocks=settings.prune_keep_blocks
    )
    app.state.chain_pruner = pruner
    pruner.start()
    runtime.on_close(pruner.stop)


PUBLIC_METHODS = frozenset(
    {
        "web3_clientVersion",
        "net_version",
        "net_listening",
        "net_peerCount",
        "eth_chainId",
        "eth_syncing",
        "eth_mining",
        "eth_blockNumber",
        "eth_gasPrice",
        "eth_maxPriorityFeePerGas",
        "eth_blobBaseFee",
        "eth_feeHistory",
        "eth_getBalance",
        "eth_getTransactionCount",
        "eth_getCode",
        "eth_getStorageAt",
        "eth_call",
        "eth_estimateGas",
        "eth_sendRawTransaction",
        "eth_getTransactionByHash",
        "eth_getTransactionReceipt",
        "eth_getBlockByNumber",
        "eth_getBlockByHash",
        "eth_getBlockTransactionCountByNumber",
        "eth_getBlockTransactionCountByHash",
        "eth_getLogs",
    }
)
UNLOCKED_ACCOUNT_METHODS = frozenset(
    {"eth_sendTransaction", "eth_sign", "eth_signTransaction", "eth_signTypedData_v4"}
)
MAX_BATCH = 200

INVALID_REQUEST = -32600
METHOD_NOT_FOUND = -32601
INTERNAL_ERROR = -32603
PARSE_ERROR = -32700
LIMIT_EXCEEDED = -32005

CORS_HEADERS = {
    "Access-Control-Allow-Origin": "*",
    "Access-Control-Allow-Methods": "POST, GET, OPTIONS",
    "Access-Control-Allow-Headers": "content-type",
    "Access-Control-Max-Age": "600",
}

HELP = """gridshare JSON-RPC endpoint (Ethereum JSON-RPC 2.0 over HTTP POST, batches allowed)

Chain id: {chain_id} ({kind} chain)
Add this URL as a custom network in MetaMask with the chain id above.
Only signed raw transactions are accepted (eth_sendRawTransaction): there are no
unlocked accounts. Methods: {methods}
"""


@router.post("/rpc", tags=["rpc"], summary="Ethereum JSON-RPC (single or batch)")
async def rpc(request: Request, runtime: Annotated[Runtime, Depends(get_runtime)]) -> Response:
    """Answer a JSON-RPC request or batch from the chain."""
    body = await request.body()
    if len(body) > MAX_BODY_BYTES:
        return _json(_error(None, INVALID_REQUEST, "request too large"))
    try:
        payload = json.loads(body)
    except (ValueError, UnicodeDecodeError):
        return _json(_error(None, PARSE_ERROR, "parse error: request is not valid JSON"))
    slot: ExecutionSlot = request.app.state.rpc_slot
    answer = await run_in_threadpool(respond, runtime, slot, payload)
    if answer is None:
        return Response(status_code=204, headers=CORS_HEADERS)
    return _json(answer)


@router.options("/rpc", include_in_schema=False)
def rpc_preflight() -> Response:
    """CORS preflight for wallet extensions."""
    return Response(status_code=204, headers=CORS_HEADERS)


@router.get("/rpc", tags=["rpc"], response_class=PlainTextResponse)
def rpc_help(runtime: Annotated[Runtime, Depends(get_runtime)]) -> PlainTextResponse:
    """What this endpoint is and how to add it to a wallet."""
    text = HELP.format(
        chain_id=runtime.settings.chain_id,
        kind=runtime.chain.kind,
        methods=", ".join(sorted(PUBLIC_METHODS | {"eth_accounts"})),
    )
    return PlainTextResponse(text, headers=CORS_HEADERS)


def respond(runtime: Runtime, slot: ExecutionSlot, payload: Any) -> Any:
    """The response to a decoded request or batch (None when only notifications came)."""
    if isinstance(payload, list):
        if not payload:
            return _error(None, INVALID_REQUEST, "empty batch")
        if len(payload) > MAX_BATCH:
            return _error(None, INVALID_REQUEST, f"batch larger than {MAX_BATCH} requests")
        limited = sum(
            isinstance(item, dict) and item.get("method") in LIMITED_IN_BATCH for item in payload
        )
        if limited > MAX_EXECUTING_IN_BATCH:
            return _error(
                None,
                INVALID_REQUEST,
                f"a batch may hold at most {MAX_EXECUTING_IN_BATCH} of "
                + ", ".join(sorted(LIMITED_IN_BATCH)),
            )
        answers = [_respond_one(runtime, slot, item) for item in payload]
        answered = [a for a in answers if a is not None]
        return answered or None
    return _respond_one(runtime, slot, payload)


def _respond_one(runtime: Runtime, slot: ExecutionSlot, request: Any) -> dict[str, Any] | None:
    if not isinstance(request, dict):
        return _error(None, INVALID_REQUEST, "request must be an object")
    request_id = request.get("id")
    if not isinstance(request_id, str | int | type(None)) or isinstance(request_id, bool):
        return _error(None, INVALID_REQUEST, "id must be a string, a whole number or null")
    method = request.get("method")
    if request.get("jsonrpc") != "2.0" or not isinstance(method, str):
        return _error(request_id, INVALID_REQUEST, 'needs "jsonrpc": "2.0" and a method')
    notification = "id" not in request
    if method in UNLOCKED_ACCOUNT_METHODS:
        refusal = _error(
            request_id,
            METHOD_NOT_FOUND,
            f"{method} is not supported: there are no unlocked accounts; sign the "
            "transaction yourself and use eth_sendRawTransaction",
        )
        return None if notification else refusal
    if method == "eth_accounts":
        return None if notification else {"jsonrpc": "2.0", "id": request_id, "result": []}
    if method not in PUBLIC_METHODS:
        refusal = _error(
            request_id, METHOD_NOT_FOUND, f"the method {method} does not exist/is not available"
        )
        return None if notification else refusal
    try:
        if method in EXECUTING_METHODS:
            with slot.turn():
                answer = _execute(runtime, request, method)
        else:
            answer = runtime.chain.handle_rpc(request)
    except Busy as exc:
        answer = _error(request_id, LIMIT_EXCEEDED, str(exc))
    except Exception as exc:  # an unreachable node or a broken reply: still a JSON-RPC answer
        log.warning("JSON-RPC %s failed: %s", method, exc)
        reason = f"the chain did not answer: {type(exc).__name__}"
        answer = _error(request_id, INTERNAL_ERROR, reason)
    if notification:
        return None
    if not isinstance(answer, dict):
        return _error(request_id, INTERNAL_ERROR, "the chain gave no answer")
    return answer


_decode = ZeroFeePragueVM.get_transaction_builder().decode  # any signed type: gas and sender


def _execute(runtime: Runtime, request: dict[str, Any], method: str) -> Any:
    """An EVM-running request within /rpc's limits (see gridshare.web.rpc_limits)."""
    params = request.get("params", [])
    if method != "eth_sendRawTransaction":
        return runtime.chain.handle_rpc({**request, "params": capped_call(params)})
    checked = checked_transaction(params, _decode, lambda sender: _may_send(runtime, sender))
    if isinstance(checked, Refusal):
        return _error(request.get("id"), checked.code, checked.message)
    return runtime.chain.handle_rpc({**request, "params": checked})


def _may_send(runtime: Runtime, sender: str) -> bool:
    """The operator and registered households (active or not: they may still withdraw)."""
    if sender.lower() == runtime.operator.address.lower():
        return True
    return runtime.market.household(sender) is not None


def _error(request_id: Any, code: int, message: str) -> dict[str, Any]:
    return {"jsonrpc": "2.0", "id": request_id, "error": {"code": code, "message": message}}


def _json(content: Any) -> JSONResponse:
    return JSONResponse(content, headers=CORS_HEADERS)
