"""What the explorer indexes: blocks, transactions and decoded market events (frozen rows)."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

Args = dict[str, Any]
"""Decoded ABI arguments: ints stay ints, addresses are lower-case 0x strings."""


@dataclass(frozen=True)
class BlockRecord:
    """One block header as the papers' explorer showed it."""

    number: int
    hash: str
    parent_hash: str
    nonce: str
    difficulty: int
    size: int
    gas_limit: int
    gas_used: int
    timestamp: int
    miner: str
    base_fee: int
    tx_count: int


@dataclass(frozen=True)
class LogEntry:
    """A raw log from a receipt."""

    log_index: int
    address: str
    topics: tuple[str, ...]
    data: str


@dataclass(frozen=True)
class TxRecord:
    """One mined transaction with the parts of its receipt the explorer shows."""

    hash: str
    block_number: int
    index: int
    sender: str
    to: str | None
    value: int
    gas: int
    gas_price: int
    gas_used: int
    status: int
    contract_address: str | None
    input: str
    nonce: int
    logs: tuple[LogEntry, ...] = ()
    call: Call | None = None


@dataclass(frozen=True)
class Call:
    """A decoded contract function call."""

    function: str
    args: Args


@dataclass(frozen=True)
class Event:
    """A decoded EnergyMarket event, located in its block and transaction."""

    name: str
    args: Args
    block_number: int = 0
    log_index: int = 0
    tx_hash: str = ""
    timestamp: int = 0


@dataclass(frozen=True)
class IndexedBlock:
    """A block ready to store: header, transactions and the market's decoded events."""

    block: BlockRecord
    transactions: tuple[TxRecord, ...]
    events: tuple[Event, ...] = field(default=())
