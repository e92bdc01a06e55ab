"""The transaction outbox on the embedded chain: exactly once, no nonce gaps, crash recovery."""

from __future__ import annotations

import contextlib
import sqlite3
import threading
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from eth_account import Account
from eth_account.signers.local import LocalAccount
from web3 import Web3

from gridshare.chain import CompiledContract, ContractRevert, EnergyMarket, Transactor, TxRequest
from gridshare.chain.compiler import compile_contract
from gridshare.chain.connection import ChainConnection, open_embedded
from gridshare.chain.outbox import (
    EntryState,
    Outbox,
    OutboxConflict,
    TransactionDropped,
)
from gridshare.domain import Side
from gridshare.storage import Database

FAR = 2**40
COIN = 10**18


class Crash(BaseException):
    """Stands in for a power cut: not an Exception, so nothing cleans up after it."""


@dataclass
class Node:
    """The embedded chain, database, outbox and market of one server 'process'."""

    chain: ChainConnection
    database: Database
    transactor: Transactor
    outbox: Outbox
    market: EnergyMarket

    def close(self) -> None:
        # Database.close cannot yet close connections other threads opened (reported)
        with contextlib.suppress(sqlite3.ProgrammingError):
            self.database.close()
        self.chain.close()


@pytest.fixture(scope="module")
def compiled() -> CompiledContract:
    return compile_contract()


@pytest.fixture
def start(tmp_path: Path, compiled: CompiledContract) -> Iterator[Any]:
    """Open (or reopen, after a 'crash') the server's chain and outbox in tmp_path."""
    operator = Account.from_key("0x" + "0a" * 32)
    opened: list[Node] = []
    address: list[str] = []

    def open_node() -> Node:
        chain = open_embedded(tmp_path, 1337, {operator.address: 10**9 * COIN})
        database = Database(tmp_path / "gridshare.sqlite")
        transactor = Transactor(chain.w3)
        outbox = Outbox(database, transactor)
        if not address:
            deployed = EnergyMarket.deploy(
                transactor, compiled, operator, delivery_window=3600, settle_grace=600
            )
            address.append(deployed.address)
        market = EnergyMarket(chain.w3, address[0], compiled, transactor, sender=outbox)
        node = Node(chain, database, transactor, outbox, market)
        opened.append(node)
        return node

    open_node.operator = operator  # type: ignore[attr-defined]
    yield open_node
    for node in opened:
        node.close()


def residents(node: Node, operator: LocalAccount, count: int) -> list[LocalAccount]:
    """Registered households with coins and a market balance."""
    accounts = [Account.from_key(bytes([i + 1]) * 32) for i in range(count)]
    for house, account in enumerate(accounts, start=1):
        node.market.register_household(operator, account.address, house, house, key=f"reg:{house}")
    return accounts


def nonce(node: Node, account: str) -> int:
    return int(node.chain.w3.eth.get_transaction_count(Web3.to_checksum_address(account)))


def test_same_key_returns_the_first_receipt_and_sends_nothing_more(start: Any) -> None:
    node = start()
    operator = start.operator
    (seller,) = residents(node, operator, 1)
    first = node.market.place_order(seller, Side.SELL, 10, 5, FAR, key="offer:1")
    before = nonce(node, seller.address)
    again = node.market.place_order(seller, Side.SELL, 10, 5, FAR, key="offer:1")
    assert again == first
    assert nonce(node, seller.address) == before
    assert node.market.order_count() == 1
    entry = node.outbox.entry("offer:1")
    assert entry is not None and entry.state is EntryState.MINED


def test_a_key_reused_for_a_different_transaction_is_refused(start: Any) -> None:
    node = start()
    (seller,) = residents(node, start.operator, 1)
    node.market.place_order(seller, Side.SELL, 10, 5, FAR, key="offer:1")
    with pytest.raises(OutboxConflict, match="offer:1"):
        node.market.place_order(seller, Side.SELL, 11, 5, FAR, key="offer:1")


def test_a_refused_transaction_records_nothing_and_its_key_stays_usable(start: Any) -> None:
    node = start()
    (seller,) = residents(node, start.operator, 1)
    with pytest.raises(ContractRevert) as refused:
        node.market.place_order(seller, Side.SELL, 0, 5, FAR, key="offer:bad")
    assert refused.value.field == "amount_wh"
    assert node.outbox.entry("offer:bad") is None


def test_fifty_concurrent_requests_from_five_accounts_land_once_each_without_nonce_gaps(
    start: Any,
) -> None:
    node = start()
    accounts = residents(node, start.operator, 5)
    start_nonces = {a.address: nonce(node, a.address) for a in accounts}
    jobs = [(accounts[i % 5], i) for i in range(50)]
    barrier = threading.Barrier(20)

    def request(job: tuple[LocalAccount, int]) -> int:
        account, i = job
        if i < 20:
            barrier.wait()  # the first twenty start at the same instant
        return node.market.place_order(account, Side.SELL, 100 + i, 5, FAR, key=f"order:{i}").id

    with ThreadPoolExecutor(max_workers=20) as pool:
        # every request is sent twice at once: a retried HTTP request must not trade twice
        ids = list(pool.map(request, jobs + jobs))
    assert ids[:50] == ids[50:]
    assert sorted(set(ids)) == list(range(1, 51))  # fifty orders, each exactly once
    assert node.market.order_count() == 50
    for account in accounts:
        assert nonce(node, account.address) == start_nonces[account.address] + 10
        sent = sorted(
            e.nonce
            for i in range(50)
            if (e := node.outbox.entry(f"order:{i}")) is not None and e.sender == account.address
        )
        first = start_nonces[account.address]
        assert sent == list(range(first, first + 10))  # consecutive: no gaps, no repeats
    amounts = sorted(node.market.order(i).amount_wh for i in range(1, 51))  # type: ignore[union-attr]
    assert amounts == list(range(100, 150))


def test_after_a_crash_before_broadcast_recovery_sends_the_recorded_transaction_once(
    start: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    node = start()
    operator = start.operator
    (buyer,) = residents(node, operator, 1)

    def power_cut(raw: bytes, **options: Any) -> Any:
        raise Crash

    monkeypatch.setattr(node.transactor, "broadcast", power_cut)
    with pytest.raises(Crash):
        node.market.deposit_for(operator, buyer.address, 7 * COIN, key="topup:1")
    monkeypatch.undo()
    node.close()

    restarted = start()
    (recovered,) = restarted.outbox.recover()
    assert recovered.key == "topup:1" and recovered.state is EntryState.MINED
    assert restarted.market.balances(buyer.address).available == 7 * COIN
    restarted.market.deposit_for(operator, buyer.address, 7 * COIN, key="topup:1")
    assert restarted.market.balances(buyer.address).available == 7 * COIN  # not twice
    restarted.market.deposit_for(operator, buyer.address, 1, key="topup:2")  # nonce continues
    assert restarted.market.balances(buyer.address).available == 7 * COIN + 1


def test_after_a_crash_before_the_receipt_recovery_resolves_without_resending(
    start: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    node = start()
    operator = start.operator
    (buyer,) = residents(node, operator, 1)

    def power_cut(tx_hash: bytes) -> Any:
        raise Crash

    monkeypatch.setattr(node.transactor, "await_receipt", power_cut)
    with pytest.raises(Crash):
        node.market.deposit_for(operator, buyer.address, 3 * COIN, key="topup:1")
    monkeypatch.undo()
    sent = nonce(node, operator.address)
    node.close()

    restarted = start()
    assert restarted.outbox.entry("topup:1").state is EntryState.SIGNED  # type: ignore[union-attr]
    (recovered,) = restarted.outbox.recover()
    assert recovered.state is EntryState.MINED and recovered.block_number is not None
    assert nonce(restarted, operator.address) == sent
    assert restarted.market.balances(buyer.address).available == 3 * COIN


def test_recovery_drops_an_entry_whose_nonce_another_transaction_used(
    start: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    node = start()
    operator = start.operator
    (buyer,) = residents(node, operator, 1)

    def power_cut(raw: bytes, **options: Any) -> Any:
        raise Crash

    monkeypatch.setattr(node.transactor, "broadcast", power_cut)
    with pytest.raises(Crash):
        node.market.deposit_for(operator, buyer.address, 5 * COIN, key="topup:1")
    monkeypatch.undo()
    # another tool signs with the operator key and takes the same nonce first
    Transactor(node.chain.w3).transact(operator, TxRequest(buyer.address, b"", 1))
    node.close()

    restarted = start()
    (recovered,) = restarted.outbox.recover()
    assert recovered.state is EntryState.DROPPED
    assert restarted.market.balances(buyer.address).available == 0
    with pytest.raises(TransactionDropped):
        restarted.market.deposit_for(operator, buyer.address, 5 * COIN, key="topup:1")
