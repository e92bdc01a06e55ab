"""Read models the pages and the API share: my orders and deliveries, trades, meters, community."""

from __future__ import annotations

import csv
import io
import time
from collections.abc import Iterable, Mapping
from dataclasses import dataclass

from gridshare.domain import (
    Delivery,
    DeliveryStatus,
    Order,
    OrderStatus,
    Side,
    format_coins,
)
from gridshare.local_time import day_start
from gridshare.services.engine import MarketEngine
from gridshare.storage.deliveries import DeliveryRecord
from gridshare.storage.households import HouseholdRecord
from gridshare.storage.users import User
from gridshare.web import delivery_reasons
from gridshare.web.context import WebContext
from gridshare.web.delivery_reasons import Reason
from gridshare.web.schemas import Community, Trade


def same(a: str, b: str) -> bool:
    return a.lower() == b.lower()


def my_orders(ctx: WebContext, user: User) -> list[Order]:
    """The user's orders, newest first."""
    return [o for o in reversed(ctx.history.orders()) if same(o.owner, user.address)]


def my_deliveries(ctx: WebContext, user: User) -> list[Delivery]:
    """Deliveries where the user bought or sold, newest first."""
    return [
        d for d in reversed(ctx.history.deliveries())
        if same(d.buyer, user.address) or same(d.seller, user.address)
    ]


def reasons(
    engine: MarketEngine | None, deliveries: Iterable[Delivery],
    records: Mapping[int, DeliveryRecord] | None = None,
) -> dict[int, Reason]:
    """Why each of `deliveries` that expired or settled short ended so, by delivery id (the
    orchestrator's flag and meters' end reasons from `engine`'s records, where it has them;
    `records`: those already read)."""
    ended = [d for d in deliveries if d.status is DeliveryStatus.EXPIRED or (
        d.status is DeliveryStatus.SETTLED and d.delivered_wh < d.amount_wh)]
    if records is None:
        records = engine.deliveries_by_id(d.id for d in ended) if engine and ended else {}
    found = {}
    for d in ended:
        r = records.get(d.id)
        why = (delivery_reasons.reason(d, None) if r is None else
               delivery_reasons.reason(d, r.flag, r.buyer_end, r.seller_end))
        if why is not None:
            found[d.id] = why
    return found


def live_orders(ctx: WebContext) -> list[Order]:
    """Open orders with energy left and unexpired, oldest first."""
    now = ctx.now()
    return [o for o in ctx.history.orders() if o.is_live(now)]


def open_board(ctx: WebContext) -> list[Order]:
    """The board: live orders of households that may trade (a stopped household's orders
    cannot be taken, so they are not offered)."""
    live = live_orders(ctx)
    households = ctx.trading.households({o.owner for o in live})
    return [o for o in live if (h := households[o.owner]) is not None and h.active]


def best_first(orders: Iterable[Order], side: Side) -> list[Order]:
    """`side`'s orders as a resident compares them: the cheapest offers or the highest
    demands first, the older first at one price (the order they are matched in)."""
    sign = 1 if side is Side.SELL else -1
    of_side = (o for o in orders if o.side is side)
    return sorted(of_side, key=lambda o: (sign * o.price_per_wh, o.id))


def live_mine(ctx: WebContext, user: User) -> list[Order]:
    """The user's live orders, shown to them even when the operator stopped their household
    (they can still cancel them)."""
    return [o for o in live_orders(ctx) if same(o.owner, user.address)]


def trades(ctx: WebContext, limit: int = 200) -> list[Trade]:
    """Recent trades (deliveries) with their time and price, oldest first."""
    recent = ctx.history.deliveries()[-limit:]
    return [
        Trade(
            id=d.id, time=ctx.created_at(d), amount_wh=d.amount_wh,
            price_per_wh=d.price_per_wh, status=d.status.name.lower(),
        )
        for d in recent
    ]


FLAG_LABELS = {
    "loss_above_tolerance": "Seller sent more than the buyer received (beyond line losses)",
    "import_above_export": "Buyer received more than the seller sent",
    "meter_silent": "A meter fell silent; settled on its last report",
    "meter_restarted": "A meter restarted and forgot it; settled on the last reports",
    "meter_conflict": "A meter holds an older delivery with this number (from before a"
    " restore): restart that meter",
    "seller_report_missing": "No final report from the seller's meter",
    "not_started": "Expired before its meters were started: the buyer was refunded",
    "expired": "Expired: the buyer was refunded",
    "short": "Settled for less than was traded",
    "late": "Still pending after its deadline",
}


@dataclass(frozen=True)
class Flagged:
    """A delivery the operator should look at, and why."""

    delivery: Delivery
    reason: str

    @property
    def label(self) -> str:
        """The reason in words (English; pages translate it)."""
        return FLAG_LABELS.get(self.reason, self.reason)


def flagged(ctx: WebContext, engine_flags: dict[int, str] | None = None) -> list[Flagged]:
    """Deliveries the operator should look at, newest first.

    The orchestrator's own flags come first in meaning (`engine_flags`: its meters disagreed
    beyond the loss tolerance, a meter fell silent, a report was missing); from the chain
    alone: expired (refunded), settled short of the traded amount, or pending past deadline.
    """
    now, engine_flags = ctx.now(), engine_flags or {}
    out = []
    for d in ctx.history.deliveries():
        reason = engine_flags.get(d.id)
        if reason is None and d.status is DeliveryStatus.EXPIRED:
            reason = "expired"
        elif reason is None and d.status is DeliveryStatus.SETTLED and d.delivered_wh < d.amount_wh:
            reason = "short"
        elif reason is None and d.status is DeliveryStatus.PENDING and now > d.deadline:
            reason = "late"
        if reason is not None:
            out.append(Flagged(d, reason))
    return list(reversed(out))


def household_of(ctx: WebContext, user: User) -> HouseholdRecord | None:
    return ctx.households.repository.by_account(user.address)


def placed_by_agent(ctx: WebContext, user: User) -> set[int]:
    """Ids of the user's open orders that their house's trading agent placed."""
    record = household_of(ctx, user)
    return ctx.agent_orders.of(record.house_id) if record is not None else set()


def counted_wh(delivery: Delivery) -> int:
    """The energy a delivery stands for: what was paid for once settled, what was agreed while
    it is pending, nothing once it expired (the buyer was refunded)."""
    if delivery.status is DeliveryStatus.SETTLED:
        return delivery.delivered_wh
    return 0 if delivery.status is DeliveryStatus.EXPIRED else delivery.amount_wh


def community(ctx: WebContext, *, with_meters: bool = True) -> Community:
    """Every house's readings, energy traded today (chain time, the village's days; expired
    deliveries left out) and its average price."""
    records = ctx.households.all() if with_meters else []
    houses = ctx.readings.many(records)
    # chain time: a demo's runs ahead of the wall clock
    midnight = day_start(ctx.now(), ctx.zone)
    today = [
        d for d in ctx.history.deliveries()
        if ctx.created_at(d) >= midnight and d.status is not DeliveryStatus.EXPIRED
    ]
    wh = sum(counted_wh(d) for d in today)
    paid = sum(counted_wh(d) * d.price_per_wh for d in today)
    return Community(
        houses=houses, traded_today_wh=wh, trades_today=len(today),
        average_price_per_wh=paid // wh if wh else None,
    )


@dataclass(frozen=True)
class StatementLine:
    when: int
    kind: str
    reference: str
    amount_wh: int
    price_per_wh: int
    amount_wei: int


def order_state(order: Order, now: int) -> str:
    """An order's state for its owner: an open order past its expiry is "expired" (it stays
    open on chain until someone cancels it, but nobody can take it any more)."""
    if order.status is OrderStatus.OPEN and order.expires_at <= now:
        return "expired"
    return order.status.name.lower()


def statement_csv(ctx: WebContext, user: User, symbol: str) -> str:
    """The user's purchases, sales and orders as CSV (amounts in wei and in coins)."""
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow(
        ["time_utc", "kind", "reference", "status", "wh", "price_per_wh_wei",
         "amount_wei", f"amount_{symbol}"]
    )
    for d in reversed(my_deliveries(ctx, user)):
        buying = same(d.buyer, user.address)
        wh = counted_wh(d)
        amount = wh * d.price_per_wh * (-1 if buying else 1)
        writer.writerow([
            time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(ctx.created_at(d))),
            "purchase" if buying else "sale", f"delivery {d.id}", d.status.name.lower(),
            wh, d.price_per_wh, amount, format_coins(amount, 6),
        ])
    now = ctx.now()
    for o in reversed(my_orders(ctx, user)):
        writer.writerow(["", f"{o.side.value} order", f"order {o.id}", order_state(o, now),
                         o.amount_wh, o.price_per_wh, 0, "0"])
    return out.getvalue()
