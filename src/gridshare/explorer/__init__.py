"""Block explorer that speaks energy: an indexer into SQLite, decoding, sentences, search."""

from gridshare.explorer.abi import MarketAbi
from gridshare.explorer.indexer import BackgroundIndexer, Indexer
from gridshare.explorer.ledger import DeliveryState, OrderState, fold_delivery, fold_order
from gridshare.explorer.names import HouseNamer, Names
from gridshare.explorer.records import BlockRecord, Call, Event, IndexedBlock, LogEntry, TxRecord
from gridshare.explorer.search import Candidate, search
from gridshare.explorer.service import Explorer, LiveChain
from gridshare.explorer.source import ChainSource, HttpJsonRpc, JsonRpc, RpcSource, SourceError
from gridshare.explorer.store import ExplorerStore
from gridshare.explorer.words import Context, coins, describe, describe_call, house_name

__all__ = [
    "BackgroundIndexer",
    "BlockRecord",
    "Call",
    "Candidate",
    "ChainSource",
    "Context",
    "DeliveryState",
    "Event",
    "Explorer",
    "ExplorerStore",
    "HouseNamer",
    "HttpJsonRpc",
    "IndexedBlock",
    "Indexer",
    "JsonRpc",
    "LiveChain",
    "LogEntry",
    "MarketAbi",
    "Names",
    "OrderState",
    "RpcSource",
    "SourceError",
    "TxRecord",
    "coins",
    "describe",
    "describe_call",
    "fold_delivery",
    "fold_order",
    "house_name",
    "search",
]
