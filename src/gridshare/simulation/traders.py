"""Auto-trading agents for every house, matched by the server's `Matcher`.

Each market interval every house's agent (`market.agent.decide`) brings its orders to its
target through the TradingService; then, as in the market engine's rounds, the server's
`Matcher` reads the open orders from the chain and clears them with the chosen mechanism
(`continuous` every interval, `auction` once per auction interval of chain time). On the
`bulletin` board nothing matches, so agents act like the papers' residents: they first take
the best opposite orders within their limit price, then post what is left.
"""

from __future__ import annotations

import contextlib
import random
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, replace

from eth_account.signers.local import LocalAccount

from gridshare.domain import Address, Delivery, Order, OrderStatus, Side, Wei, Wh
from gridshare.market import AgentRules, CancelOrder, HouseState, PlaceOrder, decide
from gridshare.services.matcher import Matcher
from gridshare.services.trading import TradingError
from gridshare.simulation.world import World

EXPIRY_GUARD_S = 60  # orders this close to expiry are not taken (the take must land first)


@dataclass(frozen=True, slots=True)
class HouseOutlook:
    """What an agent sees of its house: SoC, capacity, forecast net Wh for the interval."""

    soc_permille: int
    capacity_wh: int
    net_wh: int


class Traders:
    """Agents for every house; the server's matcher clears their orders."""

    def __init__(
        self,
        world: World,
        matcher: Matcher,
        rules: Mapping[int, AgentRules],
        *,
        seed: int,
    ) -> None:
        self.world = world
        self.matcher = matcher
        self.rules = dict(rules)
        self.orders: dict[int, Order] = {}
        self.by_owner: dict[Address, set[int]] = {}
        self.rng = random.Random(seed)
        self.clearing_prices: list[tuple[int, int | None, int]] = []  # (time, price, Wh)
        self.created_at: dict[int, int] = {}  # delivery id -> chain time it was created
        self.orders_placed = 0
        self.refused = 0

    @property
    def bulletin(self) -> bool:
        return self.matcher.settings.mechanism == "bulletin"

    def act(self, outlooks: Mapping[int, HouseOutlook]) -> list[Delivery]:
        """One interval: every agent acts (random order), then the matcher runs a round."""
        now = self.world.now()
        deliveries: list[Delivery] = []
        houses = sorted(outlooks)
        self.rng.shuffle(houses)
        for hid in houses:
            # each agent reads the chain's time anew (a block after a clock jump moves it)
            deliveries += self._agent(hid, outlooks[hid], self.world.now())
        matched = self.matcher.tick()
        self._refresh({a for d in matched for a in (d.buyer, d.seller)})
        deliveries += matched
        for d in deliveries:
            self.created_at[d.id] = now
        traded = sum(d.amount_wh for d in deliveries)
        self.clearing_prices.append(
            (now, sum(d.price_per_wh * d.amount_wh for d in deliveries) // traded
             if traded else None, traded)
        )
        return deliveries

    # ------------------------------------------------------------------ agents

    def _agent(self, hid: int, outlook: HouseOutlook, now: int) -> list[Delivery]:
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
        taken: list[Delivery] = []
        for action in decide(self.rules[hid], state):
            if isinstance(action, CancelOrder):
                self._cancel(account, action.order_id)
            else:
                taken += self._place(account, action, now)
        return taken

    def _cancel(self, account: LocalAccount, order_id: int) -> None:
        with contextlib.suppress(TradingError):  # filled or already closed meanwhile
            self.world.trading.cancel(account, order_id)
        self._forget(order_id)

    def _place(self, account: LocalAccount, action: PlaceOrder, now: int) -> list[Delivery]:
        amount = action.amount_wh
        taken: list[Delivery] = []
        if self.bulletin:
            taken = self._take_best(account, action, now)
            amount = Wh(amount - sum(d.amount_wh for d in taken))
            if amount <= 0:
                return taken
        try:
            order = self.world.trading.place_order(
                account, action.side, amount, action.price_per_wh, action.expires_at - now
            )
        except TradingError:
            self.refused += 1
            return taken
        self.orders_placed += 1
        self._remember(order)
        return taken

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

    # ------------------------------------------------------------------ order mirror

    def _refresh(self, owners: set[Address]) -> None:
        """Re-read from the chain the orders of `owners` (the matcher filled some of them).

        Expired orders stay in the mirror: the agent cancels them to free their escrow.
        """
        for order_id in [i for owner in owners for i in self.by_owner.get(owner, ())]:
            order = self.world.market.order(order_id)
            if order is None or order.status is not OrderStatus.OPEN or order.remaining_wh <= 0:
                self._forget(order_id)
            else:
                self.orders[order_id] = order

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

