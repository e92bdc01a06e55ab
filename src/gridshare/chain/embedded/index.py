"""Transaction and event index of the embedded chain, written in each block's commit.

Receipts and logs are looked up here with SQL instead of walking py-evm's receipt tries,
so `eth_getLogs` and `eth_getTransactionReceipt` cost one indexed query each.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Sequence
from dataclasses import dataclass

from gridshare.chain.embedded.store import BlockStore

MAX_LOGS_PER_QUERY = 10_000


@dataclass(frozen=True)
class LogRecord:
    """One event emitted by a mined transaction."""

    block_number: int
    log_index: int
    tx_index: int
    tx_hash: bytes
    block_hash: bytes
    address: bytes
    topics: tuple[bytes, ...]
    data: bytes


@dataclass(frozen=True)
class TxRecord:
    """A mined transaction with its receipt fields."""

    hash: bytes
    block_number: int
    tx_index: int
    block_hash: bytes
    sender: bytes
    raw: bytes
    contract_address: bytes | None
    gas_used: int
    cumulative_gas_used: int
    status: int
    effective_gas_price: int
    first_log_index: int
    bloom: bytes


@dataclass(frozen=True)
class LogFilter:
    """eth_getLogs criteria: a block range, addresses (any of) and topics per position.

    `topics[i]` is None for "any", else the tuple of accepted values at position i.
    """

    from_block: int
    to_block: int
    addresses: tuple[bytes, ...] = ()
    topics: tuple[tuple[bytes, ...] | None, ...] = ()


class TooManyLogs(Exception):
    """The log query matched more rows than one response may carry."""


_TX_COLUMNS = (
    "hash, block_number, tx_index, block_hash, sender, raw, contract_address, gas_used, "
    "cumulative_gas_used, status, effective_gas_price, first_log_index, bloom"
)
_LOG_COLUMNS = (
    "block_number, log_index, tx_index, tx_hash, block_hash, address, "
    "topic0, topic1, topic2, topic3, data"
)


def write_block_rows(
    conn: sqlite3.Connection, txs: Sequence[TxRecord], logs: Sequence[LogRecord]
) -> None:
    """Insert one block's transactions and logs (inside the block's SQLite transaction)."""
    conn.executemany(
        f"INSERT OR REPLACE INTO txs ({_TX_COLUMNS}) VALUES (?,?,?,?,?,?,?,?,?,?,?,?,?)",
        [
            (
                t.hash, t.block_number, t.tx_index, t.block_hash, t.sender, t.raw,
                t.contract_address, t.gas_used, t.cumulative_gas_used, t.status,
                t.effective_gas_price, t.first_log_index, t.bloom,
            )
            for t in txs
        ],
    )
    conn.executemany(
        f"INSERT INTO logs ({_LOG_COLUMNS}) VALUES (?,?,?,?,?,?,?,?,?,?,?)",
        [
            (
                log.block_number, log.log_index, log.tx_index, log.tx_hash, log.block_hash,
                log.address, *(list(log.topics) + [None] * (4 - len(log.topics))), log.data,
            )
            for log in logs
        ],
    )


def drop_blocks_after(conn: sqlite3.Connection, block_number: int) -> None:
    """Remove index rows of blocks above `block_number` (used by evm_revert)."""
    conn.execute("DELETE FROM txs WHERE block_number > ?", (block_number,))
    conn.execute("DELETE FROM logs WHERE block_number > ?", (block_number,))


def _tx(row: tuple[object, ...]) -> TxRecord:
    return TxRecord(*row)  # type: ignore[arg-type]


def _log(row: tuple[object, ...]) -> LogRecord:
    topics = tuple(t for t in row[6:10] if t is not None)
    return LogRecord(
        row[0], row[1], row[2], row[3], row[4], row[5], topics, row[10]  # type: ignore[arg-type]
    )


class ChainIndex:
    """Read side of the transaction and event index."""

    def __init__(self, store: BlockStore) -> None:
        self._store = store

    def transaction(self, tx_hash: bytes) -> TxRecord | None:
        """The mined transaction with this hash, if any."""
        rows = self._store.query(f"SELECT {_TX_COLUMNS} FROM txs WHERE hash = ?", (tx_hash,))
        return _tx(rows[0]) if rows else None

    def block_transactions(self, block_number: int) -> list[TxRecord]:
        """The transactions of a canonical block, in order."""
        rows = self._store.query(
            f"SELECT {_TX_COLUMNS} FROM txs WHERE block_number = ? ORDER BY tx_index",
            (block_number,),
        )
        return [_tx(r) for r in rows]

    def transaction_logs(self, record: TxRecord) -> list[LogRecord]:
        """The logs a mined transaction emitted."""
        rows = self._store.query(
            f"SELECT {_LOG_COLUMNS} FROM logs WHERE block_number = ? AND tx_index = ? "
            "ORDER BY log_index",
            (record.block_number, record.tx_index),
        )
        return [_log(r) for r in rows]

    def transaction_count(self) -> int:
        """How many transactions the canonical chain holds."""
        count = self._store.query("SELECT COUNT(*) FROM txs")[0][0]
        assert isinstance(count, int)
        return count

    def logs(self, criteria: LogFilter, limit: int = MAX_LOGS_PER_QUERY) -> list[LogRecord]:
        """Logs matching the filter, in chain order; raises TooManyLogs above `limit`."""
        clauses = ["block_number BETWEEN ? AND ?"]
        params: list[object] = [criteria.from_block, criteria.to_block]
        if criteria.addresses:
            clauses.append(f"address IN ({','.join('?' * len(criteria.addresses))})")
            params.extend(criteria.addresses)
        for position, accepted in enumerate(criteria.topics[:4]):
            if accepted is None:
                continue
            if not accepted:
                return []
            clauses.append(f"topic{position} IN ({','.join('?' * len(accepted))})")
            params.extend(accepted)
        sql = (
            f"SELECT {_LOG_COLUMNS} FROM logs WHERE {' AND '.join(clauses)} "
            f"ORDER BY block_number, log_index LIMIT {limit + 1}"
        )
        rows = self._store.query(sql, tuple(params))
        if len(rows) > limit:
            raise TooManyLogs(f"query returned more than {limit} results; narrow the block range")
        return [_log(r) for r in rows]
