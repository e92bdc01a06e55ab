"""Read blocks, transactions and receipts from any chain through raw JSON-RPC."""

from __future__ import annotations

import itertools
from typing import Any, Protocol

import httpx

from gridshare.explorer.records import BlockRecord, LogEntry, TxRecord


class SourceError(Exception):
    """The chain did not answer as expected (node down, unknown block)."""


class ChainSource(Protocol):
    """What the indexer needs from a chain."""

    def head(self) -> int:
        """The latest block number."""
        ...

    def block_hash(self, number: int) -> str | None:
        """The hash of block `number`, or None if the chain has no such block."""
        ...

    def block(self, number: int) -> tuple[BlockRecord, list[TxRecord]] | None:
        """Block `number` with its transactions and receipts, or None if there is none."""
        ...


class JsonRpc(Protocol):
    """Anything that answers one JSON-RPC call: a web3 provider, or HttpJsonRpc."""

    def make_request(self, method: Any, params: Any) -> Any:
        """The JSON-RPC response object ({"result": ...} or {"error": ...})."""
        ...


class HttpJsonRpc:
    """A bare JSON-RPC client over HTTP (no web3 import: a worker process starts fast)."""

    def __init__(self, url: str, timeout: float = 30) -> None:
        self.url = url
        self._client = httpx.Client(timeout=timeout)
        self._ids = itertools.count(1)

    def make_request(self, method: Any, params: Any) -> Any:
        body = {"jsonrpc": "2.0", "id": next(self._ids), "method": str(method), "params": params}
        return self._client.post(self.url, json=body).json()

    def close(self) -> None:
        self._client.close()


def _int(value: Any) -> int:
    if value is None:
        return 0
    return int(value, 16) if isinstance(value, str) else int(value)


def _lower(value: Any) -> str | None:
    return str(value).lower() if value else None


class RpcSource:
    """A ChainSource over raw JSON-RPC, bypassing web3's formatters (faster, no PoA issue)."""

    def __init__(self, rpc: JsonRpc) -> None:
        self.rpc = rpc

    def _call(self, method: str, params: list[Any]) -> Any:
        try:
            reply = self.rpc.make_request(method, params)
        except Exception as exc:
            raise SourceError(f"{method}: {exc}") from exc
        if "error" in reply:
            raise SourceError(f"{method}: {reply['error']}")
        return reply.get("result")

    def head(self) -> int:
        return _int(self._call("eth_blockNumber", []))

    def block_hash(self, number: int) -> str | None:
        raw = self._call("eth_getBlockByNumber", [hex(number), False])
        return None if raw is None else str(raw["hash"]).lower()

    def block(self, number: int) -> tuple[BlockRecord, list[TxRecord]] | None:
        raw = self._call("eth_getBlockByNumber", [hex(number), True])
        if raw is None:
            return None
        block = BlockRecord(
            number=_int(raw["number"]),
            hash=str(raw["hash"]).lower(),
            parent_hash=str(raw["parentHash"]).lower(),
            nonce=str(raw.get("nonce") or "0x0000000000000000").lower(),
            difficulty=_int(raw.get("difficulty")),
            size=_int(raw.get("size")),
            gas_limit=_int(raw["gasLimit"]),
            gas_used=_int(raw["gasUsed"]),
            timestamp=_int(raw["timestamp"]),
            miner=str(raw.get("miner") or "").lower(),
            base_fee=_int(raw.get("baseFeePerGas")),
            tx_count=len(raw["transactions"]),
        )
        txs = [self._transaction(tx, block) for tx in raw["transactions"]]
        return block, txs

    def _transaction(self, tx: dict[str, Any], block: BlockRecord) -> TxRecord:
        receipt = self._call("eth_getTransactionReceipt", [tx["hash"]])
        if receipt is None:
            raise SourceError(f"no receipt for {tx['hash']} in block {block.number}")
        if str(receipt["blockHash"]).lower() != block.hash:
            raise SourceError(f"block {block.number} changed while it was read")
        logs = tuple(
            LogEntry(
                log_index=_int(log["logIndex"]),
                address=str(log["address"]).lower(),
                topics=tuple(str(t).lower() for t in log["topics"]),
                data=str(log["data"]).lower(),
            )
            for log in receipt["logs"]
        )
        return TxRecord(
            hash=str(tx["hash"]).lower(),
            block_number=block.number,
            index=_int(tx["transactionIndex"]),
            sender=str(tx["from"]).lower(),
            to=_lower(tx.get("to")),
            value=_int(tx["value"]),
            gas=_int(tx["gas"]),
            gas_price=_int(receipt.get("effectiveGasPrice") or tx.get("gasPrice")),
            gas_used=_int(receipt["gasUsed"]),
            status=_int(receipt.get("status", "0x1")),
            contract_address=_lower(receipt.get("contractAddress")),
            input=str(tx.get("input") or tx.get("data") or "0x").lower(),
            nonce=_int(tx["nonce"]),
            logs=logs,
        )
