"""`gridshare prune-chain`: delete the embedded chain's old state to free disk space."""

from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path

from gridshare.commands.paths import add_data_option, data_dir

DEFAULT_KEEP_BLOCKS = 128  # as an Ethereum full node (geth) keeps recent state


def register(subparsers: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    """Add the `prune-chain` sub-command."""
    parser = subparsers.add_parser(
        "prune-chain",
        help="free disk space: delete state that only old blocks used (server stopped)",
        description="The embedded chain keeps the state of every past block. This deletes "
        "the state trie nodes that only blocks before the last --keep-blocks used; blocks, "
        "transactions, receipts, logs and the explorer's index all stay. Afterwards, reading "
        "a balance or calling the contract at an older block answers 'state pruned'. "
        "`gridshare serve` does this by itself every GRIDSHARE_PRUNE_EVERY_BLOCKS blocks; by "
        "hand it is for --vacuum, or with that turned off. Stop `gridshare serve` first: the "
        "chain can be open in one process only.",
    )
    add_data_option(parser)
    parser.add_argument("--keep-blocks", type=int, default=DEFAULT_KEEP_BLOCKS,
                        help=f"keep the state of this many latest blocks "
                        f"(default {DEFAULT_KEEP_BLOCKS:,})")
    parser.add_argument("--vacuum", action="store_true",
                        help="then shrink the file (slow; needs as much free disk as the file);"
                        " without it the freed space is reused by new blocks")
    parser.set_defaults(handler=run)


def _fail(message: object, code: int) -> int:
    print(f"gridshare prune-chain: {message}", file=sys.stderr)
    return code


def run(args: argparse.Namespace) -> int:
    """Prune, print what was freed; 2 on bad input, 1 if the chain is in use."""
    from gridshare.chain.embedded import ChainInUse, open_existing_chain

    if args.keep_blocks < 1:
        return _fail("--keep-blocks must be at least 1 (the latest block's state always stays)",
                     2)
    data, named = data_dir(args.data, os.environ)
    chain_dir = data / "chain"
    try:
        chain = open_existing_chain(chain_dir)
    except (FileNotFoundError, NotADirectoryError) as exc:
        return _fail(f"{named}: {exc}", 2)
    except ChainInUse as exc:
        return _fail(exc, 1)
    try:
        before = _size(chain_dir)
        result = chain.prune_state(args.keep_blocks)
        print(f"kept the state of blocks {result.kept_from_block}..{result.head}: "
              f"{result.live_nodes:,} trie nodes")
        print(f"deleted {result.deleted_nodes:,} older state nodes "
              f"({result.deleted_bytes / 1e6:.1f} MB)")
        if args.vacuum:
            chain.vacuum()
    finally:
        chain.close()
    after = _size(chain_dir)
    note = "" if args.vacuum else " (space freed inside the file is reused; --vacuum shrinks it)"
    print(f"chain files: {before / 1e6:.1f} MB before, {after / 1e6:.1f} MB now{note}")
    return 0


def _size(folder: Path) -> int:
    return sum(f.stat().st_size for f in folder.iterdir() if f.is_file())
