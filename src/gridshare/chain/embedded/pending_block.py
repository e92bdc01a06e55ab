"""The block being built: transactions applied one by one, sealed and persisted at once."""

from __future__ import annotations

from collections.abc import Callable
from contextlib import AbstractContextManager, nullcontext
from dataclasses import dataclass

from eth._utils.address import generate_contract_address
from eth.abc import (
    BlockAPI,
    BlockHeaderAPI,
    ChainDatabaseAPI,
    ComputationAPI,
    ReceiptAPI,
    SignedTransactionAPI,
    StateAPI,
)
from eth.chains.base import Chain
from eth_hash.auto import keccak
from eth_utils.exceptions import ValidationError

from gridshare.chain.embedded.errors import InvalidTransaction
from gridshare.chain.embedded.execution import raise_if_failed
from gridshare.chain.embedded.index import LogRecord, TxRecord

ZERO_ADDRESS = b"\x00" * 20
_STATUS_SUCCESS = b"\x01"


@dataclass(frozen=True)
class SealedBlock:
    """A block persisted to the key-value store, with its index rows (not yet committed)."""

    block: BlockAPI
    transactions: tuple[TxRecord, ...]
    logs: tuple[LogRecord, ...]


class PendingBlock:
    """Applies signed transactions on top of `parent` and seals them into one block."""

    def __init__(self, chain: Chain, parent: BlockHeaderAPI, timestamp: int) -> None:
        header = chain.create_header_from_parent(
            parent,
            timestamp=timestamp,
            gas_limit=parent.gas_limit,
            coinbase=ZERO_ADDRESS,
            mix_hash=keccak(parent.hash),  # deterministic prevrandao
        )
        self._vm = chain.get_vm(header)
        self._vm.block_preprocessing(self._vm.get_block())  # type: ignore[attr-defined]
        self._header = header
        self._transactions: list[SignedTransactionAPI] = []
        self._raws: list[bytes] = []
        self._receipts: list[ReceiptAPI] = []

    @property
    def header(self) -> BlockHeaderAPI:
        """The header so far (number, timestamp, gas used)."""
        return self._header

    @property
    def state(self) -> StateAPI:
        """The state with every applied transaction (read it, don't change it)."""
        return self._vm.state

    @property
    def transactions(self) -> tuple[SignedTransactionAPI, ...]:
        """Transactions applied so far, in order."""
        return tuple(self._transactions)

    def fits(self, transaction: SignedTransactionAPI) -> bool:
        """Whether the transaction's gas limit fits in the block's remaining gas."""
        return self._header.gas_used + transaction.gas <= self._header.gas_limit

    def apply(
        self, transaction: SignedTransactionAPI, raw: bytes, *, refuse_failed: bool = False
    ) -> ComputationAPI:
        """Execute one transaction; raises InvalidTransaction leaving the block unchanged.

        With `refuse_failed`, a transaction whose execution reverts or fails is not included
        either: its changes (nonce and balance too) are undone and ExecutionReverted /
        ExecutionFailed is raised, so one execution does what a dry run and a send did.
        """
        vm, state = self._vm, self._vm.state
        try:
            # what VM.apply_transaction does, with a snapshot to undo a refused transaction
            vm.validate_transaction_against_header(self._header, transaction)
            state.lock_changes()
            snapshot = state.snapshot()
            computation = state.apply_transaction(transaction)
            if refuse_failed and computation.is_error:
                state.revert(snapshot)
                raise_if_failed(computation)
            receipt = vm.make_receipt(self._header, transaction, computation, state)
            vm.validate_receipt(receipt)
        except ValidationError as exc:
            raise InvalidTransaction(str(exc)) from exc
        self._header = self._vm.add_receipt_to_header(self._header, receipt)
        self._transactions.append(transaction)
        self._raws.append(raw)
        self._receipts.append(receipt)
        return computation

    def seal(
        self,
        chaindb: ChainDatabaseAPI,
        state_writes: Callable[[], AbstractContextManager[None]] = nullcontext,
    ) -> SealedBlock:
        """Finalize the state and write the block to the (buffered) key-value store.

        The state's trie nodes and code are written within `state_writes()`, so the store can
        tell them from the block's own data (pruning removes only state no kept block needs).
        """
        vm = self._vm
        filled = vm.set_block_transactions_and_withdrawals(
            vm.get_block(), self._header, self._transactions, self._receipts
        )
        # Prague's block_postprocessing only collects validator requests; with none, the
        # header's default requests_hash (sha256 of nothing) is already the right value.
        with state_writes():
            block = vm.finalize_block(filled).block
        chaindb.persist_block(block)
        txs, logs = self._records(block)
        return SealedBlock(block, txs, logs)

    def _records(self, block: BlockAPI) -> tuple[tuple[TxRecord, ...], tuple[LogRecord, ...]]:
        txs: list[TxRecord] = []
        logs: list[LogRecord] = []
        previous_cumulative = 0
        base_fee = block.header.base_fee_per_gas
        for index, (tx, raw, receipt) in enumerate(
            zip(self._transactions, self._raws, self._receipts, strict=True)
        ):
            first_log = len(logs)
            for log in receipt.logs:
                logs.append(
                    LogRecord(
                        block_number=block.number,
                        log_index=len(logs),
                        tx_index=index,
                        tx_hash=tx.hash,
                        block_hash=block.hash,
                        address=log.address,
                        topics=tuple(t.to_bytes(32, "big") for t in log.topics),
                        data=log.data,
                    )
                )
            creates = (
                generate_contract_address(tx.sender, tx.nonce) if tx.to == b"" else None
            )
            txs.append(
                TxRecord(
                    hash=tx.hash,
                    block_number=block.number,
                    tx_index=index,
                    block_hash=block.hash,
                    sender=tx.sender,
                    raw=raw,
                    contract_address=creates,
                    gas_used=receipt.gas_used - previous_cumulative,
                    cumulative_gas_used=receipt.gas_used,
                    status=1 if receipt.state_root == _STATUS_SUCCESS else 0,
                    effective_gas_price=min(
                        tx.max_fee_per_gas, (base_fee or 0) + tx.max_priority_fee_per_gas
                    ),
                    first_log_index=first_log,
                    bloom=receipt.bloom.to_bytes(256, "big"),
                )
            )
            previous_cumulative = receipt.gas_used
        return tuple(txs), tuple(logs)
