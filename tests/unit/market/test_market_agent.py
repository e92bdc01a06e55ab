"""Auto-trading rules turn a house's state into cancels and one new order."""

from __future__ import annotations

import pytest

from gridshare.domain import Address, Order, Side, Wei, Wh
from gridshare.market import AgentRules, CancelOrder, HouseState, PlaceOrder, decide, target

from .commands import make_order

ME, OTHER = Address("0x" + "a" * 40), Address("0x" + "b" * 40)
RULES = AgentRules(sell_above_permille=800, min_sell_price=Wei(12), buy_below_permille=300,
                   max_buy_price=Wei(9), order_ttl_s=900)


def state(soc: int, net: int = 0, orders: tuple[Order, ...] = (), now: int = 1000) -> HouseState:
    return HouseState(owner=ME, soc_permille=soc, capacity_wh=Wh(5000), net_wh=net,
                      open_orders=orders, now=now)


def test_full_battery_offers_energy_above_threshold_plus_surplus() -> None:
    assert decide(RULES, state(900, net=200)) == (PlaceOrder(Side.SELL, Wh(700), Wei(12), 1900),)


def test_empty_battery_bids_for_energy_to_threshold_plus_deficit() -> None:
    assert decide(RULES, state(100, net=-50)) == (PlaceOrder(Side.BUY, Wh(1050), Wei(9), 1900),)


def test_middle_band_holds_and_cancels_open_orders() -> None:
    mine = make_order(7, ME, False, 100, 12, 5000)
    assert target(RULES, state(500)) is None
    assert decide(RULES, state(500, orders=(mine,))) == (CancelOrder(7),)


def test_open_orders_count_towards_the_target() -> None:
    mine = make_order(7, ME, False, 300, 12, 5000)
    theirs = make_order(8, OTHER, False, 300, 12, 5000)
    assert decide(RULES, state(900, orders=(mine, theirs))) == (
        PlaceOrder(Side.SELL, Wh(200), Wei(12), 1900),
    )


def test_excess_newest_wrong_side_stale_price_and_expired_orders_are_cancelled() -> None:
    orders = (
        make_order(1, ME, False, 400, 12, 5000),   # kept
        make_order(2, ME, False, 400, 12, 5000),   # newest, pushes over 500 Wh -> cancelled
        make_order(3, ME, True, 10, 9, 5000),      # wrong side
        make_order(4, ME, False, 10, 11, 5000),    # old price
        make_order(5, ME, False, 10, 12, 1000),    # expired at now
    )
    assert decide(RULES, state(900, orders=orders)) == (
        CancelOrder(2), CancelOrder(3), CancelOrder(4), CancelOrder(5),
        PlaceOrder(Side.SELL, Wh(100), Wei(12), 1900),
    )


def test_energy_sold_or_bought_and_not_yet_delivered_is_taken_off_the_target() -> None:
    """The battery does not show a pending sale yet: without this, a full house sold the same
    700 Wh again each interval, and its meter could not deliver them all before the deadlines."""
    full = HouseState(owner=ME, soc_permille=900, capacity_wh=Wh(5000), net_wh=200,
                      open_orders=(), now=1000, undelivered_sold_wh=500)  # fmt: skip
    assert decide(RULES, full) == (PlaceOrder(Side.SELL, Wh(200), Wei(12), 1900),)
    resting = make_order(7, ME, False, 300, 12, 5000)
    sold_out = HouseState(owner=ME, soc_permille=900, capacity_wh=Wh(5000), net_wh=200,
                          open_orders=(resting,), now=1000, undelivered_sold_wh=800)  # fmt: skip
    assert decide(RULES, sold_out) == (CancelOrder(7),)  # all of it is already sold
    empty = HouseState(owner=ME, soc_permille=100, capacity_wh=Wh(5000), net_wh=-50,
                       open_orders=(), now=1000, undelivered_bought_wh=1000)  # fmt: skip
    assert decide(RULES, empty) == (PlaceOrder(Side.BUY, Wh(50), Wei(9), 1900),)


def test_rules_are_validated_with_clear_messages() -> None:
    with pytest.raises(ValueError, match="buy_below_permille <= sell_above_permille"):
        AgentRules(300, Wei(1), 800, Wei(1))
    with pytest.raises(ValueError, match="max_buy_price"):
        AgentRules(800, Wei(1), 300, Wei(0))
    with pytest.raises(ValueError, match="soc_permille"):
        state(1001)
