"""My account and the statement call an open order past its expiry "expired": it stays open
on chain until someone cancels it, but nobody can take it (the contract refuses from
`expires_at` on), and "open" made residents wait for a buyer who could not come."""

from __future__ import annotations

import pytest

from gridshare.domain import Address, Order, OrderStatus, Side, Wei, Wh
from gridshare.web.queries import order_state

EXPIRES = 1_000


def order(status: OrderStatus) -> Order:
    return Order(id=1, owner=Address("0x" + "11" * 20), side=Side.SELL, amount_wh=Wh(5),
                 remaining_wh=Wh(5), price_per_wh=Wei(10), expires_at=EXPIRES, status=status)


@pytest.mark.parametrize(("status", "now", "shown"), [
    (OrderStatus.OPEN, EXPIRES - 1, "open"),
    (OrderStatus.OPEN, EXPIRES, "expired"),  # the contract's "order expired" starts here
    (OrderStatus.FILLED, EXPIRES + 1, "filled"),
    (OrderStatus.CANCELLED, EXPIRES + 1, "cancelled"),
])
def test_an_open_order_past_its_expiry_is_shown_expired(
    status: OrderStatus, now: int, shown: str
) -> None:
    assert order_state(order(status), now) == shown
