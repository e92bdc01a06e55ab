"""Fixtures for the EnergyMarket contract suite, run unchanged on every chain backend."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import pytest
from eth_account.signers.local import LocalAccount

from gridshare.chain import CompiledContract, EnergyMarket, Transactor, compile_contract
from gridshare.domain import Order, Side
from tests.support.chains import BACKENDS, ChainHarness, open_harness

DELIVERY_WINDOW = 3600
SETTLE_GRACE = 600
PRICE = 8 * 10**15  # wei per Wh
START_BALANCE = 10**21  # each household's deposit


def pytest_generate_tests(metafunc: pytest.Metafunc) -> None:
    if "backend" in metafunc.fixturenames:
        chosen = [c for c in metafunc.config.getoption("--chains").split(",") if c]
        unknown = set(chosen) - set(BACKENDS)
        if unknown:
            raise pytest.UsageError(f"unknown chain backends: {sorted(unknown)}")
        metafunc.parametrize("backend", chosen, scope="session")


@dataclass
class World:
    """A deployed market with an operator, three households and an unregistered stranger."""

    chain: ChainHarness
    market: EnergyMarket
    operator: LocalAccount
    buyer: LocalAccount
    seller: LocalAccount
    other: LocalAccount
    stranger: LocalAccount

    @property
    def households(self) -> tuple[LocalAccount, ...]:
        return (self.buyer, self.seller, self.other)

    def offer(self, amount_wh: int = 10, price: int = PRICE, ttl: int = 1800) -> Order:
        """The seller posts an offer."""
        return self.market.place_order(
            self.seller, Side.SELL, amount_wh, price, self.chain.now() + ttl
        )

    def demand(self, amount_wh: int = 10, price: int = PRICE, ttl: int = 1800) -> Order:
        """The buyer posts a demand."""
        return self.market.place_order(
            self.buyer, Side.BUY, amount_wh, price, self.chain.now() + ttl
        )


@pytest.fixture(scope="session")
def compiled() -> CompiledContract:
    return compile_contract()


@pytest.fixture(scope="session")
def harness(backend: str) -> Iterator[ChainHarness]:
    chain = open_harness(backend)
    yield chain
    chain.close()


@dataclass
class Snapshotted:
    """A world and the chain snapshot taken right after it was set up."""

    world: World
    snapshot: Any


@pytest.fixture(scope="session")
def deployed(harness: ChainHarness, compiled: CompiledContract) -> Snapshotted:
    operator, buyer, seller, other, stranger = (harness.new_account() for _ in range(5))
    transactor = Transactor(harness.w3)
    market = EnergyMarket.deploy(
        transactor, compiled, operator, delivery_window=DELIVERY_WINDOW, settle_grace=SETTLE_GRACE
    )
    for house_id, account in enumerate((buyer, seller, other), start=1):
        market.register_household(operator, account.address, house_id, 100 + house_id)
        market.deposit(account, START_BALANCE)
    world = World(harness, market, operator, buyer, seller, other, stranger)
    return Snapshotted(world, harness.snapshot())


@pytest.fixture
def world(deployed: Snapshotted) -> Iterator[World]:
    """The deployed world, rolled back to its freshly set-up state after each test."""
    yield deployed.world
    deployed.world.chain.revert(deployed.snapshot)  # a snapshot is used up by a revert
    deployed.world.market.transactor.nonces.reset()
    deployed.snapshot = deployed.world.chain.snapshot()
