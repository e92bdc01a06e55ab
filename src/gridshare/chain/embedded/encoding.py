"""JSON-RPC encodings of blocks, transactions, receipts and logs, as wallets expect them.

Quantities are hex without leading zeros ("0x0"), data is 0x-prefixed lowercase hex,
logsBloom is 256 bytes, typed transactions carry type, chainId, accessList and yParity.
"""

from __future__ import annotations

from typing import Any

import rlp  # type: ignore[import-untyped]
from eth.abc import BlockHeaderAPI, SignedTransactionAPI

from gridshare.chain.embedded.index import LogRecord, TxRecord

JSON = dict[str, Any]

EMPTY_BLOOM = "0x" + "00" * 256


def quantity(value: int) -> str:
    """Hex quantity without leading zeros."""
    return hex(value)


def data(value: bytes) -> str:
    """0x-prefixed hex bytes."""
    return "0x" + bytes(value).hex()


def _optional_data(value: bytes | None) -> str | None:
    return None if value is None else data(value)


def log_json(log: LogRecord) -> JSON:
    """One log entry."""
    return {
        "address": data(log.address),
        "topics": [data(t) for t in log.topics],
        "data": data(log.data),
        "blockNumber": quantity(log.block_number),
        "blockHash": data(log.block_hash),
        "transactionHash": data(log.tx_hash),
        "transactionIndex": quantity(log.tx_index),
        "logIndex": quantity(log.log_index),
        "removed": False,
    }


def transaction_json(
    tx: SignedTransactionAPI,
    sender: bytes,
    record: TxRecord | None = None,
) -> JSON:
    """A transaction; `record` (None while pending) adds block position and price paid."""
    type_id = tx.type_id or 0
    result: JSON = {
        "type": quantity(type_id),
        "hash": data(tx.hash),
        "nonce": quantity(tx.nonce),
        "from": data(sender),
        "to": data(tx.to) if tx.to else None,
        "value": quantity(tx.value),
        "gas": quantity(tx.gas),
        "input": data(tx.data),
        "r": quantity(tx.r),
        "s": quantity(tx.s),
        "blockHash": data(record.block_hash) if record else None,
        "blockNumber": quantity(record.block_number) if record else None,
        "transactionIndex": quantity(record.tx_index) if record else None,
    }
    if type_id == 0:
        result["gasPrice"] = quantity(tx.gas_price)
        result["v"] = quantity(tx.v)  # type: ignore[attr-defined]
        if tx.chain_id is not None:
            result["chainId"] = quantity(tx.chain_id)
        return result
    result["chainId"] = quantity(tx.chain_id or 0)
    result["yParity"] = quantity(tx.y_parity)
    result["v"] = quantity(tx.y_parity)
    result["accessList"] = [
        {
            "address": data(account),
            "storageKeys": [data(k.to_bytes(32, "big")) for k in storage_keys],
        }
        for account, storage_keys in tx.access_list
    ]
    if type_id == 1:
        result["gasPrice"] = quantity(tx.gas_price)
    else:
        result["maxFeePerGas"] = quantity(tx.max_fee_per_gas)
        result["maxPriorityFeePerGas"] = quantity(tx.max_priority_fee_per_gas)
        price = record.effective_gas_price if record else tx.max_fee_per_gas
        result["gasPrice"] = quantity(price)
    return result


def receipt_json(tx: SignedTransactionAPI, record: TxRecord, logs: list[LogRecord]) -> JSON:
    """A transaction receipt."""
    return {
        "type": quantity(tx.type_id or 0),
        "transactionHash": data(record.hash),
        "transactionIndex": quantity(record.tx_index),
        "blockHash": data(record.block_hash),
        "blockNumber": quantity(record.block_number),
        "from": data(record.sender),
        "to": data(tx.to) if tx.to else None,
        "cumulativeGasUsed": quantity(record.cumulative_gas_used),
        "gasUsed": quantity(record.gas_used),
        "effectiveGasPrice": quantity(record.effective_gas_price),
        "contractAddress": _optional_data(record.contract_address),
        "logs": [log_json(log) for log in logs],
        "logsBloom": data(record.bloom),
        "status": quantity(record.status),
    }


def block_json(
    header: BlockHeaderAPI,
    transactions: list[JSON] | list[str],
    size: int,
) -> JSON:
    """A block with either full transaction objects or their hashes."""
    result: JSON = {
        "number": quantity(header.block_number),
        "hash": data(header.hash),
        "parentHash": data(header.parent_hash),
        "nonce": data(header.nonce),
        "mixHash": data(header.mix_hash),
        "sha3Uncles": data(header.uncles_hash),
        "logsBloom": data(header.bloom.to_bytes(256, "big")),
        "transactionsRoot": data(header.transaction_root),
        "stateRoot": data(header.state_root),
        "receiptsRoot": data(header.receipt_root),
        "miner": data(header.coinbase),
        "difficulty": quantity(header.difficulty),
        "totalDifficulty": quantity(0),
        "extraData": data(header.extra_data),
        "size": quantity(size),
        "gasLimit": quantity(header.gas_limit),
        "gasUsed": quantity(header.gas_used),
        "timestamp": quantity(header.timestamp),
        "baseFeePerGas": quantity(header.base_fee_per_gas or 0),
        "transactions": transactions,
        "uncles": [],
        "withdrawals": [],
        "withdrawalsRoot": _optional_data(header.withdrawals_root),
        "blobGasUsed": quantity(header.blob_gas_used),
        "excessBlobGas": quantity(header.excess_blob_gas),
        "parentBeaconBlockRoot": _optional_data(header.parent_beacon_block_root),
        "requestsHash": data(header.requests_hash),  # type: ignore[attr-defined]
    }
    return result


def _rlp_list_length(payload: int) -> int:
    if payload < 56:
        return 1 + payload
    return 1 + (payload.bit_length() + 7) // 8 + payload


def block_size(header: BlockHeaderAPI, raw_transactions: list[bytes]) -> int:
    """RLP size of the block [header, transactions, uncles=[], withdrawals=[]]."""
    # legacy transactions are RLP lists already; typed ones are embedded as byte strings
    txs = sum(len(raw if raw[0] >= 0xC0 else rlp.encode(raw)) for raw in raw_transactions)
    payload = len(rlp.encode(header)) + _rlp_list_length(txs) + 1 + 1
    return _rlp_list_length(payload)
