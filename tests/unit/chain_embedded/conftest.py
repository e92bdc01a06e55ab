"""Fixtures for the embedded chain tests: compiled EnergyMarket, keys, a chain in tmp_path."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
import vyper
from eth_account import Account
from eth_account.signers.local import LocalAccount

from gridshare.chain.embedded import EmbeddedChain, RpcDispatcher, open_embedded_chain
from tests.unit.chain_embedded.embedded_helpers import (
    CHAIN_ID,
    CONTRACT,
    TREASURY_WEI,
    Compiled,
    FakeClock,
    addr,
)


@pytest.fixture(scope="session")
def compiled() -> Compiled:
    out = vyper.compile_code(CONTRACT.read_text(), output_formats=["abi", "bytecode"])
    return Compiled(out["abi"], out["bytecode"])


@pytest.fixture(scope="session")
def operator() -> LocalAccount:
    account: LocalAccount = Account.from_key("0x" + "11" * 32)
    return account


@pytest.fixture(scope="session")
def residents() -> list[LocalAccount]:
    return [Account.from_key("0x" + f"{i:02x}" * 32) for i in range(0x21, 0x25)]


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock()


@pytest.fixture
def chain(tmp_path: Path, operator: LocalAccount, clock: FakeClock) -> Iterator[EmbeddedChain]:
    opened = open_embedded_chain(
        tmp_path / "chain", CHAIN_ID, {addr(operator.address): TREASURY_WEI}, clock=clock
    )
    yield opened
    opened.close()


@pytest.fixture
def rpc(chain: EmbeddedChain) -> RpcDispatcher:
    return RpcDispatcher(chain)
