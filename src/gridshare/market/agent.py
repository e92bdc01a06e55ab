"""Auto-trading rules for one household: sell a full battery, refill an empty one.

Rules in one picture (SoC in per-mille of the battery capacity):

    0 ........ buy_below ........ sell_above ........ 1000
       buy up to buy_below    hold     sell down to sell_above

Above `sell_above` the household offers the energy above that threshold plus the coming
interval's surplus at `min_sell_price`; below `buy_below` it bids for the energy missing to
reach that threshold plus the coming interval's deficit at `max_buy_price`; in between it
trades nothing. Energy already sold (or bought) and not yet delivered is taken off that target:
the battery's state of charge does not show it yet, and counting it again would sell the same
energy once per interval until the meters could not deliver it all in time. Its open orders
count towards that target: expired ones, ones on the other side and ones at another price are
cancelled, the newest are cancelled while the rest exceed the target, and a new order covers
what is still missing.
"""

from __future__ import annotations

from dataclasses import dataclass

from gridshare.domain import Address, Order, OrderStatus, Side, Wei, Wh

PERMILLE = 1000
MAX_AMOUNT_WH = 10**9
MAX_PRICE_PER_WH = 10**24


@dataclass(frozen=True, slots=True)
class AgentRules:
    """A household's auto-trading thresholds and limit prices."""

    sell_above_permille: int
    min_sell_price: Wei
    buy_below_permille: int
    max_buy_price: Wei
    order_ttl_s: int = 900
    min_order_wh: int = 1

    def __post_init__(self) -> None:
        if not 0 <= self.buy_below_permille <= self.sell_above_permille <= PERMILLE:
            raise ValueError(
                "thresholds must satisfy 0 <= buy_below_permille <= sell_above_permille <= 1000"
            )
        for field, price in (("min_sell_price", self.min_sell_price),
                             ("max_buy_price", self.max_buy_price)):
            if not 0 < price <= MAX_PRICE_PER_WH:
                raise ValueError(f"{field} must be between 1 and {MAX_PRICE_PER_WH} wei per Wh")
        if self.order_ttl_s <= 0:
            raise ValueError("order_ttl_s must be > 0")
        if self.min_order_wh <= 0:
            raise ValueError("min_order_wh must be > 0")


@dataclass(frozen=True, slots=True)
class HouseState:
    """What the agent knows about its house at `now`."""

    owner: Address
    soc_permille: int
    capacity_wh: Wh
    net_wh: int
    """Forecast surplus (> 0) or deficit (< 0) over the coming interval."""
    open_orders: tuple[Order, ...]
    now: int
    undelivered_sold_wh: int = 0
    """Energy this house sold that its meter has not sent yet (pending deliveries)."""
    undelivered_bought_wh: int = 0
    """Energy this house bought that its meter has not received yet."""

    def __post_init__(self) -> None:
        if not 0 <= self.soc_permille <= PERMILLE:
            raise ValueError("soc_permille must be between 0 and 1000")
        if self.capacity_wh < 0:
            raise ValueError("capacity_wh must be >= 0")
        if self.undelivered_sold_wh < 0 or self.undelivered_bought_wh < 0:
            raise ValueError("undelivered energy must be >= 0")


@dataclass(frozen=True, slots=True)
class PlaceOrder:
    """Post a new order."""

    side: Side
    amount_wh: Wh
    price_per_wh: Wei
    expires_at: int


@dataclass(frozen=True, slots=True)
class CancelOrder:
    """Cancel an open order of this household."""

    order_id: int


AgentAction = PlaceOrder | CancelOrder


def target(rules: AgentRules, state: HouseState) -> tuple[Side, Wh, Wei] | None:
    """The side, energy and limit price the rules want on the market now, or None."""
    soc, cap = state.soc_permille, state.capacity_wh
    if soc > rules.sell_above_permille:
        wh = (soc - rules.sell_above_permille) * cap // PERMILLE + max(state.net_wh, 0)
        wh = max(wh - state.undelivered_sold_wh, 0)
        return Side.SELL, Wh(min(wh, MAX_AMOUNT_WH)), rules.min_sell_price
    if soc < rules.buy_below_permille:
        wh = (rules.buy_below_permille - soc) * cap // PERMILLE + max(-state.net_wh, 0)
        wh = max(wh - state.undelivered_bought_wh, 0)
        return Side.BUY, Wh(min(wh, MAX_AMOUNT_WH)), rules.max_buy_price
    return None


def decide(rules: AgentRules, state: HouseState) -> tuple[AgentAction, ...]:
    """The cancels (oldest first) and the new order that bring the house's orders to target."""
    want = target(rules, state)
    mine = sorted(
        (o for o in state.open_orders
         if o.owner == state.owner and o.status is OrderStatus.OPEN),
        key=lambda o: o.id,
    )
    cancels: list[int] = []
    kept: list[Order] = []
    for order in mine:
        stale = state.now >= order.expires_at or order.remaining_wh <= 0
        fits = want is not None and order.side is want[0] and order.price_per_wh == want[2]
        if stale or not fits:
            cancels.append(order.id)
        else:
            kept.append(order)
    if want is None:
        return tuple(CancelOrder(i) for i in cancels)
    side, wh, price = want
    volume: int = sum(o.remaining_wh for o in kept)
    while kept and volume > wh:
        newest = kept.pop()
        volume -= newest.remaining_wh
        cancels.append(newest.id)
    actions: list[AgentAction] = [CancelOrder(i) for i in sorted(cancels)]
    gap = wh - volume
    if gap >= rules.min_order_wh:
        actions.append(PlaceOrder(side, Wh(gap), price, state.now + rules.order_ttl_s))
    return tuple(actions)
