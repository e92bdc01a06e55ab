"""EmbeddedChain: a persistent py-evm chain in a data directory, one SQLite commit per block."""

from __future__ import annotations

import sqlite3
import threading
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import IO, Literal

import rlp  # type: ignore[import-untyped]
from eth.abc import BlockHeaderAPI, SignedTransactionAPI, StateAPI
from eth.chains.base import Chain
from eth.constants import BLANK_ROOT_HASH, GENESIS_PARENT_HASH
from eth.db.atomic import AtomicDB
from eth.exceptions import HeaderNotFound, UnrecognizedTransactionType
from eth.vm.interrupt import EVMMissingData
from eth_keys.backends import get_backend
from eth_typing import Address, BlockNumber, Hash32
from eth_utils.exceptions import ValidationError
from trie.exceptions import MissingTrieNode

from gridshare.chain.embedded.clock import BlockClock, Clock
from gridshare.chain.embedded.dirlock import lock_directory
from gridshare.chain.embedded.errors import (
    ChainMismatch,
    InvalidTransaction,
    StatePruned,
    UnknownBlock,
)
from gridshare.chain.embedded.execution import CallRequest, Executor
from gridshare.chain.embedded.fork import GAS_LIMIT, chain_class
from gridshare.chain.embedded.genesis import create_genesis
from gridshare.chain.embedded.index import (
    ChainIndex,
    LogFilter,
    LogRecord,
    TxRecord,
    drop_blocks_after,
    write_block_rows,
)
from gridshare.chain.embedded.pending_block import PendingBlock, SealedBlock
from gridshare.chain.embedded.pruning import PruneResult, live_state_nodes
from gridshare.chain.embedded.store import BlockStore, Durability

BlockTag = Literal["latest", "earliest", "pending", "safe", "finalized"]
BlockRef = int | bytes | BlockTag
"""A block number, a 32-byte block hash, or a tag."""

DB_FILE = "chain.sqlite3"
DEFAULT_CHAIN_ID = 1337


class EmbeddedChain:
    """A persistent, thread-safe, instantly mining EVM chain driven through py-evm.

    Every block is committed to SQLite in one transaction with its event index; when
    `send_raw_transaction` returns (automine on), the transaction's block is durable.
    With automine off, transactions wait in a pending block until `mine_pending()`.
    """

    def __init__(
        self, store: BlockStore, chain_id: int, clock: BlockClock, *, automine: bool = True
    ) -> None:
        self._store = store
        self._chain: Chain = chain_class(chain_id)(AtomicDB(store))
        self._chaindb = self._chain.chaindb
        self._index = ChainIndex(store)
        self._executor = Executor(self._chain)
        self._clock = clock
        self._lock = threading.RLock()
        self._prune_lock = threading.Lock()  # one prune at a time
        self._head: BlockHeaderAPI = self._chaindb.get_canonical_head()
        self._pending: PendingBlock | None = None
        self._automine = automine
        self._snapshots: dict[int, tuple[bytes, int]] = {}
        self._next_snapshot = 1
        self._dir_lock: IO[bytes] | None = None
        self.chain_id = chain_id

    # ------------------------------------------------------------ lifecycle

    @classmethod
    def open(
        cls,
        data_dir: Path,
        chain_id: int = DEFAULT_CHAIN_ID,
        genesis_alloc: Mapping[bytes, int] | None = None,
        *,
        clock: Clock | None = None,
        durability: Durability = "full",
        gas_limit: int = GAS_LIMIT,
        automine: bool = True,
    ) -> EmbeddedChain:
        """Create the chain in `data_dir` (genesis funds `genesis_alloc`) or resume it."""
        data_dir.mkdir(parents=True, exist_ok=True)
        dir_lock = lock_directory(data_dir)
        try:
            store = BlockStore(data_dir / DB_FILE, durability)
            block_clock = BlockClock(clock)
            stored_id = store.get_meta("chain_id")
            if stored_id is None:
                create_genesis(
                    store,
                    chain_class(chain_id),
                    dict(genesis_alloc or {}),
                    gas_limit,
                    int(block_clock.peek(0)),
                )
            elif int(stored_id) != chain_id:
                store.close()
                raise ChainMismatch(f"{data_dir} holds chain id {stored_id}, not {chain_id}")
            chain = cls(store, chain_id, block_clock, automine=automine)
        except BaseException:
            dir_lock.close()
            raise
        chain._dir_lock = dir_lock
        return chain

    def close(self) -> None:
        """Close the database; a pending (unmined) block is dropped."""
        with self._lock:
            self._pending = None
            self._store.close()
            if self._dir_lock is not None:
                self._dir_lock.close()  # releases the directory for the next opener
                self._dir_lock = None

    @property
    def data_path(self) -> Path:
        """The SQLite database file."""
        return self._store.path

    @staticmethod
    def signature_backend() -> str:
        """Name of the secp256k1 backend eth-keys uses (should be CoinCurveECCBackend)."""
        return type(get_backend()).__name__

    # ------------------------------------------------------------ transactions

    def decode_transaction(self, raw: bytes) -> SignedTransactionAPI:
        """Decode and check a signed raw transaction (legacy, EIP-2930 or EIP-1559)."""
        if not raw:
            raise InvalidTransaction("empty transaction")
        if raw[0] in (3, 4):
            raise InvalidTransaction(f"transaction type {raw[0]} is not supported")
        builder = self._chain.get_vm_class(self._head).get_transaction_builder()
        try:
            tx = builder.decode(raw)
            tx.check_signature_validity()
            tx.validate()
            sender = tx.sender  # recovers the signer (coincurve)
        except UnrecognizedTransactionType:
            raise InvalidTransaction(
                f"invalid transaction: unknown transaction type 0x{raw[0]:02x}"
            ) from None
        except (ValidationError, rlp.exceptions.RLPException, ValueError, TypeError) as exc:
            raise InvalidTransaction(f"invalid transaction: {exc}") from exc
        if tx.chain_id is not None and tx.chain_id != self.chain_id:
            raise InvalidTransaction(f"chain id {tx.chain_id} != {self.chain_id}")
        assert len(sender) == 20
        return tx

    def send_raw_transaction(self, raw: bytes, *, refuse_failed: bool = False) -> bytes:
        """Add a signed transaction; with automine, mine and commit it. Returns its hash.

        With `refuse_failed`, a transaction that would revert or fail is not included at all
        (ExecutionReverted / ExecutionFailed; its nonce stays unused), as a dry run would
        have told, at the cost of one execution instead of two.
        """
        tx = self.decode_transaction(raw)
        with self._lock:
            self._apply(tx, raw, refuse_failed=refuse_failed)
            if self._automine:
                self._mine()
        return bytes(tx.hash)

    def send_raw_transactions(self, raws: Sequence[bytes]) -> list[bytes]:
        """Apply many signed transactions and mine them together (as few blocks as fit).

        Transactions that are refused raise InvalidTransaction after the ones before them
        have been mined; nothing after the refused one is applied.
        """
        txs = [self.decode_transaction(raw) for raw in raws]
        with self._lock:
            try:
                for tx, raw in zip(txs, raws, strict=True):
                    self._apply(tx, raw)
            finally:
                if self._automine:
                    self._mine()
        return [bytes(tx.hash) for tx in txs]

    @property
    def automine(self) -> bool:
        """Whether each transaction is mined into its own block at once."""
        return self._automine

    def set_automine(self, enabled: bool) -> None:
        """Turn instant mining on (mining anything pending) or off."""
        with self._lock:
            self._automine = enabled
            if enabled:
                self._mine()

    def mine_pending(self) -> BlockHeaderAPI | None:
        """Mine the pending transactions into one block; None if there were none."""
        with self._lock:
            return self._mine()

    def mine_block(self, timestamp: int | None = None) -> BlockHeaderAPI:
        """Mine one block now (with pending transactions, or empty) and return its header."""
        with self._lock:
            if timestamp is not None and self._pending is None:
                self._clock.set_next_timestamp(timestamp, self._head.timestamp)
            if self._pending is None:
                self._pending = PendingBlock(
                    self._chain, self._head, self._clock.take(self._head.timestamp)
                )
            mined = self._mine()
            assert mined is not None
            return mined

    @contextmanager
    def batch(self) -> Iterator[None]:
        """Within the block, sent transactions are collected and mined as one block."""
        with self._lock:
            previous = self._automine
            self._automine = False
            try:
                yield
            finally:
                self._automine = previous
                self._mine()

    def pending_transactions(self) -> tuple[SignedTransactionAPI, ...]:
        """Transactions applied to the pending block, not yet mined."""
        with self._lock:
            return self._pending.transactions if self._pending else ()

    def _apply(self, tx: SignedTransactionAPI, raw: bytes, *, refuse_failed: bool = False) -> None:
        if self._pending is not None and not self._pending.fits(tx):
            self._mine()
        pending = self._pending
        if pending is None:  # a new block, kept only once a transaction is in it
            timestamp = self._clock.peek(self._head.timestamp)
            pending = PendingBlock(self._chain, self._head, timestamp)
        pending.apply(tx, raw, refuse_failed=refuse_failed)
        if self._pending is None:
            self._clock.take(self._head.timestamp)
            self._pending = pending

    def _mine(self) -> BlockHeaderAPI | None:
        pending, self._pending = self._pending, None
        if pending is None:
            return None
        sealed = None
        try:
            sealed = pending.seal(self._chaindb, self._store.state_writes)
            self._store.commit(lambda conn: _write_sealed(conn, sealed))
        except BaseException:
            if sealed is not None and not self._store.has_pending_writes:
                self._head = sealed.block.header  # committed, then interrupted: it is mined
            else:
                self._store.rollback()
            raise
        self._head = sealed.block.header
        return self._head

    # ------------------------------------------------------------ clock

    def set_clock(self, clock: Clock) -> None:
        """Drive block timestamps from `clock` (seconds), e.g. simulated time."""
        with self._lock:
            self._clock.set_clock(clock)

    def set_next_timestamp(self, timestamp: int) -> None:
        """Give the next block exactly this timestamp (must exceed the latest block's)."""
        with self._lock:
            self._clock.set_next_timestamp(timestamp, self._head.timestamp)

    def increase_time(self, seconds: int) -> int:
        """Shift the chain's clock forward; returns the total shift in seconds."""
        with self._lock:
            return self._clock.increase_time(seconds)

    def next_timestamp(self) -> int:
        """The timestamp the next block gets if mined now (the chain's time now)."""
        with self._lock:
            if self._pending is not None:
                return int(self._pending.header.timestamp)
            return self._clock.peek(int(self._head.timestamp))

    # ------------------------------------------------------------ blocks

    @property
    def head(self) -> BlockHeaderAPI:
        """Header of the latest mined block."""
        return self._head

    @property
    def block_number(self) -> int:
        """Number of the latest mined block."""
        return int(self._head.block_number)

    def header(self, ref: BlockRef = "latest") -> BlockHeaderAPI:
        """Header of a canonical block; raises UnknownBlock."""
        with self._lock:
            if isinstance(ref, bytes):
                try:
                    header = self._chaindb.get_block_header_by_hash(Hash32(ref))
                    canonical = self._chaindb.get_canonical_block_hash(header.block_number)
                except HeaderNotFound as exc:
                    raise UnknownBlock(f"no block with hash 0x{ref.hex()}") from exc
                if canonical != header.hash or header.block_number > self._head.block_number:
                    raise UnknownBlock(f"block 0x{ref.hex()} is not canonical")
                return header
            if ref == "earliest":
                ref = 0
            if isinstance(ref, str):
                return self._head
            if ref < 0 or ref > self._head.block_number:
                raise UnknownBlock(f"no block number {ref}")
            return self._chaindb.get_canonical_block_header_by_number(BlockNumber(ref))

    def block_transactions(self, header: BlockHeaderAPI) -> list[TxRecord]:
        """The mined transactions of a canonical block."""
        with self._lock:
            return self._index.block_transactions(header.block_number)

    def transaction(self, tx_hash: bytes) -> TxRecord | None:
        """A mined transaction and its receipt fields."""
        with self._lock:
            return self._index.transaction(tx_hash)

    def pending_transaction(self, tx_hash: bytes) -> SignedTransactionAPI | None:
        """A transaction waiting in the pending block."""
        with self._lock:
            pending = self._pending.transactions if self._pending else ()
            return next((tx for tx in pending if tx.hash == tx_hash), None)

    def transaction_logs(self, record: TxRecord) -> list[LogRecord]:
        """Events a mined transaction emitted."""
        with self._lock:
            return self._index.transaction_logs(record)

    def logs(self, criteria: LogFilter) -> list[LogRecord]:
        """Events matching the filter, from the index (raises TooManyLogs)."""
        with self._lock:
            return self._index.logs(criteria)

    def transaction_count(self) -> int:
        """How many transactions the chain holds."""
        with self._lock:
            return self._index.transaction_count()

    def decode_stored(self, record: TxRecord) -> SignedTransactionAPI:
        """The py-evm transaction object of a mined transaction."""
        builder = self._chain.get_vm_class(self._head).get_transaction_builder()
        return builder.decode(record.raw)

    # ------------------------------------------------------------ state

    def _state(self, ref: BlockRef) -> StateAPI:
        if ref == "pending" and self._pending is not None:
            return self._pending.state
        return self._chain.get_vm(self.header(ref)).state

    @contextmanager
    def _old_state(self, ref: BlockRef) -> Iterator[None]:
        """Turn a read of state that `prune_state` removed into StatePruned.

        Only a block before the head can be pruned: the head's state is always kept, so a
        node missing there is damage, not a prune, and is raised as it is.
        """
        try:
            yield
        except (MissingTrieNode, EVMMissingData) as exc:
            if isinstance(ref, str) or self.header(ref).block_number >= self._head.block_number:
                raise
            block = ref.hex() if isinstance(ref, bytes) else ref
            raise StatePruned(
                f"the state at block {block} is no longer kept (pruned; recent blocks only)"
            ) from exc

    def balance(self, address: bytes, ref: BlockRef = "latest") -> int:
        """Balance in wei."""
        with self._lock, self._old_state(ref):
            return int(self._state(ref).get_balance(Address(address)))

    def nonce(self, address: bytes, ref: BlockRef = "latest") -> int:
        """Transaction count; "pending" includes transactions waiting to be mined."""
        with self._lock, self._old_state(ref):
            return int(self._state(ref).get_nonce(Address(address)))

    def code(self, address: bytes, ref: BlockRef = "latest") -> bytes:
        """Deployed bytecode."""
        with self._lock, self._old_state(ref):
            return bytes(self._state(ref).get_code(Address(address)))

    def storage_at(self, address: bytes, slot: int, ref: BlockRef = "latest") -> int:
        """One storage word."""
        with self._lock, self._old_state(ref):
            return int(self._state(ref).get_storage(Address(address), slot))

    def _context(self, ref: BlockRef) -> BlockHeaderAPI:
        """The header to execute against; "pending" is the next block (number, timestamp)."""
        if ref != "pending":
            return self.header(ref)
        return self._chain.create_header_from_parent(
            self._head, timestamp=self._clock.peek(self._head.timestamp)
        )

    def call(self, request: CallRequest, ref: BlockRef = "latest") -> bytes:
        """Execute without a transaction; raises ExecutionReverted / ExecutionFailed."""
        with self._lock, self._old_state(ref):
            return self._executor.call(self._context(ref), request)

    def estimate_gas(self, request: CallRequest, ref: BlockRef = "pending") -> int:
        """Gas limit enough for the message in the next block; raises ExecutionReverted etc.

        "latest" also estimates against the next block's context (its timestamp), because
        that is where the transaction will run: an order that expires before then must fail.
        """
        with self._lock, self._old_state(ref):
            return self._executor.estimate_gas(
                self._context("pending" if ref == "latest" else ref), request
            )

    # ------------------------------------------------------------ pruning

    def prune_state(self, keep_blocks: int) -> PruneResult:
        """Delete state that only blocks before the last `keep_blocks` used (see `pruning`).

        The state of snapshots still held is kept too. Reads of state at an older block then
        fail with StatePruned; blocks, transactions, receipts and logs all stay.

        Blocks go on being made while the kept states are walked (the chain is locked only
        to take the roots to walk, and to delete): every state key committed meanwhile is
        kept, even one identical to an old node, and every other node a new block refers to
        is part of a state being walked.
        """
        if keep_blocks < 1:
            raise ValueError("keep_blocks must be at least 1")
        with self._prune_lock:
            with self._lock:
                head = self._head.block_number
                # blocks an earlier prune (with a smaller keep_blocks) left without state
                # have nothing to keep: the walk starts at the oldest block still whole
                first = max(0, head - keep_blocks + 1)
                roots = []
                for number in range(head, first - 1, -1):
                    header = self._chaindb.get_canonical_block_header_by_number(
                        BlockNumber(number)
                    )
                    if number < head and not self._state_kept(header.state_root):
                        first = number + 1
                        break
                    roots.append(header.state_root)
                roots += [
                    self._chaindb.get_block_header_by_hash(Hash32(block_hash)).state_root
                    for block_hash, _ in self._snapshots.values()
                ]
                written_meanwhile = self._store.watch_state_writes()
            try:
                candidates = self._store.state_node_keys()  # with some written meanwhile
                live = live_state_nodes(self._store.__getitem__, roots)
                with self._lock:
                    dead = candidates - live - written_meanwhile
                    deleted = self._store.delete_state_nodes(dead)
            finally:
                with self._lock:
                    self._store.unwatch()
            return PruneResult(head, first, len(live), len(dead), deleted)

    def _state_kept(self, state_root: bytes) -> bool:
        """Whether the state of a block is on disk (a prune deletes its root with the rest)."""
        if state_root == BLANK_ROOT_HASH:
            return True
        try:
            self._store[state_root]
        except KeyError:
            return False
        return True

    def vacuum(self) -> None:
        """Shrink the database file to its data (after `prune_state`; slow, needs free disk)."""
        with self._lock:
            self._store.vacuum()

    # ------------------------------------------------------------ snapshots

    def snapshot(self) -> int:
        """Remember the latest block (mining anything pending first); returns an id."""
        with self._lock:
            self._mine()
            snapshot_id = self._next_snapshot
            self._next_snapshot += 1
            self._snapshots[snapshot_id] = (self._head.hash, self._clock.offset)
            return snapshot_id

    def revert(self, snapshot_id: int) -> bool:
        """Make the snapshot's block the head again, durably (later blocks are orphaned).

        The snapshot and any later ones are used up. Returns False for unknown ids.
        """
        with self._lock:
            remembered = self._snapshots.get(snapshot_id)
            if remembered is None:
                return False
            block_hash, clock_offset = remembered
            self._pending = None
            header = self._chaindb.get_block_header_by_hash(Hash32(block_hash))
            try:
                type(self._chaindb)._set_as_canonical_chain_head(  # type: ignore[attr-defined]
                    self._chaindb.db, header, GENESIS_PARENT_HASH
                )
                self._store.commit(lambda conn: drop_blocks_after(conn, header.block_number))
            except BaseException:
                self._store.rollback()
                raise
            self._head = header
            self._clock.offset = clock_offset  # time travel since the snapshot is undone too
            for later in [s for s in self._snapshots if s >= snapshot_id]:
                del self._snapshots[later]
            return True


def _write_sealed(conn: sqlite3.Connection, sealed: SealedBlock) -> None:
    write_block_rows(conn, sealed.transactions, sealed.logs)


def open_existing_chain(data_dir: Path, *, durability: Durability = "full") -> EmbeddedChain:
    """Open the chain already in `data_dir`, whatever its chain id; never creates one.

    Raises FileNotFoundError when `data_dir` holds no chain, ChainInUse when a running
    gridshare process has it open.
    """
    path = data_dir / DB_FILE
    if not path.is_file():
        raise FileNotFoundError(f"no chain in {data_dir} (expected {path})")
    store = BlockStore(path, durability)
    try:
        chain_id = store.get_meta("chain_id")
    finally:
        store.close()
    if chain_id is None:
        raise FileNotFoundError(f"{path} holds no chain (no genesis block)")
    return EmbeddedChain.open(data_dir, int(chain_id), durability=durability)


def open_embedded_chain(
    data_dir: Path,
    chain_id: int = DEFAULT_CHAIN_ID,
    genesis_alloc: Mapping[bytes, int] | None = None,
    *,
    clock: Clock | None = None,
    durability: Durability = "full",
) -> EmbeddedChain:
    """Create or resume the embedded chain in `data_dir` (for the composition root)."""
    return EmbeddedChain.open(data_dir, chain_id, genesis_alloc, clock=clock, durability=durability)
