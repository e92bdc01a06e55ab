"""Worked examples of the book and each mechanism's rules."""

from __future__ import annotations

import pytest

from gridshare.domain import Address, MatchProposal, OrderStatus, Side
from gridshare.market import (
    Bulletin,
    CallAuction,
    Continuous,
    Fill,
    OrderBook,
    Withheld,
    clear_auction,
    mechanism_named,
)

from .commands import make_order

X, Y, Z = (Address(f"0x{n:040x}") for n in (1, 2, 3))
FAR = 10**9


def buy(order_id: int, owner: Address, wh: int, price: int, expires_at: int = FAR):
    return make_order(order_id, owner, True, wh, price, expires_at)


def sell(order_id: int, owner: Address, wh: int, price: int, expires_at: int = FAR):
    return make_order(order_id, owner, False, wh, price, expires_at)


def test_book_keeps_price_then_arrival_priority() -> None:
    book = OrderBook()
    for o in (buy(1, X, 1, 5), buy(2, Y, 1, 7), buy(3, Z, 1, 5), sell(4, X, 1, 9),
              sell(5, Y, 1, 8)):
        book.add(o)
    assert [o.id for o in book.orders(Side.BUY)] == [2, 1, 3]
    assert [o.id for o in book.orders(Side.SELL)] == [5, 4]
    best = book.best(Side.SELL)
    assert best is not None and best.id == 5


def test_book_refuses_duplicate_and_closed_orders() -> None:
    book = OrderBook()
    book.add(buy(1, X, 1, 5))
    with pytest.raises(ValueError, match="already in the book"):
        book.add(buy(1, X, 1, 5))
    from dataclasses import replace

    with pytest.raises(ValueError, match="only open orders"):
        book.add(replace(buy(2, X, 1, 5), status=OrderStatus.FILLED))


def test_cancel_returns_the_order_and_purge_drops_expired() -> None:
    book = OrderBook()
    book.add(buy(1, X, 3, 5, expires_at=100))
    book.add(sell(2, Y, 3, 9, expires_at=200))
    cancelled = book.cancel(2)
    assert cancelled is not None and cancelled.id == 2
    assert book.cancel(2) is None
    assert book.purge_expired(99) == ()
    assert [o.id for o in book.purge_expired(100)] == [1]
    assert len(book) == 0


def test_continuous_trades_at_resting_prices_with_partial_fills() -> None:
    book, cda = OrderBook(), Continuous()
    cda.submit(book, sell(1, X, 3, 5), now=0)
    cda.submit(book, sell(2, Y, 3, 6), now=0)
    fills = cda.submit(book, buy(3, Z, 4, 10), now=0)
    assert fills == (Fill(3, 1, Z, X, 3, 5), Fill(3, 2, Z, Y, 1, 6))
    assert book.get(2) is not None and book.get(2).remaining_wh == 2  # type: ignore[union-attr]
    assert 3 not in book


def test_continuous_skips_own_orders_and_keeps_their_place() -> None:
    book, cda = OrderBook(), Continuous()
    cda.submit(book, sell(1, X, 2, 5), now=0)
    cda.submit(book, sell(2, Y, 2, 5), now=0)
    assert cda.submit(book, buy(3, X, 5, 6), now=0) == (Fill(3, 2, X, Y, 2, 5),)
    assert [(o.id, o.remaining_wh) for o in book.orders(Side.SELL)] == [(1, 2)]
    assert [(o.id, o.remaining_wh) for o in book.orders(Side.BUY)] == [(3, 3)]


def test_continuous_ignores_expired_orders() -> None:
    book, cda = OrderBook(), Continuous()
    cda.submit(book, sell(1, X, 2, 5, expires_at=10), now=0)
    assert cda.submit(book, buy(2, Y, 2, 6, expires_at=10), now=10) == ()
    assert cda.submit(book, buy(3, Y, 2, 6), now=10) == ()
    assert [o.id for o in book.orders(Side.BUY)] == [3]
    assert book.orders(Side.SELL) == ()


def test_bulletin_never_matches() -> None:
    book, board = OrderBook(), Bulletin()
    assert board.submit(book, sell(1, X, 2, 5), now=0) == ()
    assert board.submit(book, buy(2, Y, 2, 9), now=0) == ()
    assert board.clear(book, now=1) == ()
    assert len(book) == 2


def test_auction_price_pinned_by_a_partly_filled_marginal_bid() -> None:
    book = OrderBook()
    for o in (buy(1, X, 4, 10), buy(2, Y, 2, 3), sell(3, Z, 3, 2), sell(4, Y, 2, 12)):
        book.add(o)
    clearing = clear_auction(book, now=0)
    # Q = 3 (bid 10 vs ask 2); b_m = 10, a_m = 2, b_x = 10 (bid 1 has 1 Wh left), a_x = 12
    # lo = max(2, 10) = 10, hi = min(10, 12) = 10 -> price 10
    assert clearing.price_per_wh == 10
    assert clearing.fills == (Fill(1, 3, X, Z, 3, 10),)
    assert [(o.id, o.remaining_wh) for o in book.orders(Side.BUY)] == [(1, 1), (2, 2)]


def test_auction_price_is_midpoint_rounded_down() -> None:
    book = OrderBook()
    for o in (buy(1, X, 2, 10), buy(2, Y, 2, 4), sell(3, Z, 2, 3), sell(4, Y, 2, 13)):
        book.add(o)
    clearing = clear_auction(book, now=0)
    # Q = 2; b_m = 10, a_m = 3, b_x = 4, a_x = 13 -> lo = 4, hi = 10 -> (4 + 10) // 2 = 7
    assert clearing.price_per_wh == 7
    assert clearing.fills == (Fill(1, 3, X, Z, 2, 7),)


def test_auction_reroutes_around_a_self_trade() -> None:
    book = OrderBook()
    # allocated bids: Z then X; allocated asks: Y then X. Greedy pairs Z->Y, then X is stuck
    # with its own ask; rerouting gives Z->X and X->Y.
    for o in (buy(1, Z, 1, 10), buy(2, X, 1, 9), sell(3, Y, 1, 1), sell(4, X, 1, 2)):
        book.add(o)
    clearing = clear_auction(book, now=0)
    assert clearing.withheld == ()
    assert {(f.buy_id, f.sell_id) for f in clearing.fills} == {(1, 4), (2, 3)}
    assert len(book) == 0


def test_auction_withholds_what_an_owner_could_only_trade_with_itself() -> None:
    book = OrderBook()
    for o in (buy(1, X, 3, 10), sell(2, X, 2, 1), sell(3, Y, 2, 2)):
        book.add(o)
    clearing = clear_auction(book, now=0)
    # Q = 3: X's bid takes X's 2 Wh at 1 and 1 Wh of Y at 2; only the Y part can trade.
    assert clearing.volume_wh == 3
    assert clearing.fills == (Fill(1, 3, X, Y, 1, 2),)
    assert set(clearing.withheld) == {Withheld(1, 2), Withheld(2, 2)}
    assert [(o.id, o.remaining_wh) for o in book.orders(Side.BUY)] == [(1, 2)]
    assert [(o.id, o.remaining_wh) for o in book.orders(Side.SELL)] == [(2, 2), (3, 1)]


def test_auction_with_no_crossing_orders_is_empty() -> None:
    book = OrderBook()
    book.add(buy(1, X, 2, 3))
    book.add(sell(2, Y, 2, 4))
    clearing = clear_auction(book, now=0)
    assert clearing.price_per_wh is None and clearing.fills == () and len(book) == 2


def test_auction_interval_boundaries() -> None:
    auction = CallAuction()
    assert auction.interval_s == 900
    assert auction.next_clearing(0) == 900
    assert auction.next_clearing(900) == 1800
    with pytest.raises(ValueError, match="interval_s"):
        CallAuction(0)


def test_fill_converts_to_a_match_proposal() -> None:
    assert Fill(3, 1, Z, X, 2, 5).proposal() == MatchProposal(3, 1, 2, 5)


def test_unknown_mechanism_is_refused_by_name() -> None:
    with pytest.raises(ValueError, match="bulletin, continuous, auction"):
        mechanism_named("dutch")
