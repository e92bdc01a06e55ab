"""Transaction outbox: every server-sent transaction is recorded before it is broadcast.

    receipt = outbox.send("settle:12", operator, TxRequest(market, calldata))

A row in SQLite holds the idempotency key, the signed raw transaction, its nonce and hash,
committed before the node sees the transaction. A second `send` with the same key returns
the first one's receipt (or raises its revert) instead of sending again. After a restart,
`recover()` looks every unfinished row up on chain: mined rows are resolved, rows whose
nonce another transaction used are dropped, the rest are re-broadcast byte for byte (the
same hash, so a transaction can never be applied twice).
"""

from __future__ import annotations

import logging
import time
import uuid
from collections.abc import Callable
from contextlib import AbstractContextManager
from dataclasses import dataclass
from enum import StrEnum
from typing import Any

from eth_account.signers.local import LocalAccount
from eth_utils.crypto import keccak
from web3.types import TxReceipt

from gridshare.chain.errors import ChainError, ContractRevert
from gridshare.chain.transactor import RpcFailure, Transactor, TxRequest
from gridshare.storage import Database
from gridshare.storage.keyed_locks import KeyedLocks

log = logging.getLogger(__name__)

SCHEMA_NAME = "chain.outbox"
SCHEMA_VERSION = 1
SCHEMA = (
    """CREATE TABLE IF NOT EXISTS chain_outbox (
        key TEXT PRIMARY KEY,
        chain_id INTEGER NOT NULL,
        sender TEXT NOT NULL,
        nonce INTEGER NOT NULL,
        tx_hash BLOB NOT NULL,
        raw BLOB NOT NULL,
        to_address TEXT,
        data BLOB NOT NULL,
        value TEXT NOT NULL,
        state TEXT NOT NULL,
        block_number INTEGER,
        error TEXT,
        created_at REAL NOT NULL,
        updated_at REAL NOT NULL
    )""",
    "CREATE INDEX IF NOT EXISTS chain_outbox_state ON chain_outbox (state, sender, nonce)",
    "CREATE INDEX IF NOT EXISTS chain_outbox_hash ON chain_outbox (tx_hash)",
)


class EntryState(StrEnum):
    """Where a recorded transaction is: signed (maybe broadcast), mined, reverted or dropped."""

    SIGNED = "signed"
    MINED = "mined"
    REVERTED = "reverted"
    DROPPED = "dropped"


@dataclass(frozen=True)
class OutboxEntry:
    """One recorded transaction."""

    key: str
    chain_id: int
    sender: str
    nonce: int
    tx_hash: bytes
    raw: bytes
    request: TxRequest
    state: EntryState
    block_number: int | None
    error: str | None


class OutboxConflict(ChainError):
    """The idempotency key was already used for a different transaction."""


class TransactionDropped(ChainError):
    """The recorded transaction will never be mined (refused, or its nonce was used)."""


class TransactionRefused(TransactionDropped):
    """The node answered a first send with a refusal (not a revert): nothing was sent."""


class Outbox:
    """Records, sends and confirms the server's transactions; idempotent per key."""

    def __init__(
        self, database: Database, transactor: Transactor, *, clock: Callable[[], float] = time.time
    ) -> None:
        self.database = database
        self.transactor = transactor
        self.chain_id = transactor.chain_id
        self._clock = clock
        self._key_locks = KeyedLocks()
        database.ensure_schema(SCHEMA_NAME, SCHEMA_VERSION, SCHEMA)

    # ------------------------------------------------------------ sending

    def send(self, key: str, signer: LocalAccount, request: TxRequest) -> TxReceipt:
        """Send `request` once per `key` and return its receipt; a revert raises ContractRevert.

        The signed transaction is committed to the database before it is broadcast. Calling
        again with the same key (concurrently, or after a restart) never sends a second
        transaction: it waits for and returns the first one's outcome.
        """
        with self._locked(key):
            existing = self.entry(key)
            if existing is not None:
                _check_same(existing, signer.address, request)
                if existing.state is EntryState.SIGNED:
                    existing = self._resolve(existing)
                return self._outcome(existing)
            entry = self._sign_record_broadcast(key, signer, request)
            return self._outcome(entry)

    def transact(
        self, signer: LocalAccount, request: TxRequest, *, key: str | None = None
    ) -> TxReceipt:
        """The Sender interface (what EnergyMarket calls): `send` under `key` or a fresh one."""
        return self.send(key if key is not None else f"auto:{uuid.uuid4().hex}", signer, request)

    def _sign_record_broadcast(
        self, key: str, signer: LocalAccount, request: TxRequest
    ) -> OutboxEntry:
        transactor = self.transactor
        gas = transactor.preflight(signer, request)  # a revert here records nothing
        address = signer.address
        with transactor.nonces.lock_for(address):
            nonce = transactor.nonces.peek(address)
            retried = False
            while True:
                raw = bytes(transactor.sign(signer, request, nonce=nonce, gas=gas))
                entry = self._record(key, address, nonce, raw, request)
                try:
                    transactor.broadcast(raw, checked=True)
                    break
                except Exception as exc:
                    transactor.nonces.forget(address)
                    if self._known_to_node(entry):
                        break
                    if isinstance(exc, ContractRevert):
                        # refused before inclusion (the embedded chain's checked send): as
                        # after a preflight revert, nothing was sent and nothing stays recorded
                        self._delete(key)
                        raise
                    if not isinstance(exc, RpcFailure):  # no answer from the node
                        self._mark(key, EntryState.DROPPED, error=str(exc))
                        raise
                    # the node answered and refused it: nothing was sent
                    current = None if retried else transactor.nonces.moved_on(address, nonce)
                    if current is None:
                        self._mark(key, EntryState.DROPPED, error=str(exc))
                        raise TransactionRefused(
                            f"the chain refused transaction {key!r} (nonce {nonce}): {exc}"
                        ) from exc
                    # the account's nonce had moved on (its key also sends from a wallet):
                    # sign the same request again on the chain's count, under the same key
                    self._delete(key)
                    nonce, retried = current, True
            transactor.nonces.used(address, nonce)
        return entry

    # ------------------------------------------------------------ outcomes

    def _outcome(self, entry: OutboxEntry) -> TxReceipt:
        """Wait for the entry's receipt (if still open), record it, return or raise it."""
        if entry.state is EntryState.DROPPED:
            raise TransactionDropped(
                f"transaction {entry.key!r} (nonce {entry.nonce}) was not mined: {entry.error}"
            )
        if entry.state is EntryState.REVERTED:
            raise ContractRevert(entry.error or "")
        receipt = self.transactor.await_receipt(entry.tx_hash)
        if entry.state is EntryState.SIGNED:
            self._record_receipt(entry, receipt)
        if receipt["status"] != 1:
            raise ContractRevert(self._revert_reason(entry, receipt))
        return receipt

    def _record_receipt(self, entry: OutboxEntry, receipt: TxReceipt) -> None:
        if receipt["status"] == 1:
            self._mark(entry.key, EntryState.MINED, block_number=int(receipt["blockNumber"]))
        else:
            reason = self.transactor.mined_revert_reason(receipt, entry.sender, entry.request)
            self._mark(
                entry.key,
                EntryState.REVERTED,
                block_number=int(receipt["blockNumber"]),
                error=reason,
            )

    def _revert_reason(self, entry: OutboxEntry, receipt: TxReceipt) -> str:
        stored = self.entry(entry.key)
        if stored is not None and stored.error is not None:
            return stored.error
        return self.transactor.mined_revert_reason(receipt, entry.sender, entry.request)

    # ------------------------------------------------------------ recovery

    def recover(self) -> list[OutboxEntry]:
        """Resolve every unfinished entry against the chain (at start-up); returns them after.

        Per account in nonce order: a mined transaction is recorded as mined or reverted; one
        whose nonce the chain has already used for another transaction is dropped; any other
        is broadcast again as the same signed bytes and its receipt awaited.
        """
        resolved: list[OutboxEntry] = []
        for entry in self.open_entries():
            with self._locked(entry.key):
                current = self.entry(entry.key)
                if current is None or current.state is not EntryState.SIGNED:
                    continue
                try:
                    current = self._resolve(current)
                    if current.state is EntryState.SIGNED:
                        self._record_receipt(
                            current, self.transactor.await_receipt(current.tx_hash)
                        )
                except (ChainError, OSError) as exc:
                    log.warning("outbox entry %s still open: %s", entry.key, exc)
                self.transactor.nonces.forget(entry.sender)
            after = self.entry(entry.key)
            if after is not None:
                resolved.append(after)
        return resolved

    def _resolve(self, entry: OutboxEntry) -> OutboxEntry:
        """Find out what became of a signed entry; re-broadcast it if it is still valid."""
        transactor = self.transactor
        receipt = transactor.receipt_or_none(entry.tx_hash)
        if receipt is None and self._nonce_used(entry):
            receipt = transactor.receipt_or_none(entry.tx_hash)  # mined meanwhile?
            if receipt is None:
                self._mark(entry.key, EntryState.DROPPED, error="nonce used by another transaction")
                return self._reload(entry)
        if receipt is not None:
            self._record_receipt(entry, receipt)
            return self._reload(entry)
        if not self._known_to_node(entry):
            with transactor.nonces.lock_for(entry.sender):
                try:
                    transactor.broadcast(entry.raw)
                except Exception as exc:
                    if transactor.receipt_or_none(entry.tx_hash) is None and self._nonce_used(
                        entry
                    ):
                        self._mark(entry.key, EntryState.DROPPED, error=str(exc))
                        return self._reload(entry)
                    if not self._known_to_node(entry):
                        raise ChainError(f"re-broadcast of {entry.key!r} failed: {exc}") from exc
                transactor.nonces.forget(entry.sender)
        return entry

    def _nonce_used(self, entry: OutboxEntry) -> bool:
        mined = self.transactor.rpc("eth_getTransactionCount", [entry.sender, "latest"])
        return int(mined, 16) > entry.nonce

    def _known_to_node(self, entry: OutboxEntry) -> bool:
        try:
            found = self.transactor.rpc(
                "eth_getTransactionByHash", ["0x" + entry.tx_hash.hex()]
            )
        except ChainError:
            return False
        return found is not None

    # ------------------------------------------------------------ storage

    def entry(self, key: str) -> OutboxEntry | None:
        """The entry recorded under `key`, or None."""
        row = (
            self.database.connection()
            .execute("SELECT * FROM chain_outbox WHERE key = ?", (key,))
            .fetchone()
        )
        return None if row is None else _entry(row)

    def open_entries(self) -> list[OutboxEntry]:
        """Entries not known to be mined or dropped, per account in nonce order."""
        rows = (
            self.database.connection()
            .execute(
                "SELECT * FROM chain_outbox WHERE state = ? AND chain_id = ?"
                " ORDER BY sender, nonce",
                (EntryState.SIGNED.value, self.chain_id),
            )
            .fetchall()
        )
        return [_entry(row) for row in rows]

    def _record(
        self, key: str, sender: str, nonce: int, raw: bytes, request: TxRequest
    ) -> OutboxEntry:
        now = self._clock()
        tx_hash = keccak(raw)
        with self.database.transaction() as conn:
            conn.execute(
                "INSERT INTO chain_outbox (key, chain_id, sender, nonce, tx_hash, raw, to_address,"
                " data, value, state, created_at, updated_at)"
                " VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                (
                    key, self.chain_id, sender, nonce, tx_hash, raw, request.to, request.data,
                    str(request.value), EntryState.SIGNED.value, now, now,
                ),
            )  # fmt: skip
        return OutboxEntry(
            key, self.chain_id, sender, nonce, tx_hash, raw, request, EntryState.SIGNED, None, None
        )

    def _mark(
        self,
        key: str,
        state: EntryState,
        *,
        block_number: int | None = None,
        error: str | None = None,
    ) -> None:
        with self.database.transaction() as conn:
            conn.execute(
                "UPDATE chain_outbox SET state = ?, block_number = ?, error = ?, updated_at = ?"
                " WHERE key = ?",
                (state.value, block_number, error, self._clock(), key),
            )

    def _delete(self, key: str) -> None:
        with self.database.transaction() as conn:
            conn.execute("DELETE FROM chain_outbox WHERE key = ?", (key,))

    def _reload(self, entry: OutboxEntry) -> OutboxEntry:
        reloaded = self.entry(entry.key)
        assert reloaded is not None
        return reloaded

    def _locked(self, key: str) -> AbstractContextManager[None]:
        """Serialise work on one key (other keys proceed in parallel)."""
        return self._key_locks.held(key)

def _entry(row: Any) -> OutboxEntry:
    request = TxRequest(row["to_address"], bytes(row["data"]), int(row["value"]))
    return OutboxEntry(
        key=row["key"],
        chain_id=int(row["chain_id"]),
        sender=row["sender"],
        nonce=int(row["nonce"]),
        tx_hash=bytes(row["tx_hash"]),
        raw=bytes(row["raw"]),
        request=request,
        state=EntryState(row["state"]),
        block_number=row["block_number"],
        error=row["error"],
    )


def _check_same(entry: OutboxEntry, sender: str, request: TxRequest) -> None:
    same = (
        entry.sender.lower() == sender.lower()
        and (entry.request.to or "").lower() == (request.to or "").lower()
        and entry.request.data == request.data
        and entry.request.value == request.value
    )
    if not same:
        raise OutboxConflict(
            f"idempotency key {entry.key!r} was already used for a different transaction"
        )
