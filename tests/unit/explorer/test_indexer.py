"""The indexer over an in-memory chain: resumes, re-indexes from the fork point, and indexes
a backlog in short bursts."""

from __future__ import annotations

import time
from pathlib import Path

from gridshare.explorer import (
    BackgroundIndexer,
    BlockRecord,
    ExplorerStore,
    Indexer,
    MarketAbi,
    TxRecord,
)  # fmt: skip


class FakeChain:
    """A ChainSource whose blocks can be replaced from any height (a re-organisation)."""

    def __init__(self) -> None:
        self.blocks: list[tuple[BlockRecord, list[TxRecord]]] = []

    def grow(self, count: int, tag: str) -> None:
        for _ in range(count):
            number = len(self.blocks)
            parent = self.blocks[-1][0].hash if self.blocks else "0x" + "00" * 32
            block_hash = "0x" + f"{tag}{number:x}".rjust(64, "0")
            tx = TxRecord(hash="0x" + f"{tag}{number:x}".rjust(64, "f"), block_number=number,
                          index=0, sender="0x" + "11" * 20, to="0x" + "22" * 20, value=number,
                          gas=21000, gas_price=0, gas_used=21000, status=1,
                          contract_address=None, input="0x", nonce=number)
            block = BlockRecord(number, block_hash, parent, "0x0", 0, 500, 30_000_000, 21000,
                                1_700_000_000 + number, "0x" + "00" * 20, 0, 1)
            self.blocks.append((block, [tx]))

    def fork(self, at: int, count: int, tag: str) -> None:
        del self.blocks[at:]
        self.grow(count, tag)

    def head(self) -> int:
        return len(self.blocks) - 1

    def block_hash(self, number: int) -> str | None:
        return self.blocks[number][0].hash if number < len(self.blocks) else None

    def block(self, number: int) -> tuple[BlockRecord, list[TxRecord]] | None:
        return self.blocks[number] if number < len(self.blocks) else None


def _stored_hashes(store: ExplorerStore) -> list[str]:
    return [b.hash for b in reversed(store.recent_blocks(10_000))]


def _indexer(tmp_path: Path, chain: FakeChain) -> tuple[ExplorerStore, Indexer]:
    store = ExplorerStore(tmp_path / "explorer.sqlite")
    return store, Indexer(store, chain, MarketAbi([]), "0x" + "99" * 20, batch=3)


def test_sync_resumes_where_the_last_run_stopped(tmp_path: Path) -> None:
    chain = FakeChain()
    chain.grow(10, "a")
    store, indexer = _indexer(tmp_path, chain)
    assert indexer.sync(max_blocks=4) == 4
    store.close()
    store, indexer = _indexer(tmp_path, chain)  # a restart
    assert indexer.sync() == 6
    assert _stored_hashes(store) == [b.hash for b, _ in chain.blocks]
    assert store.transaction_count() == 10


def test_a_longer_fork_replaces_blocks_from_the_fork_point(tmp_path: Path) -> None:
    chain = FakeChain()
    chain.grow(12, "a")
    store, indexer = _indexer(tmp_path, chain)
    indexer.sync()
    chain.fork(7, 8, "b")  # blocks 7.. are now different, and the chain is longer
    indexer.sync()
    assert indexer.reorgs == 1
    assert _stored_hashes(store) == [b.hash for b, _ in chain.blocks]
    assert store.transaction_count() == 15
    assert store.transaction(chain.blocks[7][1][0].hash) is not None


def test_a_shorter_fork_drops_the_orphaned_blocks(tmp_path: Path) -> None:
    chain = FakeChain()
    chain.grow(12, "a")
    store, indexer = _indexer(tmp_path, chain)
    indexer.sync()
    orphan = chain.blocks[10][1][0].hash
    chain.fork(5, 2, "c")  # head goes back from 11 to 6
    indexer.sync()
    assert _stored_hashes(store) == [b.hash for b, _ in chain.blocks]
    assert store.transaction(orphan) is None
    assert store.address_transaction_count("0x" + "11" * 20) == 7


class CountingIndexer(Indexer):
    """An Indexer that keeps how many blocks each of its syncs indexed."""

    def __init__(self, store: ExplorerStore, chain: FakeChain) -> None:
        super().__init__(store, chain, MarketAbi([]), "0x" + "99" * 20)
        self.runs: list[int] = []

    def sync(self, max_blocks: int | None = None) -> int:
        added = super().sync(max_blocks)
        self.runs.append(added)
        return added


def test_the_background_indexer_works_through_a_backlog_in_short_bursts(tmp_path: Path) -> None:
    """A server's requests share the interpreter with this thread: a backlog is indexed a few
    blocks at a time, with a short pause between bursts (not the idle interval)."""
    chain = FakeChain()
    chain.grow(50, "a")
    store = ExplorerStore(tmp_path / "explorer.sqlite")
    indexer = CountingIndexer(store, chain)
    background = BackgroundIndexer(indexer, interval=30, burst=8, pause=0.01)
    background.start()
    try:
        deadline = time.monotonic() + 10
        while store.transaction_count() < 50 and time.monotonic() < deadline:
            time.sleep(0.01)
    finally:
        background.stop()
    assert _stored_hashes(store) == [b.hash for b, _ in chain.blocks]
    assert max(indexer.runs) == 8
    assert sum(indexer.runs) == 50
