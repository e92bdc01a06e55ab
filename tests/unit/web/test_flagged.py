"""The operator's flagged list: the engine's reasons first, then what the chain alone shows."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, cast

from gridshare.domain import Address, Delivery, DeliveryStatus, Wei, Wh
from gridshare.web.queries import flagged


def delivery(i: int, status: DeliveryStatus, delivered: int, deadline: int = 1_000) -> Delivery:
    return Delivery(
        id=i, buyer=Address("0xB"), seller=Address("0xS"), amount_wh=Wh(10),
        price_per_wh=Wei(5), deadline=deadline, status=status, delivered_wh=Wh(delivered),
    )


@dataclass
class History:
    items: list[Delivery]

    def deliveries(self) -> list[Delivery]:
        return self.items


@dataclass
class Ctx:
    history: History
    at: int

    def now(self) -> int:
        return self.at


def test_flags_explain_each_delivery_the_operator_should_look_at() -> None:
    history = History([
        delivery(1, DeliveryStatus.SETTLED, 10),  # complete: not flagged
        delivery(2, DeliveryStatus.SETTLED, 7),  # short
        delivery(3, DeliveryStatus.EXPIRED, 0),  # refunded
        delivery(4, DeliveryStatus.PENDING, 0, deadline=2_000),  # in time: not flagged
        delivery(5, DeliveryStatus.PENDING, 0, deadline=500),  # late
        delivery(6, DeliveryStatus.SETTLED, 10),  # complete, but the meters disagreed
    ])
    ctx = cast(Any, Ctx(history, at=1_500))
    result = flagged(ctx, {6: "loss_above_tolerance", 2: "meter_silent"})
    assert [(f.delivery.id, f.reason) for f in result] == [
        (6, "loss_above_tolerance"), (5, "late"), (3, "expired"), (2, "meter_silent"),
    ]
    assert result[0].label.startswith("Seller sent more than the buyer received")
