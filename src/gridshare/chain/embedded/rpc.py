"""Ethereum JSON-RPC over an EmbeddedChain, as JSON-compatible dicts in and out.

`RpcDispatcher.handle(request)` takes one decoded request object or a batch (list) and
returns the response object / list, or None for a notification; `handle_text` does the
same from and to JSON text (with -32700 for unparsable input). No exception escapes.
Only signed raw transactions are accepted: there are no unlocked accounts.
"""

from __future__ import annotations

import json
import logging
import platform
from collections.abc import Callable
from importlib.metadata import version
from typing import Any

from gridshare.chain.embedded.chain import EmbeddedChain
from gridshare.chain.embedded.encoding import (
    block_json,
    block_size,
    data,
    log_json,
    quantity,
    receipt_json,
    transaction_json,
)
from gridshare.chain.embedded.errors import (
    ExecutionFailed,
    ExecutionReverted,
    InvalidTransaction,
    StatePruned,
    UnknownBlock,
)
from gridshare.chain.embedded.index import LogFilter, TooManyLogs
from gridshare.chain.embedded.params import (
    EXECUTION_REVERTED,
    INTERNAL_ERROR,
    INVALID_REQUEST,
    LIMIT_EXCEEDED,
    METHOD_NOT_FOUND,
    PARSE_ERROR,
    SERVER_ERROR,
    RpcError,
    arg,
    invalid,
    parse_address,
    parse_addresses,
    parse_block_ref,
    parse_call,
    parse_data,
    parse_flag,
    parse_hash,
    parse_quantity,
    parse_topics,
    parse_word,
)
from gridshare.storage.disk import is_disk_full

logger = logging.getLogger(__name__)

Handler = Callable[[list[Any]], Any]
MAX_FEE_HISTORY_BLOCKS = 1024
MAX_REWARD_PERCENTILES = 100  # as geth
_NO_UNLOCKED = (
    "{method} is not supported: there are no unlocked accounts; sign the transaction "
    "yourself and use eth_sendRawTransaction"
)


class RpcDispatcher:
    """Answers Ethereum JSON-RPC requests from an EmbeddedChain."""

    def __init__(self, chain: EmbeddedChain) -> None:
        self._chain = chain
        self._client_version = (
            f"gridshare-embedded/py-evm-{version('py-evm')}/python-{platform.python_version()}"
        )
        self._methods: dict[str, Handler] = {
            "web3_clientVersion": lambda p: self._client_version,
            "net_version": lambda p: str(chain.chain_id),
            "net_listening": lambda p: True,
            "net_peerCount": lambda p: "0x0",
            "eth_chainId": lambda p: quantity(chain.chain_id),
            "eth_syncing": lambda p: False,
            "eth_mining": lambda p: False,
            "eth_accounts": lambda p: [],
            "eth_coinbase": lambda p: data(b"\0" * 20),
            "eth_blockNumber": lambda p: quantity(chain.block_number),
            "eth_gasPrice": lambda p: quantity(0),
            "eth_maxPriorityFeePerGas": lambda p: quantity(0),
            "eth_blobBaseFee": lambda p: quantity(0),
            "eth_feeHistory": self._fee_history,
            "eth_getBalance": self._state_reader(chain.balance),
            "eth_getTransactionCount": self._state_reader(chain.nonce),
            "eth_getCode": lambda p: data(chain.code(*self._address_at(p))),
            "eth_getStorageAt": self._storage_at,
            "eth_call": self._call,
            "eth_estimateGas": self._estimate_gas,
            "eth_sendRawTransaction": self._send_raw_transaction,
            # gridshare's own: a transaction that would revert is refused, not mined (the
            # server's transactor uses it instead of a dry run; not exposed on /rpc)
            "gridshare_sendRawTransaction": self._send_checked_transaction,
            "eth_sendTransaction": self._unsupported("eth_sendTransaction"),
            "eth_sign": self._unsupported("eth_sign"),
            "eth_signTransaction": self._unsupported("eth_signTransaction"),
            "eth_getTransactionByHash": self._transaction_by_hash,
            "eth_getTransactionReceipt": self._receipt,
            "eth_getBlockByNumber": self._block_by_number,
            "eth_getBlockByHash": self._block_by_hash,
            "eth_getBlockTransactionCountByNumber": self._tx_count_by_number,
            "eth_getBlockTransactionCountByHash": self._tx_count_by_hash,
            "eth_getLogs": self._get_logs,
            "evm_mine": self._evm_mine,
            "evm_increaseTime": lambda p: chain.increase_time(
                parse_quantity(arg(p, 0, "seconds"), "seconds")
            ),
            "evm_setNextBlockTimestamp": self._set_next_timestamp,
            "evm_setAutomine": lambda p: chain.set_automine(bool(arg(p, 0, "enabled"))),
            "evm_snapshot": lambda p: quantity(chain.snapshot()),
            "evm_revert": lambda p: chain.revert(parse_quantity(arg(p, 0, "snapshot"), "id")),
        }

    @property
    def methods(self) -> tuple[str, ...]:
        """Names of the supported methods."""
        return tuple(self._methods)

    # ------------------------------------------------------------ entry points

    def handle_text(self, text: str | bytes) -> str | None:
        """Answer a JSON-RPC request or batch given as JSON text."""
        try:
            request = json.loads(text)
        except (ValueError, UnicodeDecodeError):
            error = RpcError(PARSE_ERROR, "parse error: request is not valid JSON")
            return json.dumps({"jsonrpc": "2.0", "id": None, "error": error.as_json()})
        response = self.handle(request)
        return None if response is None else json.dumps(response)

    def handle(self, request: Any) -> dict[str, Any] | list[dict[str, Any]] | None:
        """Answer one request object or a batch; None when nothing is to be returned."""
        if isinstance(request, list):
            if not request:
                return _error_response(None, RpcError(INVALID_REQUEST, "empty batch"))
            responses = [self._handle_one(item) for item in request]
            answered = [r for r in responses if r is not None]
            return answered or None
        return self._handle_one(request)

    def call(self, method: str, params: list[Any] | None = None) -> Any:
        """Run one method and return its result; raises RpcError (for in-process users)."""
        handler = self._methods.get(method)
        if handler is None:
            raise RpcError(METHOD_NOT_FOUND, f"the method {method} does not exist/is not available")
        return self._run(handler, list(params or []))

    def _handle_one(self, request: Any) -> dict[str, Any] | None:
        if not isinstance(request, dict):
            return _error_response(None, RpcError(INVALID_REQUEST, "request must be an object"))
        request_id = request.get("id")
        method = request.get("method")
        params = request.get("params", [])
        if (
            request.get("jsonrpc") != "2.0"
            or not isinstance(method, str)
            or not isinstance(request_id, str | int | float | type(None))
        ):
            return _error_response(
                request_id if isinstance(request_id, str | int) else None,
                RpcError(INVALID_REQUEST, 'invalid request: needs "jsonrpc": "2.0" and a method'),
            )
        if not isinstance(params, list):
            return _error_response(request_id, invalid("params", "expected an array"))
        try:
            result = self.call(method, params)
        except RpcError as exc:
            response = _error_response(request_id, exc)
        else:
            response = {"jsonrpc": "2.0", "id": request_id, "result": result}
        return response if "id" in request else None

    def _run(self, handler: Handler, params: list[Any]) -> Any:
        try:
            return handler(params)
        except RpcError:
            raise
        except ExecutionReverted as exc:
            raise RpcError(
                EXECUTION_REVERTED, exc.reason, data(exc.data) if exc.data else None
            ) from exc
        except (ExecutionFailed, InvalidTransaction) as exc:
            raise RpcError(SERVER_ERROR, str(exc)) from exc
        except StatePruned as exc:
            raise RpcError(SERVER_ERROR, f"missing trie node: {exc}") from exc
        except UnknownBlock as exc:
            raise RpcError(SERVER_ERROR, f"header not found: {exc}") from exc
        except TooManyLogs as exc:
            raise RpcError(LIMIT_EXCEEDED, str(exc)) from exc
        except ValueError as exc:
            raise RpcError(SERVER_ERROR, str(exc)) from exc
        except Exception as exc:
            if is_disk_full(exc):  # said plainly: the operator has to free space
                logger.error("JSON-RPC handler failed: the disk is full (%s)", exc)
                raise RpcError(INTERNAL_ERROR, "internal error: the disk is full") from exc
            logger.exception("JSON-RPC handler failed")
            raise RpcError(INTERNAL_ERROR, f"internal error: {type(exc).__name__}") from exc

    # ------------------------------------------------------------ state

    def _address_at(self, params: list[Any]) -> tuple[bytes, Any]:
        address = parse_address(arg(params, 0, "address"), "address")
        return address, parse_block_ref(arg(params, 1, "block", "latest"))

    def _state_reader(self, read: Callable[[bytes, Any], int]) -> Handler:
        return lambda params: quantity(read(*self._address_at(params)))

    def _storage_at(self, params: list[Any]) -> str:
        address = parse_address(arg(params, 0, "address"), "address")
        slot = parse_word(arg(params, 1, "position"), "position")
        ref = parse_block_ref(arg(params, 2, "block", "latest"))
        return data(self._chain.storage_at(address, slot, ref).to_bytes(32, "big"))

    def _call(self, params: list[Any]) -> str:
        request = parse_call(arg(params, 0, "transaction"))
        ref = parse_block_ref(arg(params, 1, "block", "latest"))
        return data(self._chain.call(request, ref))

    def _estimate_gas(self, params: list[Any]) -> str:
        request = parse_call(arg(params, 0, "transaction"))
        ref = parse_block_ref(arg(params, 1, "block", "latest"))
        return quantity(self._chain.estimate_gas(request, ref))

    # ------------------------------------------------------------ transactions

    def _send_raw_transaction(self, params: list[Any]) -> str:
        raw = parse_data(arg(params, 0, "transaction"), "transaction")
        return data(self._chain.send_raw_transaction(raw))

    def _send_checked_transaction(self, params: list[Any]) -> str:
        raw = parse_data(arg(params, 0, "transaction"), "transaction")
        return data(self._chain.send_raw_transaction(raw, refuse_failed=True))

    @staticmethod
    def _unsupported(method: str) -> Handler:
        def refuse(params: list[Any]) -> Any:
            raise RpcError(METHOD_NOT_FOUND, _NO_UNLOCKED.format(method=method))

        return refuse

    def _transaction_by_hash(self, params: list[Any]) -> dict[str, Any] | None:
        tx_hash = parse_hash(arg(params, 0, "hash"), "hash")
        record = self._chain.transaction(tx_hash)
        if record is not None:
            tx = self._chain.decode_stored(record)
            return transaction_json(tx, record.sender, record)
        pending = self._chain.pending_transaction(tx_hash)
        return None if pending is None else transaction_json(pending, pending.sender)

    def _receipt(self, params: list[Any]) -> dict[str, Any] | None:
        tx_hash = parse_hash(arg(params, 0, "hash"), "hash")
        record = self._chain.transaction(tx_hash)
        if record is None:
            return None
        tx = self._chain.decode_stored(record)
        return receipt_json(tx, record, self._chain.transaction_logs(record))

    # ------------------------------------------------------------ blocks

    def _block(self, ref: Any, full: bool) -> dict[str, Any] | None:
        try:
            header = self._chain.header(ref)
        except UnknownBlock:
            return None
        records = self._chain.block_transactions(header)
        transactions: list[Any]
        if full:
            transactions = [
                transaction_json(self._chain.decode_stored(r), r.sender, r) for r in records
            ]
        else:
            transactions = [data(r.hash) for r in records]
        return block_json(header, transactions, block_size(header, [r.raw for r in records]))

    def _block_by_number(self, params: list[Any]) -> dict[str, Any] | None:
        ref = parse_block_ref(arg(params, 0, "block"))
        return self._block(ref, parse_flag(arg(params, 1, "full", False), "full"))

    def _block_by_hash(self, params: list[Any]) -> dict[str, Any] | None:
        ref = parse_hash(arg(params, 0, "hash"), "hash")
        return self._block(ref, parse_flag(arg(params, 1, "full", False), "full"))

    def _tx_count(self, ref: Any) -> str | None:
        try:
            header = self._chain.header(ref)
        except UnknownBlock:
            return None
        return quantity(len(self._chain.block_transactions(header)))

    def _tx_count_by_number(self, params: list[Any]) -> str | None:
        return self._tx_count(parse_block_ref(arg(params, 0, "block")))

    def _tx_count_by_hash(self, params: list[Any]) -> str | None:
        return self._tx_count(parse_hash(arg(params, 0, "hash"), "hash"))

    def _block_number_of(self, value: Any, name: str) -> int:
        ref = parse_block_ref(value, name)
        return int(self._chain.header(ref).block_number)

    def _get_logs(self, params: list[Any]) -> list[dict[str, Any]]:
        criteria = arg(params, 0, "filter")
        if not isinstance(criteria, dict):
            raise invalid("filter", "expected an object")
        if criteria.get("blockHash") is not None:
            if criteria.get("fromBlock") is not None or criteria.get("toBlock") is not None:
                raise invalid("filter", "blockHash excludes fromBlock/toBlock")
            try:
                header = self._chain.header(parse_hash(criteria["blockHash"], "filter.blockHash"))
            except UnknownBlock as exc:
                raise RpcError(SERVER_ERROR, f"unknown block: {exc}") from exc
            first = last = int(header.block_number)
        else:
            first = self._block_number_of(criteria.get("fromBlock", "latest"), "filter.fromBlock")
            last = self._block_number_of(criteria.get("toBlock", "latest"), "filter.toBlock")
            if first > last:
                raise invalid("filter", "fromBlock is after toBlock")
        logs = self._chain.logs(
            LogFilter(
                first,
                last,
                parse_addresses(criteria.get("address")),
                parse_topics(criteria.get("topics")),
            )
        )
        return [log_json(log) for log in logs]

    def _fee_history(self, params: list[Any]) -> dict[str, Any]:
        count = parse_quantity(arg(params, 0, "blockCount"), "blockCount")
        newest = self._block_number_of(arg(params, 1, "newestBlock"), "newestBlock")
        percentiles = arg(params, 2, "rewardPercentiles", [])
        if isinstance(percentiles, list) and len(percentiles) > MAX_REWARD_PERCENTILES:
            raise invalid("rewardPercentiles", f"at most {MAX_REWARD_PERCENTILES} numbers")
        if not isinstance(percentiles, list) or any(
            not isinstance(p, int | float) or not 0 <= p <= 100 for p in percentiles
        ) or percentiles != sorted(percentiles):
            raise invalid("rewardPercentiles", "expected increasing numbers from 0 to 100")
        count = max(0, min(count, MAX_FEE_HISTORY_BLOCKS, newest + 1))
        oldest = newest - count + 1
        ratios: list[float] = []
        rewards: list[list[str]] = []
        for number in range(oldest, newest + 1):
            header = self._chain.header(number)
            ratios.append(header.gas_used / header.gas_limit)
            records = self._chain.block_transactions(header)
            paid = sorted((r.effective_gas_price, r.gas_used) for r in records)
            rewards.append([quantity(_percentile(paid, p, header.gas_used)) for p in percentiles])
        result: dict[str, Any] = {
            "oldestBlock": quantity(oldest),
            "baseFeePerGas": [quantity(0)] * (count + 1),
            "gasUsedRatio": ratios,
            "baseFeePerBlobGas": [quantity(0)] * (count + 1),
            "blobGasUsedRatio": [0.0] * count,
        }
        if percentiles:
            result["reward"] = rewards
        return result

    # ------------------------------------------------------------ test helpers

    def _evm_mine(self, params: list[Any]) -> str:
        option = arg(params, 0, "timestamp", None)
        if isinstance(option, dict):
            option = option.get("timestamp")
        timestamp = None if option is None else parse_quantity(option, "timestamp")
        self._chain.mine_block(timestamp)
        return "0x0"

    def _set_next_timestamp(self, params: list[Any]) -> None:
        self._chain.set_next_timestamp(parse_quantity(arg(params, 0, "timestamp"), "timestamp"))


def _percentile(paid: list[tuple[int, int]], percentile: float, gas_used: int) -> int:
    """Priority fee paid at this gas-weighted percentile of the block (base fee is 0)."""
    if not paid:
        return 0
    threshold = gas_used * percentile / 100
    cumulative = 0
    for price, gas in paid:
        cumulative += gas
        if cumulative >= threshold:
            return price
    return paid[-1][0]


def _error_response(request_id: Any, error: RpcError) -> dict[str, Any]:
    return {"jsonrpc": "2.0", "id": request_id, "error": error.as_json()}
