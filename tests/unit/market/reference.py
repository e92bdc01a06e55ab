"""A deliberately naive market written independently of gridshare.market, for comparison.

Plain lists, linear scans, unit-by-unit auctions: slow, but each rule reads as stated.
"""

from __future__ import annotations

from dataclasses import dataclass

from gridshare.domain import Order, OrderStatus, Side

FillTuple = tuple[int, int, str, str, int, int]  # buy_id, sell_id, buyer, seller, Wh, price


@dataclass
class RefOrder:
    id: int
    owner: str
    is_buy: bool
    price: int
    remaining: int
    expires_at: int
    arrival: int


class ReferenceMarket:
    """Resting orders in a list; `mechanism` is "bulletin", "continuous" or "auction"."""

    def __init__(self, mechanism: str) -> None:
        self.mechanism = mechanism
        self.resting: list[RefOrder] = []
        self.arrivals = 0

    def _drop_expired(self, now: int) -> None:
        self.resting = [o for o in self.resting if now < o.expires_at]

    def book(self, now: int) -> list[tuple[int, int]]:
        """(id, remaining) of live orders: bids best first, then asks best first."""
        live = [o for o in self.resting if now < o.expires_at]
        bids = sorted((o for o in live if o.is_buy), key=lambda o: (-o.price, o.arrival))
        asks = sorted((o for o in live if not o.is_buy), key=lambda o: (o.price, o.arrival))
        return [(o.id, o.remaining) for o in bids + asks]

    def cancel(self, order_id: int, now: int) -> bool:
        for o in self.resting:
            if o.id == order_id and now < o.expires_at:
                self.resting.remove(o)
                return True
        return False

    def submit(self, order: Order, now: int) -> list[FillTuple]:
        self._drop_expired(now)
        if order.status != OrderStatus.OPEN or order.remaining_wh <= 0:
            return []
        if now >= order.expires_at:
            return []
        self.arrivals += 1
        new = RefOrder(
            order.id, order.owner, order.side == Side.BUY, order.price_per_wh,
            order.remaining_wh, order.expires_at, self.arrivals,
        )
        fills: list[FillTuple] = []
        if self.mechanism == "continuous":
            while new.remaining > 0:
                if new.is_buy:
                    others = [o for o in self.resting if not o.is_buy and o.owner != new.owner
                              and o.price <= new.price]
                    others.sort(key=lambda o: (o.price, o.arrival))
                else:
                    others = [o for o in self.resting if o.is_buy and o.owner != new.owner
                              and o.price >= new.price]
                    others.sort(key=lambda o: (-o.price, o.arrival))
                if not others:
                    break
                best = others[0]
                q = min(best.remaining, new.remaining)
                if new.is_buy:
                    fills.append((new.id, best.id, new.owner, best.owner, q, best.price))
                else:
                    fills.append((best.id, new.id, best.owner, new.owner, q, best.price))
                best.remaining -= q
                new.remaining -= q
                if best.remaining == 0:
                    self.resting.remove(best)
        if new.remaining > 0:
            self.resting.append(new)
        return fills

    def clear(self, now: int) -> list[FillTuple]:
        self._drop_expired(now)
        if self.mechanism != "auction":
            return []
        fills, _price, _withheld = self.auction()
        return fills

    def auction(self) -> tuple[list[FillTuple], int | None, dict[int, int]]:
        """Unit-by-unit uniform-price auction; returns fills, price, withheld Wh per order."""
        bids = sorted((o for o in self.resting if o.is_buy), key=lambda o: (-o.price, o.arrival))
        asks = sorted((o for o in self.resting if not o.is_buy),
                      key=lambda o: (o.price, o.arrival))
        bid_units = [o for o in bids for _ in range(o.remaining)]
        ask_units = [o for o in asks for _ in range(o.remaining)]
        volume = 0
        while (volume < len(bid_units) and volume < len(ask_units)
               and bid_units[volume].price >= ask_units[volume].price):
            volume += 1
        if volume == 0:
            return [], None, {}
        low = ask_units[volume - 1].price
        if volume < len(bid_units):
            low = max(low, bid_units[volume].price)
        high = bid_units[volume - 1].price
        if volume < len(ask_units):
            high = min(high, ask_units[volume].price)
        price = (low + high) // 2
        # greedy: each bid unit in order takes the first free ask unit of another owner
        free = list(range(volume))
        pairs: list[tuple[RefOrder, RefOrder]] = []
        left_bids: list[RefOrder] = []
        for b in bid_units[:volume]:
            for n, k in enumerate(free):
                if ask_units[k].owner != b.owner:
                    pairs.append((b, ask_units[k]))
                    del free[n]
                    break
            else:
                left_bids.append(b)
        left_asks = [ask_units[k] for k in free]
        # reroute one owner's leftovers through the earliest pairs of two other owners
        extra: list[tuple[RefOrder, RefOrder]] = []
        while left_bids and left_asks:
            xb, xa = left_bids[0], left_asks[0]
            assert xb.owner == xa.owner
            for n, (u, v) in enumerate(pairs):
                if u.owner != xb.owner and v.owner != xb.owner:
                    del pairs[n]
                    extra += [(u, xa), (xb, v)]
                    del left_bids[0]
                    del left_asks[0]
                    break
            else:
                break
        totals: dict[tuple[int, int], int] = {}
        who: dict[int, RefOrder] = {}
        for b, a in pairs + extra:
            totals[b.id, a.id] = totals.get((b.id, a.id), 0) + 1
            who[b.id], who[a.id] = b, a
            b.remaining -= 1
            a.remaining -= 1
        self.resting = [o for o in self.resting if o.remaining > 0]
        withheld: dict[int, int] = {}
        for o in left_bids + left_asks:
            withheld[o.id] = withheld.get(o.id, 0) + 1
        fills = [(b, a, who[b].owner, who[a].owner, q, price) for (b, a), q in totals.items()]
        return fills, price, withheld
