"""The call auction's allocation is the welfare-maximising one of a transportation LP (HiGHS)."""

from __future__ import annotations

import random
from collections import defaultdict

import numpy as np
from scipy.optimize import linprog

from gridshare.domain import Address, Order, Side
from gridshare.market import Clearing, OrderBook, clear_auction

from .commands import make_order

INSTANCES = 1000


def random_instance(rng: random.Random, owners: int) -> list[Order]:
    orders = []
    for n in range(rng.randint(1, 16)):
        owner = Address(f"0x{rng.randrange(owners):040x}")
        orders.append(make_order(n + 1, owner, rng.random() < 0.5, rng.randint(1, 10),
                                 rng.randint(1, 20), 10**9))
    return orders


def lp_welfare_and_volume(orders: list[Order]) -> tuple[int, int]:
    """max welfare Σ(bid − ask)·x, then max volume among welfare optima, over x_ij ≥ 0."""
    bids = [o for o in orders if o.side is Side.BUY]
    asks = [o for o in orders if o.side is Side.SELL]
    pairs = [(i, j) for i, b in enumerate(bids) for j, a in enumerate(asks)
             if b.price_per_wh >= a.price_per_wh]
    if not pairs:
        return 0, 0
    big = sum(o.remaining_wh for o in orders) + 1  # welfare first, volume as tie-break
    c = [-(big * (bids[i].price_per_wh - asks[j].price_per_wh) + 1) for i, j in pairs]
    a_ub = np.zeros((len(bids) + len(asks), len(pairs)))
    for k, (i, j) in enumerate(pairs):
        a_ub[i, k] = 1
        a_ub[len(bids) + j, k] = 1
    b_ub = [o.remaining_wh for o in bids] + [o.remaining_wh for o in asks]
    res = linprog(c, A_ub=a_ub, b_ub=b_ub, bounds=(0, None), method="highs")
    assert res.status == 0
    best = -res.fun
    assert abs(best - round(best)) < 1e-6  # transportation LPs have integral optima
    welfare, volume = divmod(round(best), big)
    return welfare, volume


def allocation(orders: list[Order], clearing: Clearing) -> dict[int, int]:
    """Wh allocated to each order: traded plus withheld self-trade volume."""
    alloc: dict[int, int] = defaultdict(int)
    for f in clearing.fills:
        alloc[f.buy_id] += f.amount_wh
        alloc[f.sell_id] += f.amount_wh
    for w in clearing.withheld:
        alloc[w.order_id] += w.amount_wh
    return alloc


def run_instance(orders: list[Order]) -> tuple[Clearing, dict[int, int]]:
    book = OrderBook()
    for o in orders:
        book.add(o)
    clearing = clear_auction(book, now=0)
    return clearing, allocation(orders, clearing)


def welfare_of(orders: list[Order], alloc: dict[int, int]) -> int:
    sign = {Side.BUY: 1, Side.SELL: -1}
    return sum(sign[o.side] * o.price_per_wh * alloc[o.id] for o in orders)


def test_auction_equals_lp_optimum_with_distinct_owners() -> None:
    rng = random.Random(8)
    for _ in range(INSTANCES):
        orders = random_instance(rng, owners=10**6)
        owners = [o.owner for o in orders]
        if len(set(owners)) != len(owners):
            continue
        clearing, _ = run_instance(orders)
        welfare, volume = lp_welfare_and_volume(orders)
        assert clearing.withheld == ()
        assert clearing.traded_wh == clearing.volume_wh == volume
        by_id = {o.id: o for o in orders}
        assert sum((by_id[f.buy_id].price_per_wh - by_id[f.sell_id].price_per_wh) * f.amount_wh
                   for f in clearing.fills) == welfare


def test_auction_allocation_equals_lp_optimum_with_shared_owners() -> None:
    rng = random.Random(5)
    withheld_seen = 0
    for _ in range(INSTANCES):
        orders = random_instance(rng, owners=3)
        clearing, alloc = run_instance(orders)
        welfare, volume = lp_welfare_and_volume(orders)
        assert welfare_of(orders, alloc) == welfare
        assert clearing.volume_wh == volume
        # self-trade prevention withholds exactly what one owner could only trade with itself
        per_owner: dict[str, int] = defaultdict(int)
        for o in orders:
            per_owner[o.owner] += alloc[o.id]
        unavoidable = max([0, *(v - volume for v in per_owner.values())])
        withheld_bids = sum(w.amount_wh for w in clearing.withheld
                            if next(o for o in orders if o.id == w.order_id).side is Side.BUY)
        assert withheld_bids == unavoidable
        assert clearing.traded_wh == volume - unavoidable
        withheld_seen += bool(clearing.withheld)
    assert withheld_seen > 20


def test_every_fill_respects_both_limits_and_uniform_price() -> None:
    rng = random.Random(13)
    for _ in range(INSTANCES):
        orders = random_instance(rng, owners=4)
        clearing, _ = run_instance(orders)
        by_id = {o.id: o for o in orders}
        for f in clearing.fills:
            assert f.price_per_wh == clearing.price_per_wh
            assert by_id[f.sell_id].price_per_wh <= f.price_per_wh <= by_id[f.buy_id].price_per_wh
            assert f.buyer != f.seller
