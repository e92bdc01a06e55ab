"""Genesis of a new embedded chain: zero base fee, funded treasury, constant gas limit."""

from __future__ import annotations

import sqlite3
from collections.abc import Mapping
from typing import Any

from eth.chains.base import Chain
from eth.db.atomic import AtomicDB

from gridshare.chain.embedded.store import BlockStore

GENESIS_EXTRA_DATA = b"gridshare"


def create_genesis(
    store: BlockStore,
    chain_cls: type[Chain],
    alloc: Mapping[bytes, int],
    gas_limit: int,
    timestamp: int,
) -> None:
    """Write block 0 funding each address in `alloc` (wei) and commit it with metadata."""
    params: dict[str, Any] = {
        "difficulty": 0,
        "gas_limit": gas_limit,
        "timestamp": timestamp,
        "base_fee_per_gas": 0,
        "coinbase": b"\x00" * 20,
        "extra_data": GENESIS_EXTRA_DATA,
        "mix_hash": b"\x00" * 32,
        "nonce": b"\x00" * 8,
    }
    state = {
        _address(address): {"balance": int(wei), "nonce": 0, "code": b"", "storage": {}}
        for address, wei in alloc.items()
    }
    chain = chain_cls.from_genesis(AtomicDB(store), params, state)  # type: ignore[arg-type]
    genesis_hash = chain.get_canonical_head().hash
    chain_id = chain_cls.chain_id

    def write_meta(conn: sqlite3.Connection) -> None:
        conn.executemany(
            "INSERT OR REPLACE INTO meta (name, value) VALUES (?, ?)",
            [("chain_id", str(chain_id)), ("genesis_hash", genesis_hash.hex())],
        )

    store.commit(write_meta)


def _address(value: bytes | str) -> bytes:
    if isinstance(value, str):
        value = bytes.fromhex(value.removeprefix("0x"))
    if len(value) != 20:
        raise ValueError(f"genesis address must be 20 bytes, got {len(value)}")
    return value
