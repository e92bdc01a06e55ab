"""An order book with price-time priority: sorted price levels of FIFO queues, one per side."""

from __future__ import annotations

import heapq
from bisect import bisect_left, insort
from collections import deque
from collections.abc import Iterator
from dataclasses import replace

from gridshare.domain import Address, Order, OrderStatus, Side, Wh

_NEVER = 2**256  # later than any uint256 block timestamp
_BUY = Side.BUY


class Entry:
    """A resting order inside the book (mutable, internal to the market package)."""

    __slots__ = ("expires_at", "id", "order", "owner", "price", "remaining", "seq")

    def __init__(self, order: Order, remaining: int, seq: int) -> None:
        self.order = order
        self.id = order.id
        self.owner: Address = order.owner
        self.price: int = order.price_per_wh
        self.remaining = remaining
        self.expires_at = order.expires_at
        self.seq = seq

    def snapshot(self) -> Order:
        """The domain order with its current remaining energy."""
        if self.remaining == self.order.remaining_wh:
            return self.order
        return replace(self.order, remaining_wh=Wh(self.remaining))


class PriceLevels:
    """One side of the book: `keys` sorted with the best price last, a FIFO deque per price."""

    __slots__ = ("keys", "levels", "sign")

    def __init__(self, side: Side) -> None:
        # key = sign * price, so the best price (highest bid, lowest ask) is always keys[-1].
        self.sign = 1 if side is Side.BUY else -1
        self.keys: list[int] = []
        self.levels: dict[int, deque[Entry]] = {}

    def push(self, entry: Entry) -> None:
        """Queue `entry` behind the others at its price."""
        level = self.levels.get(entry.price)
        if level is None:
            level = self.levels[entry.price] = deque()
            insort(self.keys, self.sign * entry.price)
        level.append(entry)

    def remove(self, entry: Entry) -> None:
        """Take `entry` out of its level, dropping the level when it empties."""
        level = self.levels[entry.price]
        level.remove(entry)
        if not level:
            self.drop_level(entry.price)

    def drop_level(self, price: int) -> None:
        """Forget the (empty) level at `price`."""
        del self.levels[price]
        del self.keys[bisect_left(self.keys, self.sign * price)]

    def entries(self) -> Iterator[Entry]:
        """Resting entries best first: better price, then earlier arrival."""
        sign = self.sign
        for key in reversed(self.keys):
            yield from self.levels[key * sign]

    def __len__(self) -> int:
        return sum(len(level) for level in self.levels.values())


class OrderBook:
    """Resting orders of both sides with price-time priority; arrival order is time."""

    __slots__ = ("_buckets", "_expiry", "_seq", "asks", "bids", "index", "next_expiry")

    def __init__(self) -> None:
        self.bids = PriceLevels(Side.BUY)
        self.asks = PriceLevels(Side.SELL)
        self.index: dict[int, Entry] = {}  # resting entries by order id (for mechanisms)
        # orders bucketed by expiry time, and a heap of those times; `next_expiry` is the
        # earliest one, so mechanisms skip purging with a single comparison
        self._buckets: dict[int, list[Entry]] = {}
        self._expiry: list[int] = []
        self._seq = 0
        self.next_expiry = _NEVER

    # ------------------------------------------------------------ reading

    def __len__(self) -> int:
        return len(self.index)

    def __contains__(self, order_id: object) -> bool:
        return order_id in self.index

    def get(self, order_id: int) -> Order | None:
        """The resting order `order_id` with its remaining energy, or None."""
        entry = self.index.get(order_id)
        return None if entry is None else entry.snapshot()

    def side(self, side: Side) -> PriceLevels:
        """The price levels of one side (for mechanisms)."""
        return self.bids if side is Side.BUY else self.asks

    def orders(self, side: Side, now: int | None = None) -> tuple[Order, ...]:
        """Resting orders of `side` best first, leaving out those expired at `now`."""
        return tuple(
            e.snapshot()
            for e in self.side(side).entries()
            if now is None or now < e.expires_at
        )

    def best(self, side: Side) -> Order | None:
        """The first order in priority on `side`, or None."""
        for entry in self.side(side).entries():
            return entry.snapshot()
        return None

    # ------------------------------------------------------------ changing

    def add(self, order: Order) -> None:
        """Rest `order` (no matching) behind every order already at its price."""
        if order.status is not OrderStatus.OPEN or order.remaining_wh <= 0:
            raise ValueError(f"order {order.id}: only open orders with energy left can rest")
        self.rest(order, order.remaining_wh)

    def rest(self, order: Order, remaining: int) -> None:
        """Rest `order` with `remaining` Wh left (for mechanisms after a partial fill)."""
        if order.id in self.index:
            raise ValueError(f"order {order.id} is already in the book")
        seq = self._seq = self._seq + 1
        entry = Entry(order, remaining, seq)
        self.index[order.id] = entry
        (self.bids if order.side is _BUY else self.asks).push(entry)
        expires_at = entry.expires_at
        bucket = self._buckets.get(expires_at)
        if bucket is None:
            self._buckets[expires_at] = [entry]
            heapq.heappush(self._expiry, expires_at)
            if expires_at < self.next_expiry:
                self.next_expiry = expires_at
        else:
            bucket.append(entry)
            if len(bucket) > 2 * len(self.index) + 1024:
                self._buckets[expires_at] = [e for e in bucket if e.remaining]

    def cancel(self, order_id: int) -> Order | None:
        """Remove `order_id`; return it as it stood, or None if it is not resting."""
        entry = self.index.get(order_id)
        if entry is None:
            return None
        snapshot = entry.snapshot()
        self.side(entry.order.side).remove(entry)
        self.forget(entry)
        return snapshot

    def forget(self, entry: Entry) -> None:
        """Drop `entry` from the index once a mechanism took it off its level."""
        del self.index[entry.id]
        entry.remaining = 0

    def purge_expired(self, now: int) -> tuple[Order, ...]:
        """Remove and return the orders expired at `now` (the contract refuses them)."""
        if now < self.next_expiry:
            return ()
        expiry = self._expiry
        gone: list[Order] = []
        while expiry and expiry[0] <= now:
            for entry in self._buckets.pop(heapq.heappop(expiry)):
                if entry.remaining > 0 and self.index.get(entry.id) is entry:
                    gone.append(entry.snapshot())
                    self.side(entry.order.side).remove(entry)
                    self.forget(entry)
        self.next_expiry = expiry[0] if expiry else _NEVER
        return tuple(gone)
