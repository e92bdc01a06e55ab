"""The explorer's index in its own SQLite file: write indexed blocks, read them back."""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Iterable, Sequence
from pathlib import Path
from typing import Any

from gridshare.explorer.records import BlockRecord, Call, Event, IndexedBlock, TxRecord
from gridshare.storage.database import Database

SCHEMA_VERSION = 1
_STATEMENTS = (
    "CREATE TABLE IF NOT EXISTS explorer_meta (key TEXT PRIMARY KEY, value TEXT NOT NULL)",
    """CREATE TABLE IF NOT EXISTS explorer_blocks (
        number INTEGER PRIMARY KEY, hash TEXT NOT NULL UNIQUE, parent_hash TEXT NOT NULL,
        nonce TEXT NOT NULL, difficulty TEXT NOT NULL, size INTEGER NOT NULL,
        gas_limit INTEGER NOT NULL, gas_used INTEGER NOT NULL, timestamp INTEGER NOT NULL,
        miner TEXT NOT NULL, base_fee TEXT NOT NULL, tx_count INTEGER NOT NULL)""",
    """CREATE TABLE IF NOT EXISTS explorer_txs (
        hash TEXT PRIMARY KEY, block_number INTEGER NOT NULL, idx INTEGER NOT NULL,
        sender TEXT NOT NULL, recipient TEXT, value TEXT NOT NULL, gas INTEGER NOT NULL,
        gas_price TEXT NOT NULL, gas_used INTEGER NOT NULL, status INTEGER NOT NULL,
        contract_address TEXT, input TEXT NOT NULL, nonce INTEGER NOT NULL,
        function TEXT, args TEXT, UNIQUE (block_number, idx))""",
    """CREATE TABLE IF NOT EXISTS explorer_address_txs (
        address TEXT NOT NULL, block_number INTEGER NOT NULL, idx INTEGER NOT NULL,
        tx_hash TEXT NOT NULL, PRIMARY KEY (address, block_number, idx)) WITHOUT ROWID""",
    """CREATE TABLE IF NOT EXISTS explorer_events (
        block_number INTEGER NOT NULL, log_index INTEGER NOT NULL, tx_hash TEXT NOT NULL,
        name TEXT NOT NULL, args TEXT NOT NULL, timestamp INTEGER NOT NULL,
        order_id INTEGER, delivery_id INTEGER, house_id INTEGER,
        PRIMARY KEY (block_number, log_index))""",
    "CREATE INDEX IF NOT EXISTS explorer_events_tx ON explorer_events (tx_hash)",
    "CREATE INDEX IF NOT EXISTS explorer_events_order ON explorer_events (order_id)",
    "CREATE INDEX IF NOT EXISTS explorer_events_delivery ON explorer_events (delivery_id)",
    "CREATE INDEX IF NOT EXISTS explorer_events_house ON explorer_events (house_id)",
    "CREATE INDEX IF NOT EXISTS explorer_events_name ON explorer_events (name)",
    """CREATE TABLE IF NOT EXISTS explorer_event_accounts (
        account TEXT NOT NULL, name TEXT NOT NULL, block_number INTEGER NOT NULL,
        log_index INTEGER NOT NULL, PRIMARY KEY (account, name, block_number, log_index))
        WITHOUT ROWID""",
)
_TABLES = ("explorer_blocks", "explorer_txs", "explorer_address_txs", "explorer_events",
           "explorer_event_accounts")


def _block(row: sqlite3.Row) -> BlockRecord:
    return BlockRecord(
        number=row["number"], hash=row["hash"], parent_hash=row["parent_hash"],
        nonce=row["nonce"], difficulty=int(row["difficulty"]), size=row["size"],
        gas_limit=row["gas_limit"], gas_used=row["gas_used"], timestamp=row["timestamp"],
        miner=row["miner"], base_fee=int(row["base_fee"]), tx_count=row["tx_count"],
    )


def _tx(row: sqlite3.Row) -> TxRecord:
    call = None if row["function"] is None else Call(row["function"], json.loads(row["args"]))
    return TxRecord(
        hash=row["hash"], block_number=row["block_number"], index=row["idx"],
        sender=row["sender"], to=row["recipient"], value=int(row["value"]), gas=row["gas"],
        gas_price=int(row["gas_price"]), gas_used=row["gas_used"], status=row["status"],
        contract_address=row["contract_address"], input=row["input"], nonce=row["nonce"],
        call=call,
    )


def _event(row: sqlite3.Row) -> Event:
    return Event(row["name"], json.loads(row["args"]), row["block_number"], row["log_index"],
                 row["tx_hash"], row["timestamp"])


def _maybe_int(args: dict[str, Any], key: str) -> int | None:
    value = args.get(key)
    return int(value) if isinstance(value, int) and not isinstance(value, bool) else None


class ExplorerStore:
    """Blocks, transactions and market events indexed so far; every block commits whole."""

    def __init__(self, path: Path) -> None:
        # an index can always be rebuilt from the chain: no fsync per commit
        self.database = Database(path, synchronous="NORMAL")
        self.database.ensure_schema("explorer", 1, _STATEMENTS)
        with self.database.transaction() as conn:
            conn.execute("INSERT OR IGNORE INTO explorer_meta VALUES ('schema', ?)",
                         (str(SCHEMA_VERSION),))
            row = conn.execute("SELECT value FROM explorer_meta WHERE key = 'schema'").fetchone()
        if row["value"] != str(SCHEMA_VERSION):
            raise RuntimeError(f"{path} is explorer index version {row['value']}: delete it "
                               f"and the explorer re-indexes the chain")

    def close(self) -> None:
        self.database.close()

    def _rows(self, sql: str, params: Sequence[Any] = ()) -> list[sqlite3.Row]:
        return self.database.connection().execute(sql, params).fetchall()

    def _one(self, sql: str, params: Sequence[Any] = ()) -> sqlite3.Row | None:
        row: sqlite3.Row | None = self.database.connection().execute(sql, params).fetchone()
        return row

    # -- writing -------------------------------------------------------------

    def append(self, blocks: Iterable[IndexedBlock]) -> None:
        """Store blocks (with their transactions and events) in one transaction."""
        with self.database.transaction() as conn:
            for item in blocks:
                _insert_block(conn, item)

    def drop_after(self, number: int) -> None:
        """Forget every block above `number` (a re-organisation replaced them)."""
        with self.database.transaction() as conn:
            for table in _TABLES:
                column = "number" if table == "explorer_blocks" else "block_number"
                conn.execute(f"DELETE FROM {table} WHERE {column} > ?", (number,))

    # -- blocks and transactions ----------------------------------------------

    def last_block(self) -> BlockRecord | None:
        row = self._one("SELECT * FROM explorer_blocks ORDER BY number DESC LIMIT 1")
        return None if row is None else _block(row)

    def block(self, number: int) -> BlockRecord | None:
        row = self._one("SELECT * FROM explorer_blocks WHERE number = ?", (number,))
        return None if row is None else _block(row)

    def block_by_hash(self, block_hash: str) -> BlockRecord | None:
        row = self._one("SELECT * FROM explorer_blocks WHERE hash = ?", (block_hash.lower(),))
        return None if row is None else _block(row)

    def recent_blocks(self, limit: int, before: int | None = None) -> list[BlockRecord]:
        top = before if before is not None else 2**62
        rows = self._rows(
            "SELECT * FROM explorer_blocks WHERE number < ? ORDER BY number DESC LIMIT ?",
            (top, limit),
        )
        return [_block(r) for r in rows]

    def block_transactions(self, number: int) -> list[TxRecord]:
        rows = self._rows("SELECT * FROM explorer_txs WHERE block_number = ? ORDER BY idx",
                          (number,))
        return [_tx(r) for r in rows]

    def recent_transactions(self, limit: int) -> list[TxRecord]:
        rows = self._rows(
            "SELECT * FROM explorer_txs ORDER BY block_number DESC, idx DESC LIMIT ?", (limit,)
        )
        return [_tx(r) for r in rows]

    def transaction(self, tx_hash: str) -> TxRecord | None:
        row = self._one("SELECT * FROM explorer_txs WHERE hash = ?", (tx_hash.lower(),))
        return None if row is None else _tx(row)

    def transaction_count(self) -> int:
        row = self._one("SELECT COUNT(*) AS n FROM explorer_txs")
        return 0 if row is None else int(row["n"])

    def address_transactions(self, address: str, limit: int, offset: int) -> list[TxRecord]:
        rows = self._rows(
            "SELECT t.* FROM explorer_address_txs a JOIN explorer_txs t ON t.hash = a.tx_hash"
            " WHERE a.address = ? ORDER BY a.block_number DESC, a.idx DESC LIMIT ? OFFSET ?",
            (address.lower(), limit, offset),
        )
        return [_tx(r) for r in rows]

    def address_transaction_count(self, address: str) -> int:
        row = self._one("SELECT COUNT(*) AS n FROM explorer_address_txs WHERE address = ?",
                        (address.lower(),))
        return 0 if row is None else int(row["n"])

    # -- market events ---------------------------------------------------------

    def transaction_events(self, tx_hash: str) -> list[Event]:
        rows = self._rows("SELECT * FROM explorer_events WHERE tx_hash = ? ORDER BY log_index",
                          (tx_hash.lower(),))
        return [_event(r) for r in rows]

    def order_events(self, order_ids: Sequence[int]) -> list[Event]:
        marks = ",".join("?" * len(order_ids))
        rows = self._rows(
            f"SELECT * FROM explorer_events WHERE order_id IN ({marks})"
            " ORDER BY block_number, log_index", tuple(order_ids),
        )
        return [_event(r) for r in rows]

    def delivery_events(self, delivery_ids: Sequence[int]) -> list[Event]:
        marks = ",".join("?" * len(delivery_ids))
        rows = self._rows(
            f"SELECT * FROM explorer_events WHERE delivery_id IN ({marks})"
            " ORDER BY block_number, log_index", tuple(delivery_ids),
        )
        return [_event(r) for r in rows]

    def account_events(self, account: str, name: str, limit: int, offset: int) -> list[Event]:
        """Events called `name` that mention `account`, newest first."""
        rows = self._rows(
            "SELECT e.* FROM explorer_event_accounts a JOIN explorer_events e"
            " ON e.block_number = a.block_number AND e.log_index = a.log_index"
            " WHERE a.account = ? AND a.name = ?"
            " ORDER BY a.block_number DESC, a.log_index DESC LIMIT ? OFFSET ?",
            (account.lower(), name, limit, offset),
        )
        return [_event(r) for r in rows]

    def account_event_count(self, account: str, name: str) -> int:
        row = self._one(
            "SELECT COUNT(*) AS n FROM explorer_event_accounts WHERE account = ? AND name = ?",
            (account.lower(), name),
        )
        return 0 if row is None else int(row["n"])

    def registrations(self) -> list[Event]:
        """Every HouseholdRegistered event, oldest first."""
        rows = self._rows("SELECT * FROM explorer_events WHERE name = 'HouseholdRegistered'"
                          " ORDER BY block_number, log_index")
        return [_event(r) for r in rows]

    def house_registrations(self, house_id: int) -> list[Event]:
        rows = self._rows(
            "SELECT * FROM explorer_events WHERE house_id = ? AND name = 'HouseholdRegistered'"
            " ORDER BY block_number, log_index", (house_id,),
        )
        return [_event(r) for r in rows]


def _insert_block(conn: sqlite3.Connection, item: IndexedBlock) -> None:
    b = item.block
    conn.execute(
        "INSERT INTO explorer_blocks VALUES (?,?,?,?,?,?,?,?,?,?,?,?)",
        (b.number, b.hash, b.parent_hash, b.nonce, str(b.difficulty), b.size, b.gas_limit,
         b.gas_used, b.timestamp, b.miner, str(b.base_fee), b.tx_count),
    )
    for t in item.transactions:
        conn.execute(
            "INSERT INTO explorer_txs VALUES (?,?,?,?,?,?,?,?,?,?,?,?,?,?,?)",
            (t.hash, t.block_number, t.index, t.sender, t.to, str(t.value), t.gas,
             str(t.gas_price), t.gas_used, t.status, t.contract_address, t.input, t.nonce,
             None if t.call is None else t.call.function,
             None if t.call is None else json.dumps(t.call.args)),
        )
        for address in {a for a in (t.sender, t.to, t.contract_address) if a}:
            conn.execute("INSERT INTO explorer_address_txs VALUES (?,?,?,?)",
                         (address, t.block_number, t.index, t.hash))
    for e in item.events:
        conn.execute(
            "INSERT INTO explorer_events VALUES (?,?,?,?,?,?,?,?,?)",
            (e.block_number, e.log_index, e.tx_hash, e.name, json.dumps(e.args), e.timestamp,
             _maybe_int(e.args, "order_id"), _maybe_int(e.args, "delivery_id"),
             _maybe_int(e.args, "house_id")),
        )
        accounts = {v for v in e.args.values() if isinstance(v, str) and len(v) == 42}
        for account in accounts:
            conn.execute("INSERT INTO explorer_event_accounts VALUES (?,?,?,?)",
                         (account, e.name, e.block_number, e.log_index))
