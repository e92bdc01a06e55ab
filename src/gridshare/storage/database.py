"""The server's SQLite database file: one connection per thread, WAL, schemas per module."""

from __future__ import annotations

import sqlite3
import threading
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import Literal

Synchronous = Literal["FULL", "NORMAL"]


class Database:
    """A SQLite file shared by the server's modules; each registers its own tables.

    `synchronous="FULL"` (the default) makes every commit durable across a power cut;
    "NORMAL" survives a killed process and suits data that can be rebuilt (an index).
    """

    def __init__(self, path: Path, *, synchronous: Synchronous = "FULL") -> None:
        self.path = path
        self.synchronous = synchronous
        path.parent.mkdir(parents=True, exist_ok=True)
        self._local = threading.local()
        self._all: dict[threading.Thread, sqlite3.Connection] = {}
        self._guard = threading.Lock()
        with self.transaction() as conn:
            conn.execute(
                "CREATE TABLE IF NOT EXISTS schema_versions"
                " (name TEXT PRIMARY KEY, version INTEGER)"
            )

    def connection(self) -> sqlite3.Connection:
        """This thread's connection (autocommit off; use `transaction`).

        The web server's worker threads come and go (an idle one ends after a while, and a
        new one starts for the next burst of requests): the connections of threads that have
        ended are closed whenever a new one is opened, so their number stays that of the
        live threads instead of growing for as long as the server runs.
        """
        conn: sqlite3.Connection | None = getattr(self._local, "conn", None)
        if conn is None:
            conn = sqlite3.connect(
                self.path, timeout=30, isolation_level=None, check_same_thread=False
            )  # used by one thread; close() may run on another
            conn.row_factory = sqlite3.Row
            conn.execute("PRAGMA journal_mode=WAL")
            conn.execute(f"PRAGMA synchronous={self.synchronous}")
            conn.execute("PRAGMA foreign_keys=ON")
            self._local.conn = conn
            with self._guard:
                for thread in [t for t in self._all if not t.is_alive()]:
                    self._all.pop(thread).close()
                self._all[threading.current_thread()] = conn
        return conn

    def open_connections(self) -> int:
        """How many connections are open (one per thread that has used the database)."""
        with self._guard:
            return len(self._all)

    @contextmanager
    def transaction(self) -> Iterator[sqlite3.Connection]:
        """An IMMEDIATE transaction: committed on success, rolled back on any error."""
        conn = self.connection()
        conn.execute("BEGIN IMMEDIATE")
        try:
            yield conn
        except BaseException:
            conn.execute("ROLLBACK")
            raise
        conn.execute("COMMIT")

    def ensure_schema(
        self,
        name: str,
        version: int,
        statements: Sequence[str],
        upgrades: Mapping[int, Sequence[str]] | None = None,
    ) -> None:
        """Create module `name`'s tables (idempotent), or upgrade them in place to `version`.

        `statements` create the current schema. `upgrades[v]` takes tables of version v to
        v + 1 (ALTER TABLE ... ADD COLUMN, say): a database an older version made is upgraded,
        its rows kept, all in one transaction. A version this code cannot reach (newer, or
        with no upgrade from it) is refused rather than used.
        """
        with self.transaction() as conn:
            row = conn.execute(
                "SELECT version FROM schema_versions WHERE name = ?", (name,)
            ).fetchone()
            found = version if row is None else int(row["version"])
            steps = upgrades or {}
            if found > version or any(v not in steps for v in range(found, version)):
                raise RuntimeError(
                    f"database schema {name!r} is version {found}, code expects {version}"
                )
            for v in range(found, version):
                for statement in steps[v]:
                    conn.execute(statement)
            for statement in statements:
                conn.execute(statement)
            conn.execute(
                "INSERT INTO schema_versions (name, version) VALUES (?, ?)"
                " ON CONFLICT (name) DO UPDATE SET version = excluded.version",
                (name, version),
            )

    def close(self) -> None:
        """Close every thread's connection."""
        with self._guard:
            for conn in self._all.values():
                conn.close()
            self._all.clear()
        self._local = threading.local()
