"""The chain side of a simulation: embedded chain on simulated time, deployed market, accounts.

This is the simulator's composition root. It wires the same pieces `build_runtime` uses
(embedded chain, Transactor, EnergyMarket, TradingService) but opens the chain with the
simulation's clock, so the genesis block and every block after it carry simulated time.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path

from eth_account import Account
from eth_account.signers.local import LocalAccount
from web3 import Web3

from gridshare.chain import EnergyMarket, Transactor, compile_contract
from gridshare.chain.embedded import (
    EmbeddedChain,
    EmbeddedProvider,
    RpcDispatcher,
    open_embedded_chain,
)
from gridshare.domain import WEI_PER_COIN
from gridshare.services.trading import TradingService

CHAIN_ID = 1337
DELIVERY_WINDOW_S = 3600
SETTLE_GRACE_S = 600


@dataclass
class World:
    """A running simulation's chain, market, operator, households and trading service."""

    chain: EmbeddedChain
    w3: Web3
    market: EnergyMarket
    operator: LocalAccount
    accounts: dict[int, LocalAccount]
    trading: TradingService
    closers: list[Callable[[], None]] = field(default_factory=list)

    def now(self) -> int:
        """The chain's time now: the timestamp the next block gets (simulated seconds)."""
        return self.chain.next_timestamp()

    def close(self) -> None:
        """Release the chain database."""
        while self.closers:
            self.closers.pop()()
        self.chain.close()


def build_world(
    data_dir: Path,
    house_ids: Sequence[int],
    clock_s: Callable[[], float],
    *,
    deposit_coins: int,
    seed: int,
) -> World:
    """Open a fresh embedded chain on `clock_s`, deploy the market, register and fund houses."""
    operator: LocalAccount = Account.from_key(_key(seed, 0))
    treasury = (deposit_coins * len(house_ids) + 1_000) * WEI_PER_COIN
    chain = open_embedded_chain(
        data_dir / "chain", CHAIN_ID, {bytes.fromhex(operator.address[2:]): treasury},
        clock=clock_s, durability="normal",
    )
    try:
        w3 = Web3(EmbeddedProvider(RpcDispatcher(chain)))
        transactor = Transactor(w3)  # no dry runs: the chain refuses reverts when sent
        market = EnergyMarket.deploy(
            transactor, compile_contract(), operator,
            delivery_window=DELIVERY_WINDOW_S, settle_grace=SETTLE_GRACE_S,
        )
        accounts: dict[int, LocalAccount] = {}
        for hid in house_ids:
            account: LocalAccount = Account.from_key(_key(seed, hid))
            market.register_household(operator, account.address, hid, hid)
            market.deposit_for(operator, account.address, deposit_coins * WEI_PER_COIN)
            accounts[hid] = account
    except BaseException:
        chain.close()
        raise
    world = World(chain, w3, market, operator, accounts, TradingService(market, lambda: 0))
    world.trading.clock = world.now
    return world


def _key(seed: int, n: int) -> bytes:
    """A deterministic private key for account n of a seeded run (simulation only)."""
    return Web3.keccak(text=f"gridshare-simulation/{seed}/{n}")
