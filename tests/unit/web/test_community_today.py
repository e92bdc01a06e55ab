"""The Community page's "traded today": deliveries made since midnight on the chain's clock,
counted by what they stand for (paid-for Wh once settled, agreed Wh while pending), expired ones
left out. It used to count every delivery of a demo (whose chain runs ahead of the wall clock)
and the refunded ones too."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, cast
from zoneinfo import ZoneInfo

from gridshare.domain import Address, Delivery, DeliveryStatus, Wei, Wh
from gridshare.local_time import UTC, village_zone
from gridshare.web.queries import community

DAY = 86_400
NOW = 400 * DAY + 50_000  # chain time, well ahead of any wall clock's midnight


def delivery(i: int, status: DeliveryStatus, amount: int, delivered: int, price: int) -> Delivery:
    return Delivery(id=i, buyer=Address("0xB"), seller=Address("0xS"), amount_wh=Wh(amount),
                    price_per_wh=Wei(price), deadline=NOW + 3600, status=status,
                    delivered_wh=Wh(delivered))  # fmt: skip


@dataclass
class History:
    items: list[Delivery]

    def deliveries(self) -> list[Delivery]:
        return self.items


class NoMeters:
    def many(self, records: list[Any], timeout: float = 1.0) -> list[Any]:
        return []


@dataclass
class Ctx:
    history: History
    made: dict[int, int]
    readings: NoMeters
    zone: ZoneInfo = UTC

    def now(self) -> int:
        return NOW

    def created_at(self, d: Delivery) -> int:
        return self.made[d.id]


def test_today_counts_settled_and_pending_deliveries_of_the_chain_day_only() -> None:
    items = [
        delivery(1, DeliveryStatus.SETTLED, 100, 80, 10),  # yesterday (chain time)
        delivery(2, DeliveryStatus.SETTLED, 100, 80, 10),  # today: 80 Wh paid for
        delivery(3, DeliveryStatus.PENDING, 50, 0, 16),  # today: 50 Wh agreed
        delivery(4, DeliveryStatus.EXPIRED, 500, 0, 99),  # today, but refunded
    ]
    made = {1: NOW - DAY, 2: NOW - 60, 3: NOW - 30, 4: NOW - 10}
    ctx = cast(Any, Ctx(History(items), made, NoMeters()))
    today = community(ctx, with_meters=False)
    assert (today.trades_today, today.traded_today_wh) == (2, 130)
    assert today.average_price_per_wh == (80 * 10 + 50 * 16) // 130


def test_today_begins_at_the_villages_midnight_not_utcs() -> None:
    """NOW is 13:53 UTC, 18:53 in Karachi: the village's day began at 19:00 UTC the day
    before, so a trade at 21:13 UTC yesterday (02:13 today in Karachi) counts as today's
    there and not in UTC."""
    items = [delivery(1, DeliveryStatus.SETTLED, 100, 100, 10)]
    made = {1: NOW - 60_000}
    utc = community(cast(Any, Ctx(History(items), made, NoMeters())), with_meters=False)
    karachi = cast(Any, Ctx(History(items), made, NoMeters(), village_zone("Asia/Karachi")))
    assert utc.trades_today == 0
    assert community(karachi, with_meters=False).trades_today == 1
