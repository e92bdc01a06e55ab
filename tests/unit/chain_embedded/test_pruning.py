"""Pruning old state: the recent state stays whole, older state answers "pruned", and the chain
goes on after a restart, including when a pruned trie node is needed again later."""

from __future__ import annotations

import json
import sqlite3
from contextlib import closing
from pathlib import Path
from typing import Any

import pytest
import rlp  # type: ignore[import-untyped]
from eth_account.signers.local import LocalAccount
from eth_utils.address import to_checksum_address
from eth_utils.crypto import keccak
from trie import HexaryTrie
from trie.exceptions import MissingTrieNode

from gridshare.chain.embedded import (
    EmbeddedChain,
    RpcDispatcher,
    StatePruned,
    open_existing_chain,
)
from gridshare.chain.embedded import chain as chain_module
from gridshare.cli import main as gridshare
from tests.unit.chain_embedded.embedded_helpers import (
    CHAIN_ID,
    Compiled,
    addr,
    call_raw,
    deploy_raw,
    encode_call,
)

# runtime: SSTORE(0, CALLDATALOAD(4)); the init code copies those 7 bytes and returns them
STORE_RUNTIME = "6004356000" "5500"
STORE_INIT = "600780600b6000396000f3" + STORE_RUNTIME


def deploy(chain: EmbeddedChain, account: LocalAccount, nonce: int, data: str) -> str:
    fields = {"data": data, "gas": 3_500_000, "nonce": nonce, "chainId": CHAIN_ID,
              "maxFeePerGas": 0, "maxPriorityFeePerGas": 0, "type": 2}  # fmt: skip
    raw = bytes(account.sign_transaction(fields).raw_transaction)  # type: ignore[arg-type]
    record = chain.transaction(chain.send_raw_transaction(raw))
    assert record is not None and record.status == 1 and record.contract_address
    return to_checksum_address(record.contract_address)


def put(chain: EmbeddedChain, account: LocalAccount, store: str, nonce: int, value: int) -> None:
    """Set slot 0 of the store contract (one block)."""
    chain.send_raw_transaction(call_raw(account, nonce, store, bytes(4) + value.to_bytes(32)))


def market_history(
    chain: EmbeddedChain, compiled: Compiled, operator: LocalAccount, resident: LocalAccount
) -> str:
    """A market with one household that deposits ten times: state changing block by block."""
    record = chain.transaction(chain.send_raw_transaction(deploy_raw(compiled, operator, 0)))
    assert record is not None and record.contract_address
    market = to_checksum_address(record.contract_address)
    register = encode_call("register_household(address,uint32,uint32)", resident.address, 1, 1)
    chain.send_raw_transaction(call_raw(operator, 1, market, register))
    chain.send_raw_transaction(call_raw(operator, 2, resident.address, b"", value=10**20))
    for nonce in range(10):
        chain.send_raw_transaction(
            call_raw(resident, nonce, market, encode_call("deposit()"), value=10**18)
        )
    return market


def balances(chain: EmbeddedChain, market: str, account: str, block: int | str) -> bytes:
    from gridshare.chain.embedded import CallRequest

    request = CallRequest(to=addr(market), data=encode_call("balances_of(address)", account))
    return chain.call(request, block)  # type: ignore[arg-type]


def test_the_kept_blocks_read_as_before_and_older_state_says_it_was_pruned(
    tmp_path: Path, chain: EmbeddedChain, compiled: Compiled, operator: LocalAccount,
    residents: list[LocalAccount],
) -> None:  # fmt: skip
    resident = residents[0]
    market = market_history(chain, compiled, operator, resident)
    head = chain.block_number
    before = {n: balances(chain, market, resident.address, n) for n in (head - 6, head - 1, head)}
    wallet = chain.balance(addr(resident.address))

    result = chain.prune_state(keep_blocks=3)
    assert (result.head, result.kept_from_block) == (head, head - 2)
    assert result.deleted_nodes > 0 and result.deleted_bytes > 0
    assert balances(chain, market, resident.address, head) == before[head]
    assert balances(chain, market, resident.address, head - 1) == before[head - 1]
    with pytest.raises(StatePruned, match=f"state at block {head - 6} is no longer kept"):
        balances(chain, market, resident.address, head - 6)
    with pytest.raises(StatePruned):
        chain.balance(addr(resident.address), head - 6)
    reply = json.loads(str(RpcDispatcher(chain).handle_text(json.dumps({
        "jsonrpc": "2.0", "id": 1, "method": "eth_getBalance",
        "params": [resident.address, hex(head - 6)]}))))  # fmt: skip
    assert reply["error"]["code"] == -32000
    assert "missing trie node" in reply["error"]["message"]
    assert "pruned" in reply["error"]["message"]
    assert chain.block_transactions(chain.header(1))  # blocks and transactions all stay

    chain.close()  # a restart reads from disk only
    reopened = open_existing_chain(tmp_path / "chain")
    try:
        assert reopened.block_number == head
        assert reopened.balance(addr(resident.address)) == wallet
        assert balances(reopened, market, resident.address, "latest") == before[head]
        reopened.send_raw_transaction(
            call_raw(resident, 10, market, encode_call("deposit()"), value=10**18)
        )
        available = int.from_bytes(balances(reopened, market, resident.address, "latest")[:32])
        assert available == 11 * 10**18
        assert reopened.prune_state(keep_blocks=1).deleted_nodes > 0  # again, newly stale
        assert balances(reopened, market, resident.address, "latest")[:32] == (
            (11 * 10**18).to_bytes(32, "big")
        )
    finally:
        reopened.close()


def storage_root_of_slot0(value: int) -> bytes:
    """The storage root (a node's hash) of a contract whose only slot, 0, holds `value`."""
    trie = HexaryTrie({})
    trie[keccak(bytes(32))] = rlp.encode(value)
    return bytes(trie.root_hash)


def stored(chain: EmbeddedChain, key: bytes) -> bool:
    """Whether the chain's database file holds `key` (committed data, not a cache)."""
    with closing(sqlite3.connect(chain.data_path)) as db:
        return db.execute("SELECT 1 FROM kv WHERE k = ?", (key,)).fetchone() is not None


def test_a_prune_keeping_more_blocks_than_an_earlier_one_kept_walks_what_is_left(
    chain: EmbeddedChain, compiled: Compiled, operator: LocalAccount,
    residents: list[LocalAccount],
) -> None:  # fmt: skip
    """prune-chain --keep-blocks 10, then --keep-blocks 100000: the second used to walk the
    state roots of blocks the first had pruned and stopped with a KeyError."""
    market = market_history(chain, compiled, operator, residents[0])
    head = chain.block_number
    assert chain.prune_state(keep_blocks=3).kept_from_block == head - 2

    again = chain.prune_state(keep_blocks=100_000)
    assert (again.head, again.kept_from_block) == (head, head - 2)
    assert again.deleted_nodes == 0  # nothing more was stale
    assert balances(chain, market, residents[0].address, head - 2)  # still readable
    with pytest.raises(StatePruned):
        balances(chain, market, residents[0].address, head - 3)


def test_a_trie_node_pruned_and_needed_again_is_written_again(
    tmp_path: Path, chain: EmbeddedChain, operator: LocalAccount
) -> None:
    """Slot 0 goes 1 → 2 → 1: the third block's state reuses nodes the prune deleted."""
    store = deploy(chain, operator, 0, STORE_INIT)
    put(chain, operator, store, 1, 1)
    put(chain, operator, store, 2, 2)
    one = storage_root_of_slot0(1)
    assert stored(chain, one)
    assert chain.prune_state(keep_blocks=1).deleted_nodes > 0
    assert not stored(chain, one)  # slot 0 = 1 was old state: deleted
    put(chain, operator, store, 3, 1)
    assert stored(chain, one)
    assert chain.storage_at(addr(store), 0) == 1
    chain.close()
    reopened = open_existing_chain(tmp_path / "chain")
    try:
        assert reopened.storage_at(addr(store), 0) == 1  # from disk: the node is there
        assert reopened.code(addr(store)) == bytes.fromhex(STORE_RUNTIME)
    finally:
        reopened.close()


def test_snapshots_held_keep_their_state(chain: EmbeddedChain, operator: LocalAccount) -> None:
    store = deploy(chain, operator, 0, STORE_INIT)
    put(chain, operator, store, 1, 7)
    snapshot = chain.snapshot()
    for nonce in range(2, 6):
        put(chain, operator, store, nonce, nonce)
    chain.prune_state(keep_blocks=1)
    assert chain.revert(snapshot)
    assert chain.storage_at(addr(store), 0) == 7


def test_prune_chain_command_refuses_bad_input_and_a_chain_in_use(
    tmp_path: Path, chain: EmbeddedChain, operator: LocalAccount,
    capsys: pytest.CaptureFixture[str],
) -> None:  # fmt: skip
    assert gridshare(["prune-chain", "--data", str(tmp_path / "nothing-here")]) == 2
    assert "--data: no chain in" in capsys.readouterr().err
    assert gridshare(["prune-chain", "--data", str(tmp_path), "--keep-blocks", "0"]) == 2
    assert "--keep-blocks must be at least 1" in capsys.readouterr().err
    assert gridshare(["prune-chain", "--data", str(tmp_path)]) == 1  # `chain` holds it open
    said = capsys.readouterr().err
    assert "in use by another gridshare process" in said
    assert "sudo systemctl stop gridshare" in said  # what stops it on the village server

    store = deploy(chain, operator, 0, STORE_INIT)
    for nonce in range(1, 6):
        put(chain, operator, store, nonce, nonce)
    chain.close()
    assert gridshare(["prune-chain", "--data", str(tmp_path), "--keep-blocks", "2",
                      "--vacuum"]) == 0  # fmt: skip
    out = capsys.readouterr().out
    assert "kept the state of blocks 5..6" in out and "older state nodes" in out
    reopened = open_existing_chain(tmp_path / "chain")
    try:
        assert reopened.storage_at(addr(store), 0) == 5
    finally:
        reopened.close()


def test_a_block_made_while_the_prune_walks_keeps_every_node_it_wrote(
    tmp_path: Path, chain: EmbeddedChain, operator: LocalAccount, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The walk runs unlocked: a block that brings back an old value meanwhile stays whole."""
    store = deploy(chain, operator, 0, STORE_INIT)
    put(chain, operator, store, 1, 1)
    put(chain, operator, store, 2, 2)
    one = storage_root_of_slot0(1)
    walk = chain_module.live_state_nodes

    def walk_while_a_block_lands(*args: Any) -> set[bytes]:
        put(chain, operator, store, 3, 1)  # slot 0 back to 1, while the old state is walked
        return walk(*args)

    monkeypatch.setattr(chain_module, "live_state_nodes", walk_while_a_block_lands)
    result = chain.prune_state(keep_blocks=1)
    assert result.deleted_nodes > 0
    assert stored(chain, one)  # written meanwhile: kept although no walked state has it
    chain.close()
    reopened = open_existing_chain(tmp_path / "chain")
    try:
        assert reopened.storage_at(addr(store), 0) == 1
    finally:
        reopened.close()


def test_a_node_missing_at_the_head_is_not_reported_as_pruned(
    tmp_path: Path, chain: EmbeddedChain, operator: LocalAccount
) -> None:
    """The head's state is always kept: a hole there is damage, raised as it is."""
    store = deploy(chain, operator, 0, STORE_INIT)
    put(chain, operator, store, 1, 5)
    chain.close()
    with closing(sqlite3.connect(tmp_path / "chain" / "chain.sqlite3")) as db, db:
        db.execute("DELETE FROM kv WHERE k = ?", (storage_root_of_slot0(5),))
    damaged = open_existing_chain(tmp_path / "chain")
    try:
        for ref in ("latest", damaged.block_number):
            with pytest.raises(MissingTrieNode) as raised:
                damaged.storage_at(addr(store), 0, ref)
            assert not isinstance(raised.value, StatePruned)
    finally:
        damaged.close()
