"""SQLite-backed key-value store for py-evm, committed atomically once per block.

py-evm writes trie nodes, headers and lookups through a plain key-value interface.
`BlockStore` keeps every write of the block being built in memory and writes them,
together with the event index rows, in ONE SQLite transaction (`commit`). A process
killed before that commit leaves the database exactly as it was after the previous
block; a process killed after it has lost nothing. SQLite runs in WAL mode.
"""

from __future__ import annotations

import sqlite3
import threading
from collections import OrderedDict
from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Literal

from eth.db.backends.base import BaseDB

Durability = Literal["full", "normal"]

_DELETED = object()
_CACHE_ENTRIES = 50_000

_SCHEMA = """
CREATE TABLE IF NOT EXISTS kv (k BLOB PRIMARY KEY, v BLOB NOT NULL) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS meta (name TEXT PRIMARY KEY, value TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS txs (
    hash BLOB PRIMARY KEY,
    block_number INTEGER NOT NULL,
    tx_index INTEGER NOT NULL,
    block_hash BLOB NOT NULL,
    sender BLOB NOT NULL,
    raw BLOB NOT NULL,
    contract_address BLOB,
    gas_used INTEGER NOT NULL,
    cumulative_gas_used INTEGER NOT NULL,
    status INTEGER NOT NULL,
    effective_gas_price INTEGER NOT NULL,
    first_log_index INTEGER NOT NULL,
    bloom BLOB NOT NULL
);
CREATE INDEX IF NOT EXISTS txs_by_block ON txs (block_number, tx_index);
CREATE TABLE IF NOT EXISTS logs (
    block_number INTEGER NOT NULL,
    log_index INTEGER NOT NULL,
    tx_index INTEGER NOT NULL,
    tx_hash BLOB NOT NULL,
    block_hash BLOB NOT NULL,
    address BLOB NOT NULL,
    topic0 BLOB, topic1 BLOB, topic2 BLOB, topic3 BLOB,
    data BLOB NOT NULL,
    PRIMARY KEY (block_number, log_index)
) WITHOUT ROWID;
CREATE INDEX IF NOT EXISTS logs_by_address ON logs (address, block_number);
CREATE INDEX IF NOT EXISTS logs_by_topic0 ON logs (topic0, block_number);
CREATE TABLE IF NOT EXISTS state_nodes (k BLOB PRIMARY KEY) WITHOUT ROWID;
"""

IndexWriter = Callable[[sqlite3.Connection], None]


class BlockStore(BaseDB):
    """py-evm key-value database over SQLite with an in-memory write buffer per block."""

    def __init__(self, path: Path, durability: Durability = "full") -> None:
        self.path = path
        self._conn = sqlite3.connect(
            str(path), isolation_level=None, check_same_thread=False
        )
        self._conn.execute("PRAGMA journal_mode=WAL")
        self._conn.execute(f"PRAGMA synchronous={durability.upper()}")
        self._conn.executescript(_SCHEMA)
        self._pending: dict[bytes, object] = {}
        self._state_keys: set[bytes] = set()  # written while `state_writes` was open
        self._tagging = False
        self._watched: set[bytes] | None = None  # state keys committed while a prune walks
        self._cache: OrderedDict[bytes, bytes] = OrderedDict()
        self._sql_lock = threading.Lock()

    # -- key-value interface used by py-evm --

    def __getitem__(self, key: bytes) -> bytes:
        value = self._pending.get(key)
        if value is not None:
            if value is _DELETED:
                raise KeyError(key)
            assert isinstance(value, bytes)
            return value
        cached = self._cache.get(key)
        if cached is not None:
            return cached
        with self._sql_lock:
            row = self._conn.execute("SELECT v FROM kv WHERE k = ?", (key,)).fetchone()
        if row is None:
            raise KeyError(key)
        found: bytes = row[0]
        self._remember(key, found)
        return found

    def __setitem__(self, key: bytes, value: bytes) -> None:
        self._pending[key] = bytes(value)
        if self._tagging and len(key) == 32:
            self._state_keys.add(bytes(key))

    def __delitem__(self, key: bytes) -> None:
        if not self._exists(key):
            raise KeyError(key)
        self._pending[key] = _DELETED

    def _exists(self, key: bytes) -> bool:
        try:
            self[key]
        except KeyError:
            return False
        return True

    @contextmanager
    def state_writes(self) -> Iterator[None]:
        """Within the block, writes are the state's trie nodes and code (keyed by hash).

        Their keys are listed in `state_nodes` at the commit: the only keys `delete_state_nodes`
        may remove once no kept state refers to them.
        """
        self._tagging = True
        try:
            yield
        finally:
            self._tagging = False

    # -- block commit --

    @property
    def has_pending_writes(self) -> bool:
        """Whether writes are buffered that the next `commit` will make durable."""
        return bool(self._pending)

    def commit(self, index_writer: IndexWriter | None = None) -> None:
        """Write the buffered key-values and the index rows in one SQLite transaction."""
        upserts = [(k, v) for k, v in self._pending.items() if isinstance(v, bytes)]
        deletes = [(k,) for k, v in self._pending.items() if v is _DELETED]
        with self._sql_lock:
            self._conn.execute("BEGIN IMMEDIATE")
            try:
                self._conn.executemany(
                    "INSERT OR REPLACE INTO kv (k, v) VALUES (?, ?)", upserts
                )
                self._conn.executemany("DELETE FROM kv WHERE k = ?", deletes)
                self._conn.executemany(
                    "INSERT OR IGNORE INTO state_nodes (k) VALUES (?)",
                    [(k,) for k in self._state_keys if isinstance(self._pending.get(k), bytes)],
                )
                if index_writer is not None:
                    index_writer(self._conn)
                self._conn.execute("COMMIT")
            except BaseException as exc:
                if self._conn.in_transaction:
                    self._conn.execute("ROLLBACK")
                elif not isinstance(exc, sqlite3.Error):
                    # COMMIT returned, then an interrupt landed (Ctrl-C, raised as the call
                    # came back): the block is on disk, so the buffer and cache follow it
                    # before the interrupt goes on. (A ROLLBACK here used to fail and replace
                    # the KeyboardInterrupt with "no transaction is active".) A failed COMMIT
                    # that SQLite rolled back itself (a full disk) raises its own error.
                    self._committed(upserts, deletes)
                raise
        self._committed(upserts, deletes)

    def _committed(self, upserts: list[tuple[bytes, bytes]], deletes: list[tuple[bytes]]) -> None:
        """The in-memory side of a commit: cache what was written, empty the buffer."""
        for key, value in upserts:
            self._remember(key, value)
        for (key,) in deletes:
            self._cache.pop(key, None)
        if self._watched is not None:
            self._watched.update(self._state_keys)
        self._pending.clear()
        self._state_keys.clear()

    def rollback(self) -> None:
        """Forget every write buffered since the last commit."""
        self._pending.clear()
        self._state_keys.clear()

    # -- pruning old state --

    def watch_state_writes(self) -> set[bytes]:
        """From now on, collect the state keys each commit writes (until `unwatch`)."""
        self._watched = set()
        return self._watched

    def unwatch(self) -> None:
        """Stop collecting state keys."""
        self._watched = None

    def state_node_keys(self) -> set[bytes]:
        """Every committed key written as state (trie node or code) and not yet pruned."""
        with self._sql_lock:
            rows = self._conn.execute("SELECT k FROM state_nodes").fetchall()
        return {bytes(row[0]) for row in rows}

    def delete_state_nodes(self, keys: Iterable[bytes]) -> int:
        """Delete state keys and their values in one transaction; returns the bytes deleted."""
        if self._pending:
            raise RuntimeError("delete_state_nodes with a block being written")
        rows = [(k,) for k in keys]
        with self._sql_lock:
            self._conn.execute("BEGIN IMMEDIATE")
            try:
                self._conn.execute("CREATE TEMP TABLE IF NOT EXISTS dead (k BLOB PRIMARY KEY)")
                self._conn.execute("DELETE FROM temp.dead")
                self._conn.executemany("INSERT OR IGNORE INTO temp.dead (k) VALUES (?)", rows)
                (deleted,) = self._conn.execute(
                    "SELECT COALESCE(SUM(32 + length(v)), 0) FROM kv"
                    " WHERE k IN (SELECT k FROM temp.dead)"
                ).fetchone()
                self._conn.execute("DELETE FROM kv WHERE k IN (SELECT k FROM temp.dead)")
                self._conn.execute("DELETE FROM state_nodes WHERE k IN (SELECT k FROM temp.dead)")
                self._conn.execute("DELETE FROM temp.dead")
                self._conn.execute("COMMIT")
            except BaseException:
                self._conn.execute("ROLLBACK")
                raise
        for (key,) in rows:
            self._cache.pop(key, None)
        return int(deleted)

    def vacuum(self) -> None:
        """Rewrite the database file without its free pages (needs as much free disk again)."""
        with self._sql_lock:
            self._conn.execute("VACUUM")

    def _remember(self, key: bytes, value: bytes) -> None:
        self._cache[key] = value
        if len(self._cache) > _CACHE_ENTRIES:
            self._cache.popitem(last=False)

    # -- plain SQL reads for the index and metadata --

    def query(self, sql: str, params: tuple[object, ...] = ()) -> list[tuple[object, ...]]:
        """Run a read-only SQL query on the committed data."""
        with self._sql_lock:
            return list(self._conn.execute(sql, params).fetchall())

    def get_meta(self, name: str) -> str | None:
        """Read one committed metadata value."""
        rows = self.query("SELECT value FROM meta WHERE name = ?", (name,))
        return str(rows[0][0]) if rows else None

    def __iter__(self) -> Iterator[bytes]:
        raise NotImplementedError("BlockStore cannot be iterated")

    def close(self) -> None:
        """Close the SQLite connection (buffered writes are dropped)."""
        self._pending.clear()
        with self._sql_lock:
            self._conn.close()
