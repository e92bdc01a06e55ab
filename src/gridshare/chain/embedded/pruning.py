"""Old state off the disk: keep the state of the last blocks, delete the trie nodes only older
states used.

py-evm never deletes a state trie node: every block writes new nodes along the paths it
changed, and the old ones stay. After a simulated day of 10 houses, nine tenths of the state
data on disk belongs to no recent block. `live_state_nodes` walks the state tries of the blocks
to keep (accounts, their storage and code); everything the store recorded as written state
(`BlockStore.state_writes`) and not reached is deleted. Blocks, transactions, receipts, logs and
the index are never touched: only the state of older blocks goes, so reading a balance or
calling the contract "at block N" for an older N answers "state pruned".

`EmbeddedChain.prune_state` runs the walk without the chain's lock, so blocks go on being made;
it keeps every state key they commit meanwhile.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass

import rlp  # type: ignore[import-untyped]
from eth.rlp.accounts import Account
from trie.constants import (
    BLANK_NODE_HASH,
    NODE_TYPE_BRANCH,
    NODE_TYPE_EXTENSION,
    NODE_TYPE_LEAF,
)
from trie.utils.nodes import get_node_type

EMPTY_CODE_HASH = bytes.fromhex("c5d2460186f7233c927e7db2dcc703c0e500b653ca82273b7bfad8045d85a470")


@dataclass(frozen=True)
class PruneResult:
    """What one pruning did."""

    head: int
    kept_from_block: int
    live_nodes: int
    deleted_nodes: int
    deleted_bytes: int


def live_state_nodes(read: Callable[[bytes], bytes], state_roots: Iterable[bytes]) -> set[bytes]:
    """Keys of every trie node and code reached from `state_roots` (accounts, then storage)."""
    live: set[bytes] = set()
    for root in state_roots:
        _walk(read, root, live, on_account=lambda value: _account(read, value, live))
    return live


def _account(read: Callable[[bytes], bytes], value: bytes, live: set[bytes]) -> None:
    account = rlp.decode(value, sedes=Account)
    _walk(read, account.storage_root, live, on_account=None)
    if account.code_hash != EMPTY_CODE_HASH:
        live.add(account.code_hash)


def _walk(
    read: Callable[[bytes], bytes],
    root: bytes,
    live: set[bytes],
    on_account: Callable[[bytes], None] | None,
) -> None:
    """Mark the nodes of one trie; `on_account` gets each leaf value of the account trie."""
    if root == BLANK_NODE_HASH or root in live:
        return
    stack: list[object] = [root]
    while stack:
        ref = stack.pop()
        if isinstance(ref, list):  # a node under 32 bytes, inlined in its parent
            node = ref
        elif isinstance(ref, bytes) and len(ref) == 32:
            if ref in live:
                continue  # shared with a trie walked already (an older kept block)
            live.add(ref)
            node = rlp.decode(read(ref))
        else:
            continue  # blank child
        kind = get_node_type(node)
        if kind == NODE_TYPE_LEAF:
            if on_account is not None:
                on_account(node[1])
        elif kind == NODE_TYPE_EXTENSION:
            stack.append(node[1])
        elif kind == NODE_TYPE_BRANCH:
            stack.extend(child for child in node[:16] if child != b"")
