"""Live reads from the chain for the explorer; a node that does not answer yields None."""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import TypeVar

from web3 import Web3

from gridshare.chain import EnergyMarket

log = logging.getLogger(__name__)
T = TypeVar("T")


def _quietly(read: Callable[[], T]) -> T | None:
    try:
        return read()
    except Exception as exc:  # the explorer keeps showing indexed data when the node is down
        log.warning("explorer: chain read failed: %s", exc)
        return None


class Web3LiveChain:
    """LiveChain over web3 and the typed market wrapper."""

    def __init__(self, w3: Web3, market: EnergyMarket) -> None:
        self.w3, self.market = w3, market

    def chain_id(self) -> int | None:
        return _quietly(lambda: int(self.w3.eth.chain_id))

    def gas_price(self) -> int | None:
        return _quietly(lambda: int(self.w3.eth.gas_price))

    def head(self) -> int | None:
        return _quietly(lambda: int(self.w3.eth.block_number))

    def wallet_balance(self, address: str) -> int | None:
        return _quietly(lambda: int(self.w3.eth.get_balance(Web3.to_checksum_address(address))))

    def market_balances(self, address: str) -> tuple[int, int, int] | None:
        def read() -> tuple[int, int, int]:
            b = self.market.balances(address)
            return int(b.available), int(b.locked), int(b.escrowed)
        return _quietly(read)
