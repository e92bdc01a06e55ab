"""Client-chosen request keys: a repeated write gets the first one's answer.

A phone on a slow link sends the same order (or the operator the same top-up) twice: a
double tap, or a retry after an answer that never arrived. When the request carries a key
(the API's `Idempotency-Key` header, the market and top-up forms' hidden `request_key`),
`RequestKeys.run` does its work once per (account, key):

- a repeat of a finished request returns the stored answer and sends nothing;
- a repeat that arrives while the first still runs waits for it, then returns its answer;
- a refusal (one of the `frees` exceptions: nothing reached the chain) frees the key, so the
  same request may be tried again once its cause is fixed;
- the same key with other content is refused (`RequestKeyReused`);
- work cut short by a restart, or failed in a way that may have sent a transaction (a
  timeout), leaves the key unfinished: a repeat is refused (`RequestUnfinished`) rather than
  risk a second order.

Keys are kept for `RETENTION_S` (a day); the table holds no more than a day of requests.
"""

from __future__ import annotations

import re
import time
from collections.abc import Callable

from gridshare.storage.database import Database
from gridshare.storage.keyed_locks import KeyedLocks

SCHEMA_NAME = "web.request_keys"
SCHEMA_VERSION = 1
SCHEMA = (
    """CREATE TABLE IF NOT EXISTS request_keys (
        account TEXT NOT NULL,
        key TEXT NOT NULL,
        fingerprint TEXT NOT NULL,
        answer TEXT,
        created_at REAL NOT NULL,
        PRIMARY KEY (account, key)
    ) WITHOUT ROWID""",
    "CREATE INDEX IF NOT EXISTS request_keys_age ON request_keys (created_at)",
)

RETENTION_S = 24 * 3600
KEY_RULE = "8 to 100 characters: letters, digits, '-' and '_'"
BAD_KEY = f"A request key must be {KEY_RULE}."
_KEY = re.compile(r"[A-Za-z0-9_-]{8,100}")


class RequestKeyError(Exception):
    """A request key was refused; `code` is stable."""

    code = "bad_request_key"


class BadRequestKey(RequestKeyError):
    """The key does not follow `KEY_RULE` (code `bad_request_key`, the base class's)."""


class RequestKeyReused(RequestKeyError):
    """The key was already used for a different request."""

    code = "request_key_reused"


class RequestUnfinished(RequestKeyError):
    """An earlier request with the key did not finish: it may or may not have taken effect."""

    code = "request_unfinished"


def check_key(key: str) -> str:
    """The key if it follows `KEY_RULE`, else BadRequestKey naming the rule."""
    if not _KEY.fullmatch(key):
        raise BadRequestKey(BAD_KEY)
    return key


class RequestKeys:
    """Stored answers of keyed requests, one per (account, key), kept for a day."""

    def __init__(self, database: Database, *, clock: Callable[[], float] = time.time) -> None:
        self.database = database
        self._clock = clock
        self._locks = KeyedLocks()
        database.ensure_schema(SCHEMA_NAME, SCHEMA_VERSION, SCHEMA)

    def run(
        self,
        account: str,
        key: str,
        fingerprint: str,
        work: Callable[[], str],
        *,
        frees: tuple[type[BaseException], ...],
    ) -> str:
        """`work()`'s answer, computed at most once per (account, key); see the module doc.

        `fingerprint` describes the request's content (what it does, with which values).
        """
        check_key(key)
        account = account.lower()
        with self._locks.held(f"{account}/{key}"):
            row = self._row(account, key)
            if row is not None:
                stored_fingerprint, answer = row
                if stored_fingerprint != fingerprint:
                    raise RequestKeyReused(
                        "This request key was already used for a different request;"
                        " send a new key for a new request."
                    )
                if answer is None:
                    raise RequestUnfinished(
                        "An earlier request with this key did not finish, so it may or may not"
                        " have taken effect. Check before sending it again with a new key."
                    )
                return answer
            self._claim(account, key, fingerprint)
            try:
                answer = work()
            except frees:
                self._free(account, key)
                raise
            self._finish(account, key, answer)
            return answer

    def _row(self, account: str, key: str) -> tuple[str, str | None] | None:
        row = (
            self.database.connection()
            .execute(
                "SELECT fingerprint, answer FROM request_keys WHERE account = ? AND key = ?",
                (account, key),
            )
            .fetchone()
        )
        return None if row is None else (str(row["fingerprint"]), row["answer"])

    def _claim(self, account: str, key: str, fingerprint: str) -> None:
        now = self._clock()
        with self.database.transaction() as conn:
            conn.execute("DELETE FROM request_keys WHERE created_at < ?", (now - RETENTION_S,))
            conn.execute(
                "INSERT INTO request_keys (account, key, fingerprint, answer, created_at)"
                " VALUES (?, ?, ?, NULL, ?)",
                (account, key, fingerprint, now),
            )

    def _free(self, account: str, key: str) -> None:
        with self.database.transaction() as conn:
            conn.execute(
                "DELETE FROM request_keys WHERE account = ? AND key = ?", (account, key)
            )

    def _finish(self, account: str, key: str, answer: str) -> None:
        with self.database.transaction() as conn:
            conn.execute(
                "UPDATE request_keys SET answer = ? WHERE account = ? AND key = ?",
                (answer, account, key),
            )
