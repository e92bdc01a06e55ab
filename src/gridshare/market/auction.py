"""Periodic uniform-price call auction (pay-as-clear) with self-trade prevention.

Clearing rule, all in integers:

1. Allocation. Bids best first (highest price, then earliest arrival) and asks best first
   (lowest price, then earliest arrival) are merged while the current bid's price is at least
   the current ask's price, each step allocating min(both remainders). This allocates the
   volume Q that maximises welfare Σ(bid − ask)·Wh; ownership is not looked at here.
2. Price. With b_m / a_m the prices of the last (marginal) allocated bid / ask, and b_x / a_x
   the prices of the best bid / ask with unallocated volume left (absent if none):
   lo = max(a_m, b_x), hi = min(b_m, a_x), price = (lo + hi) // 2 (the midpoint, rounded down).
   So every allocated bid ≥ price ≥ every allocated ask, no unallocated bid is above the price
   and no unallocated ask below it.
3. Pairing (self-trade prevention). Allocated bids in priority order each take, in priority
   order, the allocated asks of other owners. Any volume left over then belongs to one owner X
   on both sides; it is re-routed through the earliest pairs (u → v) with u ≠ X ≠ v as
   u → X's ask and X's bid → v, as long as such pairs exist. What still remains is X trading
   with X: it is withheld (no fill, the orders keep it) and reported in `Clearing.withheld`.
   An owner loses volume only if their allocated bids and asks together exceed Q.
"""

from __future__ import annotations

from collections import deque
from dataclasses import dataclass
from typing import ClassVar

from gridshare.domain import Order, Wei, Wh
from gridshare.market.book import Entry, OrderBook
from gridshare.market.fill import Clearing, Fill, Withheld, fast_fill
from gridshare.market.mechanism import is_tradable

DEFAULT_INTERVAL_S = 900


@dataclass(frozen=True, slots=True)
class CallAuction:
    """Orders rest during an interval; at its end one uniform price clears the book."""

    interval_s: int = DEFAULT_INTERVAL_S
    name: ClassVar[str] = "auction"

    def __post_init__(self) -> None:
        if self.interval_s <= 0:
            raise ValueError("interval_s must be > 0")

    def submit(self, book: OrderBook, order: Order, now: int) -> tuple[Fill, ...]:
        """Rest `order` until the next clearing if it is tradable at `now`."""
        book.purge_expired(now)
        if is_tradable(order, now):
            book.add(order)
        return ()

    def clear(self, book: OrderBook, now: int) -> tuple[Fill, ...]:
        """Run the call auction at `now`, applying its fills to `book`."""
        return clear_auction(book, now).fills

    def next_clearing(self, now: int) -> int:
        """The first interval boundary strictly after `now` (boundaries are multiples)."""
        return (now // self.interval_s + 1) * self.interval_s


def _allocate(book: OrderBook) -> tuple[list[Entry], list[int], list[Entry], list[int], int]:
    """Owner-blind merge of bids and asks; returns allocations and the clearing price."""
    bid_iter = book.bids.entries()
    ask_iter = book.asks.entries()
    bids: list[Entry] = []
    bid_q: list[int] = []
    asks: list[Entry] = []
    ask_q: list[int] = []
    bid = next(bid_iter, None)
    ask = next(ask_iter, None)
    b_left = bid.remaining if bid else 0
    a_left = ask.remaining if ask else 0
    while bid is not None and ask is not None and bid.price >= ask.price:
        q = b_left if b_left < a_left else a_left
        if bids and bids[-1] is bid:
            bid_q[-1] += q
        else:
            bids.append(bid)
            bid_q.append(q)
        if asks and asks[-1] is ask:
            ask_q[-1] += q
        else:
            asks.append(ask)
            ask_q.append(q)
        b_left -= q
        a_left -= q
        if not b_left:
            bid = next(bid_iter, None)
            b_left = bid.remaining if bid else 0
        if not a_left:
            ask = next(ask_iter, None)
            a_left = ask.remaining if ask else 0
    if not bids:
        return bids, bid_q, asks, ask_q, 0
    lo = asks[-1].price if bid is None else max(asks[-1].price, bid.price)
    hi = bids[-1].price if ask is None else min(bids[-1].price, ask.price)
    return bids, bid_q, asks, ask_q, (lo + hi) // 2


def _pair(
    bids: list[Entry], bid_q: list[int], asks: list[Entry], ask_q: list[int]
) -> tuple[list[list[int]], list[tuple[int, int]], list[tuple[int, int]]]:
    """Pair allocated volume across owners; returns [bid, ask, Wh] pairs and leftovers."""
    ask_left = list(ask_q)
    ask_owner = [a.owner for a in asks]
    n_asks = len(asks)
    pairs: list[list[int]] = []
    bids_left: list[tuple[int, int]] = []
    head = 0
    for b, entry in enumerate(bids):
        want = bid_q[b]
        owner = entry.owner
        k = head
        while want:
            while k < n_asks and (not ask_left[k] or ask_owner[k] == owner):
                k += 1
            if k == n_asks:
                bids_left.append((b, want))
                break
            q = want if want < ask_left[k] else ask_left[k]
            pairs.append([b, k, q])
            want -= q
            ask_left[k] -= q
        while head < n_asks and not ask_left[head]:
            head += 1
    asks_left = [(k, ask_left[k]) for k in range(head, n_asks) if ask_left[k]]
    return pairs, bids_left, asks_left


def _reroute(
    bids: list[Entry],
    asks: list[Entry],
    pairs: list[list[int]],
    bids_left: list[tuple[int, int]],
    asks_left: list[tuple[int, int]],
) -> list[list[int]]:
    """Swap one owner's leftover volume into existing pairs of other owners (see module doc)."""
    owner = bids[bids_left[0][0]].owner
    lb = deque(bids_left)
    la = deque(asks_left)
    extra: list[list[int]] = []
    p = 0
    while lb and la:
        while p < len(pairs) and (
            not pairs[p][2] or bids[pairs[p][0]].owner == owner or asks[pairs[p][1]].owner == owner
        ):
            p += 1
        if p == len(pairs):
            break
        b, a, m = pairs[p]
        xb, xbq = lb[0]
        xa, xaq = la[0]
        t = min(m, xbq, xaq)
        pairs[p][2] = m - t
        extra.append([b, xa, t])
        extra.append([xb, a, t])
        if xbq == t:
            lb.popleft()
        else:
            lb[0] = (xb, xbq - t)
        if xaq == t:
            la.popleft()
        else:
            la[0] = (xa, xaq - t)
    bids_left[:] = lb
    asks_left[:] = la
    return extra


def clear_auction(book: OrderBook, now: int) -> Clearing:
    """Clear the live orders of `book` at one uniform price; apply and return the result."""
    book.purge_expired(now)
    bids, bid_q, asks, ask_q, price = _allocate(book)
    if not bids:
        return Clearing(price_per_wh=None, volume_wh=Wh(0), fills=(), withheld=())
    pairs, bids_left, asks_left = _pair(bids, bid_q, asks, ask_q)
    if bids_left and asks_left:
        pairs.extend(_reroute(bids, asks, pairs, bids_left, asks_left))
    merged: dict[tuple[int, int], int] = {}
    for b, a, q in pairs:
        if q:
            merged[b, a] = merged.get((b, a), 0) + q
    fills = tuple(
        fast_fill(bids[b].id, asks[a].id, bids[b].owner, asks[a].owner, q, price)
        for (b, a), q in merged.items()
    )
    withheld = tuple(Withheld(bids[b].id, Wh(q)) for b, q in bids_left) + tuple(
        Withheld(asks[a].id, Wh(q)) for a, q in asks_left
    )
    index = book.index
    for entries, qty, left, side in (
        (bids, bid_q, bids_left, book.bids),
        (asks, ask_q, asks_left, book.asks),
    ):
        kept = dict(left)
        levels = side.levels
        for n, entry in enumerate(entries):
            traded = qty[n] - kept.get(n, 0) if kept else qty[n]
            if traded != entry.remaining:
                entry.remaining -= traded
                continue
            level = levels[entry.price]
            if level[0] is entry:
                level.popleft()
            else:
                level.remove(entry)
            if not level:
                side.drop_level(entry.price)
            del index[entry.id]
            entry.remaining = 0
    return Clearing(
        price_per_wh=Wei(price),
        volume_wh=Wh(sum(bid_q)),
        fills=fills,
        withheld=withheld,
    )
