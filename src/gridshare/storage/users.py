"""Login accounts: username, argon2id password hash, role, chain address, encrypted keystore."""

from __future__ import annotations

import json
import time
from dataclasses import dataclass
from enum import Enum
from typing import Any

from gridshare.storage.database import Database

_SCHEMA = (
    """CREATE TABLE IF NOT EXISTS users (
        id INTEGER PRIMARY KEY,
        username TEXT NOT NULL UNIQUE COLLATE NOCASE,
        password_hash TEXT NOT NULL,
        role TEXT NOT NULL,
        address TEXT NOT NULL,
        keystore TEXT,
        house_id INTEGER,
        created_at INTEGER NOT NULL
    )""",
    "CREATE TABLE IF NOT EXISTS community_prefs (name TEXT PRIMARY KEY, value TEXT NOT NULL)",
)


class Role(Enum):
    """What a login may do: trade for one household, or run the community."""

    RESIDENT = "resident"
    OPERATOR = "operator"


@dataclass(frozen=True, slots=True)
class User:
    """One login. `keystore` is None for MetaMask-only residents (the server never holds a key)."""

    id: int
    username: str
    password_hash: str
    role: Role
    address: str
    keystore: dict[str, Any] | None
    house_id: int | None

    @property
    def holds_key(self) -> bool:
        return self.keystore is not None


class UserTaken(Exception):
    """The username is already in use."""


class UserStore:
    """Users in the shared SQLite database."""

    def __init__(self, database: Database) -> None:
        self._db = database
        database.ensure_schema("users", 1, _SCHEMA)

    def add(
        self,
        username: str,
        password_hash: str,
        role: Role,
        address: str,
        keystore: dict[str, Any] | None,
        house_id: int | None,
    ) -> User:
        """Insert a user; raises UserTaken if the name exists (case-insensitive)."""
        with self._db.transaction() as conn:
            if conn.execute("SELECT 1 FROM users WHERE username = ?", (username,)).fetchone():
                raise UserTaken(username)
            cursor = conn.execute(
                "INSERT INTO users (username, password_hash, role, address, keystore, house_id,"
                " created_at) VALUES (?, ?, ?, ?, ?, ?, ?)",
                (
                    username,
                    password_hash,
                    role.value,
                    address,
                    None if keystore is None else json.dumps(keystore),
                    house_id,
                    int(time.time()),
                ),
            )
            user_id = int(cursor.lastrowid or 0)
        return User(user_id, username, password_hash, role, address, keystore, house_id)

    def by_username(self, username: str) -> User | None:
        row = self._db.connection().execute(
            "SELECT * FROM users WHERE username = ?", (username,)
        ).fetchone()
        return None if row is None else _user(row)

    def by_id(self, user_id: int) -> User | None:
        row = self._db.connection().execute(
            "SELECT * FROM users WHERE id = ?", (user_id,)
        ).fetchone()
        return None if row is None else _user(row)

    def by_address(self, address: str) -> User | None:
        row = self._db.connection().execute(
            "SELECT * FROM users WHERE lower(address) = lower(?)", (address,)
        ).fetchone()
        return None if row is None else _user(row)

    def all(self) -> list[User]:
        rows = self._db.connection().execute("SELECT * FROM users ORDER BY id").fetchall()
        return [_user(row) for row in rows]

    def set_password(
        self, user_id: int, password_hash: str, keystore: dict[str, Any] | None
    ) -> None:
        """Replace a user's password hash (and re-encrypted keystore)."""
        with self._db.transaction() as conn:
            conn.execute(
                "UPDATE users SET password_hash = ?, keystore = ? WHERE id = ?",
                (password_hash, None if keystore is None else json.dumps(keystore), user_id),
            )

    def remove(self, user_id: int) -> None:
        """Delete a user (undoing a registration that failed half way)."""
        with self._db.transaction() as conn:
            conn.execute("DELETE FROM users WHERE id = ?", (user_id,))

    def pref(self, name: str) -> str | None:
        """A community preference the operator chose (e.g. the market mechanism)."""
        row = self._db.connection().execute(
            "SELECT value FROM community_prefs WHERE name = ?", (name,)
        ).fetchone()
        return None if row is None else str(row["value"])

    def set_pref(self, name: str, value: str) -> None:
        with self._db.transaction() as conn:
            conn.execute(
                "INSERT OR REPLACE INTO community_prefs (name, value) VALUES (?, ?)", (name, value)
            )


def _user(row: Any) -> User:
    return User(
        id=int(row["id"]),
        username=str(row["username"]),
        password_hash=str(row["password_hash"]),
        role=Role(row["role"]),
        address=str(row["address"]),
        keystore=None if row["keystore"] is None else json.loads(row["keystore"]),
        house_id=None if row["house_id"] is None else int(row["house_id"]),
    )
