"""Follow the chain into the explorer's tables: resumable, crash-safe, re-organisation aware."""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable
from dataclasses import replace

from gridshare.explorer.abi import MarketAbi
from gridshare.explorer.records import BlockRecord, IndexedBlock, TxRecord
from gridshare.explorer.source import ChainSource
from gridshare.explorer.store import ExplorerStore

log = logging.getLogger(__name__)


class Indexer:
    """Copies blocks from `source` into `store`, decoding the market contract's calls and events.

    Blocks are committed in batches, each batch in one transaction, in block order: after a crash
    the store holds a prefix of the chain and `sync` resumes after its last block. Before going on
    it checks that the last stored block is still on the chain; if not it walks back to the fork
    point and drops everything above it.
    """

    def __init__(
        self, store: ExplorerStore, source: ChainSource, abi: MarketAbi, contract: str,
        *, batch: int = 25,
    ) -> None:
        self.store, self.source, self.abi = store, source, abi
        self.contract = contract.lower()
        self.batch = batch
        self.reorgs = 0

    def sync(self, max_blocks: int | None = None) -> int:
        """Index new blocks up to the chain's head (at most `max_blocks`); returns how many."""
        head = self.source.head()
        last = self._after_reorg(self.store.last_block(), head)
        number = 0 if last is None else last.number + 1
        parent = None if last is None else last.hash
        added, pending = 0, list[IndexedBlock]()
        while number <= head and (max_blocks is None or added + len(pending) < max_blocks):
            fetched = self.source.block(number)
            if fetched is None or (parent is not None and fetched[0].parent_hash != parent):
                break  # the chain moved under us: the next sync finds the fork point
            pending.append(self._indexed(*fetched))
            parent, number = fetched[0].hash, number + 1
            if len(pending) >= self.batch:
                self.store.append(pending)
                added, pending = added + len(pending), []
        if pending:
            self.store.append(pending)
            added += len(pending)
        return added

    def _after_reorg(self, last: BlockRecord | None, head: int) -> BlockRecord | None:
        """The last stored block that is still on the chain (dropping any above it)."""
        if last is None:
            return None
        number = min(last.number, head)
        while number >= 0:
            stored = self.store.block(number)
            if stored is not None and self.source.block_hash(number) == stored.hash:
                break
            number -= 1
        if number == last.number:
            return last
        self.reorgs += 1
        log.warning("chain re-organised: re-indexing from block %d", number + 1)
        self.store.drop_after(number)
        return self.store.block(number) if number >= 0 else None

    def _indexed(self, block: BlockRecord, txs: list[TxRecord]) -> IndexedBlock:
        decoded, events = [], []
        for tx in txs:
            call = None
            if tx.to == self.contract and tx.input not in ("", "0x"):
                call = self.abi.decode_call(tx.input)
            decoded.append(replace(tx, call=call))
            events += self.abi.events_of(
                tx.logs, self.contract, block_number=block.number, tx_hash=tx.hash,
                timestamp=block.timestamp,
            )
        return IndexedBlock(block, tuple(decoded), tuple(events))


class BackgroundIndexer:
    """Runs an Indexer in a daemon thread until stopped; chain errors are logged and retried.

    It indexes in bursts of at most `burst` blocks with a `pause` between them while more are
    waiting. The thread shares the interpreter with the server's requests: one long batch
    (a few hundred blocks after a restart, or the blocks of the last `interval` on a busy
    chain) would hold a resident's order up for as long as it runs; a burst is a few
    milliseconds.
    """

    def __init__(
        self, indexer: Indexer, interval: float = 0.5, *, burst: int = 8, pause: float = 0.02
    ) -> None:
        if burst < 1:
            raise ValueError("burst must be at least 1 block")
        self.indexer = indexer
        self.interval, self.burst, self.pause = interval, burst, pause
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="explorer-indexer", daemon=True)
        self.errors = 0
        self.on_block: Callable[[], None] | None = None

    def start(self) -> None:
        self._thread.start()

    def stop(self) -> None:
        """Ask the thread to stop and wait for it (a batch in progress commits first)."""
        self._stop.set()
        if self._thread.is_alive():
            self._thread.join(timeout=30)

    def _run(self) -> None:
        failing = 0
        while not self._stop.is_set():
            try:
                added = self.indexer.sync(max_blocks=self.burst)
                failing = 0
            except Exception as exc:  # node down, disk full: keep the explorer up, retry
                self.errors += 1
                failing += 1
                if failing in (1, 10) or failing % 1000 == 0:  # not twice a second for hours
                    log.exception("explorer indexer: sync failed (%d in a row), retrying", failing)
                else:
                    log.debug("explorer indexer: sync failed again: %s", exc)
                added = 0
            if added and self.on_block is not None:
                self.on_block()
            self._stop.wait(self.pause if added >= self.burst else self.interval)
