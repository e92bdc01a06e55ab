"""Build the explorer's parts for a running server (used by the web route's install)."""

from __future__ import annotations

from dataclasses import dataclass

from gridshare.explorer.abi import MarketAbi
from gridshare.explorer.indexer import BackgroundIndexer, Indexer
from gridshare.explorer.live import Web3LiveChain
from gridshare.explorer.service import Explorer
from gridshare.explorer.source import RpcSource
from gridshare.explorer.store import ExplorerStore
from gridshare.runtime import Runtime

INDEX_FILE = "explorer.sqlite"


@dataclass
class ExplorerParts:
    """The store, its indexer (not started) and the read side."""

    store: ExplorerStore
    indexer: Indexer
    background: BackgroundIndexer
    explorer: Explorer


def build_explorer(runtime: Runtime, *, interval: float = 0.5) -> ExplorerParts:
    """The index file in the data directory, an indexer over the chain, the read side."""
    store = ExplorerStore(runtime.settings.data_dir / INDEX_FILE)
    address = str(runtime.market.address)
    source = RpcSource(runtime.chain.w3.provider)
    indexer = Indexer(store, source, MarketAbi(runtime.compiled.abi), address)
    explorer = Explorer(
        store, Web3LiveChain(runtime.chain.w3, runtime.market), market=address,
        operator=runtime.operator.address, symbol=runtime.settings.coin_symbol,
        zone=runtime.settings.zone,
    )
    return ExplorerParts(store, indexer, BackgroundIndexer(indexer, interval), explorer)


def stop_explorer(parts: ExplorerParts) -> None:
    """Stop the indexer thread, then close the index file."""
    parts.background.stop()
    parts.store.close()
