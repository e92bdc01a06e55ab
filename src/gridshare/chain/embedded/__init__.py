"""Persistent embedded EVM chain (py-evm over SQLite), its JSON-RPC dispatcher and provider.

    chain = open_embedded_chain(data_dir, chain_id=1337, genesis_alloc={treasury: 10**24})
    w3 = Web3(EmbeddedProvider(chain))          # in process
    RpcDispatcher(chain).handle(request_json)   # behind an HTTP /rpc route
"""

from gridshare.chain.embedded.chain import (
    DEFAULT_CHAIN_ID,
    BlockRef,
    EmbeddedChain,
    open_embedded_chain,
    open_existing_chain,
)
from gridshare.chain.embedded.errors import (
    ChainInUse,
    ChainMismatch,
    EmbeddedChainError,
    ExecutionFailed,
    ExecutionReverted,
    InvalidTransaction,
    StatePruned,
    UnknownBlock,
)
from gridshare.chain.embedded.execution import CallRequest
from gridshare.chain.embedded.index import LogFilter, LogRecord, TooManyLogs, TxRecord
from gridshare.chain.embedded.params import RpcError
from gridshare.chain.embedded.provider import EmbeddedProvider
from gridshare.chain.embedded.rpc import RpcDispatcher

__all__ = [
    "DEFAULT_CHAIN_ID",
    "BlockRef",
    "CallRequest",
    "ChainInUse",
    "ChainMismatch",
    "EmbeddedChain",
    "EmbeddedChainError",
    "EmbeddedProvider",
    "ExecutionFailed",
    "ExecutionReverted",
    "InvalidTransaction",
    "LogFilter",
    "LogRecord",
    "RpcDispatcher",
    "RpcError",
    "StatePruned",
    "TooManyLogs",
    "TxRecord",
    "UnknownBlock",
    "open_embedded_chain",
    "open_existing_chain",
]
