"""Errors the embedded chain raises; the RPC dispatcher maps them to JSON-RPC codes."""

from __future__ import annotations


class EmbeddedChainError(Exception):
    """Base class of the embedded chain's errors."""


class InvalidTransaction(EmbeddedChainError):
    """A raw transaction was refused (undecodable, bad signature, nonce, chain id, funds)."""


class ExecutionReverted(EmbeddedChainError):
    """A call or gas estimate reverted; `data` is the revert data (e.g. Error(string))."""

    def __init__(self, reason: str, data: bytes = b"") -> None:
        super().__init__(reason)
        self.reason = reason
        self.data = data


class ExecutionFailed(EmbeddedChainError):
    """A call or gas estimate failed without reverting (out of gas, invalid opcode, funds)."""


class UnknownBlock(EmbeddedChainError):
    """The requested block does not exist on the canonical chain."""


class StatePruned(UnknownBlock):
    """The state of that block was pruned: only recent blocks' state is kept."""


class ChainMismatch(EmbeddedChainError):
    """The data directory holds a chain with another chain id or genesis."""


class ChainInUse(EmbeddedChainError):
    """Another process (or another open chain in this one) already uses the data directory."""
