"""Auto-trading agents for every house, and the matcher for the chosen mechanism.

Each market interval every house's agent (`market.agent.decide`) brings its orders to its
target through the TradingService. For `continuous` and `auction` the operator's matcher
replays the new orders through the mechanism's book and submits the fills with
`match_batch`; on the `bulletin` board nothing matches, so agents act like the papers'
residents: they first take the best opposite orders within their limit price, then post
what is left.
"""

from __future__ import annotations

import contextlib
import random
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, replace

from eth_account.signers.local import LocalAccount

from gridshare.domain import Address, Delivery, Order, Side, Wei, Wh
from gridshare.market import (
    AgentRules,
    CancelOrder,
    Fill,
    HouseState,
    OrderBook,
    PlaceOrder,
    decide,
    mechanism_named,
)
from gridshare.services.trading import TradingError
from gridshare.simulation.world import World

MATCH_BATCH = 50
EXPIRY_GUARD_S = 60  # orders this close to expiry are not matched (blocks may run ahead)


@dataclass(frozen=True, slots=True)
class HouseOutlook:
    """What an agent sees of its house: SoC, capacity, forecast net Wh for the interval."""

    soc_permille: int
    capacity_wh: int
    net_wh: int


class Traders:
    """Agents for every house plus the operator's matcher for one mechanism."""

    def __init__(
        self,
        world: World,
        mechanism: str,
        rules: Mapping[int, AgentRules],
        *,
        interval_s: int,
        seed: int,
    ) -> None:
        self.world = world
        self.mechanism_name = mechanism
        self.mechanism = mechanism_named(mechanism, interval_s)
        self.rules = dict(rules)
        self.book = OrderBook()
        self.orders: dict[int, Order] = {}
        self.by_owner: dict[Address, set[int]] = {}
        self.rng = random.Random(seed)
        self.clearing_prices: list[tuple[int, int | None, int]] = []  # (time, price, Wh)
        self.orders_placed = 0
        self.refused = 0

    def act(self, outlooks: Mapping[int, HouseOutlook]) -> list[Delivery]:
        """One interval: every agent acts (random order), then the matcher clears."""
        now = self.world.now()
        deliveries: list[Delivery] = []
        houses = sorted(outlooks)
        self.rng.shuffle(houses)
        for hid in houses:
            # an agent's fills reach the chain before the next agent acts, so nobody cancels
            # an order the book has already matched; each agent reads the chain's time anew
            # (every transaction's block moves it on by at least a second)
            fills = self._agent(hid, outlooks[hid], self.world.now(), deliveries)
            deliveries += self._execute(fills)
        clear_at = self.world.now() + EXPIRY_GUARD_S
        deliveries += self._execute(self.mechanism.clear(self.book, clear_at))
        traded = sum(d.amount_wh for d in deliveries)
        prices = [d.price_per_wh for d in deliveries]
        self.clearing_prices.append(
            (now, (sum(p * d.amount_wh for p, d in zip(prices, deliveries, strict=True)) // traded)
             if traded else None, traded)
        )
        return deliveries

    # ------------------------------------------------------------------ agents

    def _agent(
        self, hid: int, outlook: HouseOutlook, now: int, deliveries: list[Delivery]
    ) -> list[Fill]:
        account = self.world.accounts[hid]
        owner = Address(account.address)
        state = HouseState(
            owner=owner,
            soc_permille=min(max(outlook.soc_permille, 0), 1000),
            capacity_wh=Wh(outlook.capacity_wh),
            net_wh=outlook.net_wh,
            open_orders=tuple(self.orders[i] for i in sorted(self.by_owner.get(owner, ()))),
            now=now,
        )
        fills: list[Fill] = []
        for action in decide(self.rules[hid], state):
            if isinstance(action, CancelOrder):
                self._cancel(account, action.order_id)
            else:
                fills += self._place(account, action, now, deliveries)
        return fills

    def _cancel(self, account: LocalAccount, order_id: int) -> None:
        with contextlib.suppress(TradingError):  # filled or already closed meanwhile
            self.world.trading.cancel(account, order_id)
        self._forget(order_id)
        self.book.cancel(order_id)

    def _place(
        self, account: LocalAccount, action: PlaceOrder, now: int, deliveries: list[Delivery]
    ) -> list[Fill]:
        amount = action.amount_wh
        if self.mechanism_name == "bulletin":
            taken = self._take_best(account, action, now)
            deliveries += taken
            amount = Wh(amount - sum(d.amount_wh for d in taken))
            if amount <= 0:
                return []
        try:
            order = self.world.trading.place_order(
                account, action.side, amount, action.price_per_wh, action.expires_at - now
            )
        except TradingError:
            self.refused += 1
            return []
        self.orders_placed += 1
        self._remember(order)
        return list(self.mechanism.submit(self.book, order, now + EXPIRY_GUARD_S))

    def _take_best(self, account: LocalAccount, action: PlaceOrder, now: int) -> list[Delivery]:
        """Bulletin: take the best live opposite orders of others within the limit price."""
        me = Address(account.address)
        want = action.side.opposite
        candidates = [
            o for o in self.orders.values()
            if o.side is want and o.owner != me and o.is_live(now + EXPIRY_GUARD_S)
            and (o.price_per_wh <= action.price_per_wh if action.side is Side.BUY
                 else o.price_per_wh >= action.price_per_wh)
        ]
        sign = 1 if action.side is Side.BUY else -1
        candidates.sort(key=lambda o: (sign * o.price_per_wh, o.id))
        need = int(action.amount_wh)
        taken: list[Delivery] = []
        for order in candidates:
            if need <= 0:
                break
            q = min(need, order.remaining_wh)
            try:
                taken.append(self.world.trading.take(account, order.id, q))
            except TradingError:
                self.refused += 1
                continue
            need -= q
            self._filled(order.id, q)
        return taken

    # ------------------------------------------------------------------ matcher

    def _execute(self, fills: Sequence[Fill]) -> list[Delivery]:
        out: list[Delivery] = []
        for i in range(0, len(fills), MATCH_BATCH):
            chunk = fills[i : i + MATCH_BATCH]
            out += self.world.market.match_batch(
                self.world.operator, [f.proposal() for f in chunk]
            )
            for f in chunk:
                self._filled(f.buy_id, f.amount_wh)
                self._filled(f.sell_id, f.amount_wh)
        return out

    # ------------------------------------------------------------------ order mirror

    def _remember(self, order: Order) -> None:
        self.orders[order.id] = order
        self.by_owner.setdefault(order.owner, set()).add(order.id)

    def _forget(self, order_id: int) -> None:
        order = self.orders.pop(order_id, None)
        if order is not None:
            self.by_owner[order.owner].discard(order_id)

    def _filled(self, order_id: int, amount: int) -> None:
        order = self.orders.get(order_id)
        if order is None:
            return
        left = order.remaining_wh - amount
        if left <= 0:
            self._forget(order_id)
        else:
            self.orders[order_id] = replace(order, remaining_wh=Wh(left))


def default_rules(house_ids: Sequence[int], seed: int, per_kwh: int) -> dict[int, AgentRules]:
    """Seeded rules: sell above 75-85 % SoC from 12-18 per kWh, buy below 40-50 % up to 30-40.

    `per_kwh` is one coin per kWh in wei per Wh (10**15 for 18-decimal coins).
    """
    rng = random.Random(seed ^ 0x5EED)
    rules: dict[int, AgentRules] = {}
    for hid in house_ids:
        rules[hid] = AgentRules(
            sell_above_permille=rng.choice([750, 800, 850]),
            min_sell_price=Wei(per_kwh * rng.choice([12, 14, 16, 18])),
            buy_below_permille=rng.choice([400, 450, 500]),
            max_buy_price=Wei(per_kwh * rng.choice([30, 34, 38, 40])),
            order_ttl_s=1800,
            min_order_wh=20,
        )
    return rules

