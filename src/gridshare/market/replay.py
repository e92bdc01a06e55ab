"""Rebuilding the book from the chain's orders, and one matching round over them."""

from __future__ import annotations

from collections.abc import Iterable

from gridshare.domain import MatchProposal, Order
from gridshare.market.auction import CallAuction
from gridshare.market.book import OrderBook
from gridshare.market.fill import Fill
from gridshare.market.mechanism import Bulletin, Continuous, Mechanism, is_tradable

MECHANISMS = ("bulletin", "continuous", "auction")


def mechanism_named(name: str, interval_s: int = 900) -> Mechanism:
    """The mechanism configured as `name` (`bulletin`, `continuous` or `auction`)."""
    if name == "bulletin":
        return Bulletin()
    if name == "continuous":
        return Continuous()
    if name == "auction":
        return CallAuction(interval_s)
    raise ValueError(f"mechanism must be one of {', '.join(MECHANISMS)}, not {name!r}")


def book_from_orders(orders: Iterable[Order], now: int) -> OrderBook:
    """A book holding the orders tradable at `now`, as they stand, without matching them.

    Orders arrive in id order, which is the contract's placement order, so time priority
    on the chain and in the book agree.
    """
    book = OrderBook()
    for order in sorted(orders, key=lambda o: o.id):
        if is_tradable(order, now):
            book.add(order)
    return book


def match_orders(orders: Iterable[Order], mechanism: Mechanism, now: int) -> tuple[Fill, ...]:
    """One matching round over the chain's orders: replay them in id order, then clear.

    For `continuous` this trades each order against the earlier ones at their prices (orders
    the previous rounds already matched no longer cross, so only new arrivals trade); for
    `auction` it is one call auction over every tradable order; `bulletin` never fills.
    """
    book = OrderBook()
    fills: list[Fill] = []
    for order in sorted(orders, key=lambda o: o.id):
        fills.extend(mechanism.submit(book, order, now))
    fills.extend(mechanism.clear(book, now))
    return tuple(fills)


def propose_matches(
    orders: Iterable[Order], mechanism: Mechanism, now: int
) -> tuple[MatchProposal, ...]:
    """The contract matches for one round over the chain's `orders` at `now`."""
    return tuple(f.proposal() for f in match_orders(orders, mechanism, now))
