"""Matching mechanisms as strategies over an order book: bulletin board and continuous auction.

Every mechanism obeys the contract's rules so that its fills can be submitted as they are:
only orders live at `now` trade (expired ones are purged first; `now` must never decrease),
a fill's price lies between the sell and the buy limit, and no owner trades with themself.
"""

from __future__ import annotations

from typing import Protocol

from gridshare.domain import Order, OrderStatus, Side
from gridshare.market.book import OrderBook
from gridshare.market.fill import Fill, fast_fill


class Mechanism(Protocol):
    """A matching rule: what happens when an order arrives, and at the end of an interval."""

    @property
    def name(self) -> str:
        """Short name used in configuration (`bulletin`, `continuous`, `auction`)."""
        ...

    def submit(self, book: OrderBook, order: Order, now: int) -> tuple[Fill, ...]:
        """Bring `order` to `book` at `now`; return the fills it caused, in order."""
        ...

    def clear(self, book: OrderBook, now: int) -> tuple[Fill, ...]:
        """Close the market interval ending at `now`; return the fills it caused, in order."""
        ...


OPEN = OrderStatus.OPEN
BUY = Side.BUY


def is_tradable(order: Order, now: int) -> bool:
    """Whether the contract would still match `order` at `now`."""
    return order.status is OrderStatus.OPEN and order.remaining_wh > 0 and now < order.expires_at


class Bulletin:
    """The papers' take-only board: orders rest until a resident takes them; nothing matches."""

    name = "bulletin"

    def submit(self, book: OrderBook, order: Order, now: int) -> tuple[Fill, ...]:
        """Rest `order` if it is tradable at `now`; never fills."""
        book.purge_expired(now)
        if is_tradable(order, now):
            book.add(order)
        return ()

    def clear(self, book: OrderBook, now: int) -> tuple[Fill, ...]:
        """Drop expired orders; never fills."""
        book.purge_expired(now)
        return ()


class Continuous:
    """Continuous double auction: an arriving order trades at resting prices, best first.

    The arriving order walks the opposite side in price-time priority while prices cross,
    taking min(its remaining, resting remaining) at the resting order's price; what is left
    rests. Resting orders of the same owner are skipped (they keep their place and the walk
    goes on behind them), so the book is never crossed between two different owners.
    """

    name = "continuous"

    def submit(self, book: OrderBook, order: Order, now: int) -> tuple[Fill, ...]:
        """Match `order` against the book at `now`, then rest what is left of it."""
        if now >= book.next_expiry:
            book.purge_expired(now)
        if order.status is not OPEN or order.remaining_wh <= 0 or now >= order.expires_at:
            return ()
        if order.id in book:
            raise ValueError(f"order {order.id} is already in the book")
        is_buy = order.side is BUY
        opposite = book.asks if is_buy else book.bids
        keys = opposite.keys
        levels = opposite.levels
        sign = opposite.sign
        limit = order.price_per_wh
        owner = order.owner
        order_id = order.id
        remaining: int = order.remaining_wh
        fills: list[Fill] = []
        i = len(keys) - 1
        while i >= 0:
            price = keys[i] * sign
            if (price > limit) if is_buy else (price < limit):
                break
            level = levels[price]
            j = 0
            while j < len(level):
                entry = level[j]
                if entry.owner == owner:
                    j += 1
                    continue
                q = entry.remaining if entry.remaining < remaining else remaining
                if is_buy:
                    fills.append(fast_fill(order_id, entry.id, owner, entry.owner, q, price))
                else:
                    fills.append(fast_fill(entry.id, order_id, entry.owner, owner, q, price))
                remaining -= q
                if q == entry.remaining:
                    del level[j]
                    book.forget(entry)
                else:
                    entry.remaining -= q
                if not remaining:
                    break
            if not level:
                del levels[price]
                del keys[i]
            if not remaining:
                break
            i -= 1
        if remaining:
            book.rest(order, remaining)
        return tuple(fills)

    def clear(self, book: OrderBook, now: int) -> tuple[Fill, ...]:
        """Drop expired orders; a continuous market has nothing left to match."""
        book.purge_expired(now)
        return ()

