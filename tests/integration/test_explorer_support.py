"""A scripted day of trading on the EnergyMarket, shared by the explorer's tests (no tests here).

Every kind of market transaction happens at least once: registrations, deposits and operator
top-ups, offers and demands, takes both ways, operator matches (single and batch), settlements
(single, partial, batch), a delivery expired past its deadline, cancels by the owner and by a
stranger after expiry, and a withdrawal.
"""

from __future__ import annotations

import sqlite3
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from eth_account import Account
from eth_account.signers.local import LocalAccount
from pydantic import SecretStr
from web3.types import RPCEndpoint

from gridshare.chain import TxRequest
from gridshare.chain.keystore import OPERATOR_SCRYPT_N, load_or_create_keystore
from gridshare.config import Settings
from gridshare.domain import WEI_PER_COIN, MatchProposal, Side, Wei, Wh
from gridshare.runtime import Runtime, build_runtime

PASSWORD = "explorer test password"
COIN = WEI_PER_COIN
DELIVERY_WINDOW = 60
SETTLE_GRACE = 10


def explorer_settings(
    data_dir: Path, chain_url: str | None = None, timezone: str = "UTC"
) -> Settings:
    """Settings for a test server on the embedded chain or the node at `chain_url`."""
    return Settings(
        data_dir=data_dir, chain_url=chain_url, operator_password=SecretStr(PASSWORD),
        delivery_window_s=DELIVERY_WINDOW, settle_grace_s=SETTLE_GRACE,
        market_engine=False,  # the scripted day is the only trader
        timezone=timezone,
    )


def open_runtime(data_dir: Path, node_url: str | None = None, timezone: str = "UTC") -> Runtime:
    """A runtime on the embedded chain, or on a dev node whose operator we fund first."""
    if node_url is not None:
        data_dir.mkdir(parents=True, exist_ok=True)
        operator = load_or_create_keystore(
            data_dir / "operator.keystore.json", PASSWORD, scrypt_n=OPERATOR_SCRYPT_N
        )
        import httpx

        httpx.post(node_url, json={"jsonrpc": "2.0", "id": 1, "method": "anvil_setBalance",
                                   "params": [operator.address, hex(10**30)]}).raise_for_status()
    return build_runtime(explorer_settings(data_dir, node_url, timezone))


def close_runtime(runtime: Runtime) -> None:
    """Close the runtime; tolerate storage.Database refusing to close other threads' connections.

    (Database opens thread-bound sqlite3 connections, so closing one that a request thread
    opened raises ProgrammingError; that belongs to storage/, not to the explorer.)
    """
    try:
        runtime.close()
    except sqlite3.ProgrammingError:
        runtime.chain.close()


def advance(runtime: Runtime, seconds: int) -> None:
    """Move chain time forward by `seconds` and mine a block."""
    w3 = runtime.chain.w3
    if runtime.chain.embedded is not None:
        now = int(w3.eth.get_block("latest")["timestamp"])
        runtime.chain.embedded.mine_block(timestamp=now + seconds)
        return
    w3.provider.make_request(RPCEndpoint("evm_increaseTime"), [seconds])
    w3.provider.make_request(RPCEndpoint("evm_mine"), [])


@dataclass
class Day:
    """What the scripted day created, for the tests to look up."""

    houses: list[LocalAccount]
    stranger: LocalAccount
    orders: list[int] = field(default_factory=list)
    deliveries: list[int] = field(default_factory=list)
    settled: dict[int, tuple[int, int]] = field(default_factory=dict)  # id -> (delivered, amount)


def trade_a_day(runtime: Runtime, first_house: int = 1) -> Day:
    """Script a day of trading between four new households; returns what it created."""
    market, op, w3 = runtime.market, runtime.operator, runtime.chain.w3
    houses = [Account.create() for _ in range(4)]
    stranger = Account.create()
    for account in [*houses, stranger]:  # wallet coins (and gas money on a real node)
        runtime.transactor.transact(op, TxRequest(account.address, b"", 500 * COIN))
    for number, account in enumerate(houses, start=first_house):
        market.register_household(op, account.address, number, 100 + number)
    h1, h2, h3, h4 = houses
    day = Day(houses, stranger)
    for account in houses[:2]:
        market.deposit(account, 200 * COIN)
    for account in houses[2:]:
        market.deposit_for(op, account.address, 200 * COIN)

    def now() -> int:
        return int(w3.eth.get_block("latest")["timestamp"])

    def order(account: LocalAccount, side: Side, wh: int, price: int, ttl: int = 3600) -> int:
        placed = market.place_order(account, side, wh, price * COIN, now() + ttl)
        day.orders.append(placed.id)
        return placed.id

    # morning: house-01 sells to house-02 by take; settled short (4 of 5 Wh)
    offer = order(h1, Side.SELL, 5, 8)
    d1 = market.take(h2, offer, 5)
    s1 = market.settle(op, d1.id, 4)
    day.settled[d1.id] = (s1.delivered_wh, 5)
    # midday: the operator matches house-03's demand with house-04's offer
    demand = order(h3, Side.BUY, 10, 9)
    supply = order(h4, Side.SELL, 6, 7)
    d2 = market.match(op, MatchProposal(demand, supply, Wh(6), Wei(8 * COIN)))
    # house-01 sells into house-03's remaining demand; that delivery is never metered
    d3 = market.take(h1, demand, 2)
    # a batch: two more offers matched against one demand, settled together with d2
    demand2 = order(h2, Side.BUY, 6, 10)
    offer_a, offer_b = order(h1, Side.SELL, 3, 9), order(h4, Side.SELL, 3, 10)
    batch = market.match_batch(op, [MatchProposal(demand2, offer_a, Wh(3), Wei(9 * COIN)),
                                    MatchProposal(demand2, offer_b, Wh(3), Wei(10 * COIN))])
    settled = market.settle_batch(op, [(d2.id, 6), (batch[0].id, 3), (batch[1].id, 1)])
    for s, amount in zip(settled, (6, 3, 3), strict=True):
        day.settled[s.delivery_id] = (s.delivered_wh, amount)
    # evening: cancels, an order left to expire, a delivery left to expire, a withdrawal
    market.cancel_order(h3, demand)  # 2 Wh still open, its lock comes back
    stale = order(h4, Side.SELL, 4, 12, ttl=30)
    advance(runtime, DELIVERY_WINDOW + SETTLE_GRACE + 5)
    market.cancel_order(stranger, stale)  # anyone may cancel an expired order
    market.expire(h4, d3.id)
    market.withdraw(h2, 50 * COIN)
    day.deliveries = [d1.id, d2.id, d3.id, *(d.id for d in batch)]
    return day


def chain_transactions(runtime: Runtime) -> dict[str, dict[str, Any]]:
    """Every transaction on the chain by hash, read block by block with its receipt."""
    w3 = runtime.chain.w3
    found: dict[str, dict[str, Any]] = {}
    for number in range(int(w3.eth.block_number) + 1):
        block = w3.eth.get_block(number, full_transactions=True)
        for tx in block["transactions"]:
            assert not isinstance(tx, bytes)
            receipt = w3.eth.get_transaction_receipt(tx["hash"])
            found["0x" + bytes(tx["hash"]).hex()] = {
                "from": str(tx["from"]).lower(),
                "to": str(tx["to"]).lower() if tx.get("to") else None,
                "created": str(receipt["contractAddress"]).lower()
                if receipt.get("contractAddress") else None,
                "logs": receipt["logs"],
                "block": number,
            }
    return found
