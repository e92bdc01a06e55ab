"""A Ctrl-C landing in a block's commit: before COMMIT nothing is written; once COMMIT has
returned the block is on disk, and the store's memory follows it. Either way the interrupt
goes on as itself: it used to become "cannot rollback - no transaction is active", an
internal error of the chain, and `gridshare simulate` ended with a traceback, not code 130."""

from __future__ import annotations

import sqlite3
from pathlib import Path
from typing import Any

import pytest
from eth_account.signers.local import LocalAccount

from gridshare.chain.embedded import EmbeddedChain
from gridshare.chain.embedded.store import BlockStore
from tests.unit.chain_embedded.embedded_helpers import addr, transfer

KEY, VALUE = b"k" * 32, b"a block's node"


class Interrupted:
    """The store's connection, with a Ctrl-C raised just after the statement `after` runs."""

    def __init__(self, conn: sqlite3.Connection, after: str) -> None:
        self._conn, self._after = conn, after

    def __getattr__(self, name: str) -> Any:
        return getattr(self._conn, name)

    def execute(self, sql: str, *args: Any) -> Any:
        result = self._conn.execute(sql, *args)
        if sql == self._after:
            raise KeyboardInterrupt
        return result

    def executemany(self, sql: str, rows: Any) -> Any:
        result = self._conn.executemany(sql, rows)
        if sql.startswith(self._after):
            raise KeyboardInterrupt
        return result


def commit_interrupted(store: BlockStore, after: str) -> None:
    """`store.commit()` with a Ctrl-C just after the statement `after`: it must go on."""
    conn = store._conn
    store._conn = Interrupted(conn, after)  # type: ignore[assignment]
    try:
        with pytest.raises(KeyboardInterrupt):
            store.commit()
    finally:
        store._conn = conn


def on_disk(path: Path) -> bytes | None:
    with sqlite3.connect(path) as conn:
        row = conn.execute("SELECT v FROM kv WHERE k = ?", (KEY,)).fetchone()
    return None if row is None else bytes(row[0])


def test_an_interrupt_after_commit_keeps_the_block_and_goes_on_as_itself(
    tmp_path: Path,
) -> None:
    store = BlockStore(tmp_path / "chain.sqlite")
    store[KEY] = VALUE
    commit_interrupted(store, "COMMIT")
    assert on_disk(tmp_path / "chain.sqlite") == VALUE
    assert not store.has_pending_writes and store[KEY] == VALUE  # memory follows the disk


def test_an_interrupt_before_commit_writes_nothing(tmp_path: Path) -> None:
    store = BlockStore(tmp_path / "chain.sqlite")
    store[KEY] = VALUE
    commit_interrupted(store, "INSERT OR REPLACE INTO kv")
    assert not store._conn.in_transaction
    assert on_disk(tmp_path / "chain.sqlite") is None


def test_a_block_committed_as_ctrl_c_landed_is_the_chains_head(
    chain: EmbeddedChain, operator: LocalAccount, residents: list[LocalAccount]
) -> None:
    """The chain's memory follows the disk: the block is mined, and the next one follows it."""
    to = residents[0].address
    store = chain._store
    conn = store._conn
    store._conn = Interrupted(conn, "COMMIT")  # type: ignore[assignment]
    with pytest.raises(KeyboardInterrupt):
        chain.send_raw_transaction(transfer(operator, 0, to, 5))
    store._conn = conn
    assert chain.block_number == 1 and chain.balance(addr(to)) == 5
    chain.send_raw_transaction(transfer(operator, 1, to, 7))
    assert chain.block_number == 2 and chain.balance(addr(to)) == 12
