"""Rounds over the chain's orders propose only matches the EnergyMarket contract accepts."""

from __future__ import annotations

import random
from dataclasses import replace

import pytest

from gridshare.domain import Address, MatchProposal, Order, OrderStatus, Side, Wh
from gridshare.market import MECHANISMS, book_from_orders, mechanism_named, propose_matches

from .commands import make_order


def chain_orders(rng: random.Random, now: int) -> list[Order]:
    """Orders as the contract lists them: some partly filled, some closed, some expired."""
    orders = []
    for n in range(1, rng.randint(1, 60)):
        amount = rng.randint(1, 20)
        order = make_order(n, Address(f"0x{rng.randint(1, 5):040x}"), rng.random() < 0.5,
                           amount, rng.randint(1, 30), now + rng.randint(-50, 500))
        roll = rng.random()
        if roll < 0.2:
            order = replace(order, remaining_wh=Wh(rng.randint(1, amount)))
        elif roll < 0.25:
            order = replace(order, remaining_wh=Wh(0), status=OrderStatus.FILLED)
        elif roll < 0.3:
            order = replace(order, remaining_wh=Wh(0), status=OrderStatus.CANCELLED)
        orders.append(order)
    rng.shuffle(orders)
    return orders


def apply_like_contract(orders: list[Order], matches: tuple[MatchProposal, ...],
                        now: int) -> dict[int, int]:
    """The contract's `_match` checks, applied in order; returns remaining Wh per order."""
    by_id = {o.id: o for o in orders}
    remaining = {o.id: o.remaining_wh for o in orders}
    for m in matches:
        b, s = by_id[m.buy_id], by_id[m.sell_id]
        for o in (b, s):
            assert o.status is OrderStatus.OPEN and remaining[o.id] > 0, "order closed"
            assert now < o.expires_at, "order expired"
        assert b.side is Side.BUY and s.side is Side.SELL, "wrong sides"
        assert b.owner != s.owner, "own order"
        assert 0 < m.amount_wh <= min(remaining[b.id], remaining[s.id]), "bad amount"
        assert s.price_per_wh <= m.price_per_wh <= b.price_per_wh, "limit price"
        remaining[b.id] -= m.amount_wh
        remaining[s.id] -= m.amount_wh
    return remaining


@pytest.mark.parametrize("name", MECHANISMS)
def test_round_proposals_pass_the_contract_checks(name: str) -> None:
    rng = random.Random(name)
    mechanism = mechanism_named(name)
    traded = 0
    for _ in range(500):
        now = rng.randint(100, 10_000)
        orders = chain_orders(rng, now)
        matches = propose_matches(orders, mechanism, now)
        apply_like_contract(orders, matches, now)
        traded += len(matches)
    assert (traded == 0) == (name == "bulletin")


def test_continuous_round_leaves_no_cross_between_owners() -> None:
    rng = random.Random(3)
    for _ in range(300):
        orders = chain_orders(rng, 1000)
        matches = propose_matches(orders, mechanism_named("continuous"), 1000)
        remaining = apply_like_contract(orders, matches, 1000)
        after = [replace(o, remaining_wh=Wh(remaining[o.id])) for o in orders
                 if remaining[o.id] > 0]
        assert propose_matches(after, mechanism_named("continuous"), 1000) == ()


def test_book_from_orders_holds_only_tradable_orders_in_id_order() -> None:
    rng = random.Random(4)
    orders = chain_orders(rng, 1000)
    book = book_from_orders(orders, now=1000)
    live = [o for o in orders if o.is_live(1000)]
    assert len(book) == len(live)
    for side in Side:
        got = book.orders(side)
        sign = 1 if side is Side.BUY else -1
        assert [o.id for o in got] == [o.id for o in sorted(
            (o for o in live if o.side is side), key=lambda o: (-sign * o.price_per_wh, o.id))]
