"""Chain access in layers: connection -> transactor -> the typed EnergyMarket wrapper."""

from gridshare.chain.compiler import CompiledContract, compile_contract
from gridshare.chain.errors import ChainError, ContractRevert, TransactionTimeout
from gridshare.chain.market import EnergyMarket, Limits
from gridshare.chain.transactor import Transactor, TxRequest

__all__ = [
    "ChainError",
    "CompiledContract",
    "ContractRevert",
    "EnergyMarket",
    "Limits",
    "TransactionTimeout",
    "Transactor",
    "TxRequest",
    "compile_contract",
]
