"""Orders and deliveries as their events tell them: pure folds over decoded events."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

from gridshare.explorer.records import Event


@dataclass(frozen=True)
class OrderState:
    """An order as of its latest event."""

    id: int
    owner: str
    is_buy: bool
    amount_wh: int
    remaining_wh: int
    price_per_wh: int
    expires_at: int
    status: str
    placed_tx: str
    deliveries: tuple[int, ...]
    events: tuple[Event, ...]

    @property
    def side(self) -> str:
        return "buy" if self.is_buy else "sell"


@dataclass(frozen=True)
class DeliveryState:
    """A delivery as of its latest event."""

    id: int
    buyer: str
    seller: str
    amount_wh: int
    price_per_wh: int
    deadline: int
    buy_order_id: int
    sell_order_id: int
    status: str
    delivered_wh: int
    paid: int
    refunded: int
    created_tx: str
    events: tuple[Event, ...]

    @property
    def escrow(self) -> int:
        return self.amount_wh * self.price_per_wh


def fold_order(order_id: int, events: Iterable[Event], now: int) -> OrderState | None:
    """The order's state from its events (oldest first); None without an OrderPlaced."""
    mine = tuple(e for e in events if e.args.get("order_id") == order_id)
    placed = next((e for e in mine if e.name == "OrderPlaced"), None)
    if placed is None:
        return None
    a = placed.args
    remaining, status, deliveries = int(a["amount_wh"]), "open", []
    for e in mine:
        if e.name == "OrderFilled":
            remaining = int(e.args["remaining_wh"])
            deliveries.append(int(e.args["delivery_id"]))
            status = "filled" if remaining == 0 else status
        elif e.name == "OrderCancelled":
            remaining, status = int(e.args["remaining_wh"]), "cancelled"
    if status == "open" and now >= int(a["expires_at"]):
        status = "expired"
    return OrderState(
        id=order_id, owner=a["owner"], is_buy=bool(a["is_buy"]), amount_wh=int(a["amount_wh"]),
        remaining_wh=remaining if status != "cancelled" else 0,
        price_per_wh=int(a["price_per_wh"]), expires_at=int(a["expires_at"]), status=status,
        placed_tx=placed.tx_hash, deliveries=tuple(deliveries), events=mine,
    )


def fold_delivery(delivery_id: int, events: Iterable[Event], now: int) -> DeliveryState | None:
    """The delivery's state from its events (oldest first); None without a DeliveryCreated."""
    mine = tuple(e for e in events if e.args.get("delivery_id") == delivery_id)
    created = next((e for e in mine if e.name == "DeliveryCreated"), None)
    if created is None:
        return None
    a = created.args
    status, delivered, paid, refunded = "pending", 0, 0, 0
    for e in mine:
        if e.name == "DeliverySettled":
            status = "settled"
            delivered, paid = int(e.args["delivered_wh"]), int(e.args["paid"])
            refunded = int(e.args["refunded"])
        elif e.name == "DeliveryExpired":
            status, refunded = "expired", int(e.args["refunded"])
    if status == "pending" and now > int(a["deadline"]):
        status = "overdue"
    return DeliveryState(
        id=delivery_id, buyer=a["buyer"], seller=a["seller"], amount_wh=int(a["amount_wh"]),
        price_per_wh=int(a["price_per_wh"]), deadline=int(a["deadline"]),
        buy_order_id=int(a["buy_order_id"]), sell_order_id=int(a["sell_order_id"]),
        status=status, delivered_wh=delivered, paid=paid, refunded=refunded,
        created_tx=created.tx_hash, events=mine,
    )
