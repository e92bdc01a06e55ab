"""The CSV statement lists exactly the account's trades, with exact integer Wh and wei."""

from __future__ import annotations

import calendar
import csv
import io
import time
from decimal import ROUND_DOWN, Decimal

from fastapi.testclient import TestClient

from gridshare.domain import WEI_PER_COIN
from tests.integration.web_support import OPERATOR_PASSWORD, PASSWORD, log_in, register, web_app

P1 = 7 * 10**14  # wei per Wh
P2 = 123_456_789_000_000  # not a round number of coins: the coin column truncates it


def offer(client: TestClient, csrf: str, wh: int, price: int) -> int:
    placed = client.post(
        "/api/v1/orders",
        json={"side": "sell", "amount_wh": wh, "price_per_wh": price},
        headers={"X-CSRF-Token": csrf},
    )
    assert placed.status_code == 201, placed.text
    return int(placed.json()["id"])


def take(client: TestClient, csrf: str, order_id: int, wh: int) -> int:
    taken = client.post(
        f"/api/v1/orders/{order_id}/take", json={"amount_wh": wh}, headers={"X-CSRF-Token": csrf}
    )
    assert taken.status_code == 201, taken.text
    return int(taken.json()["id"])


def coins(wei: int) -> Decimal:
    """Wei as coins to 6 places, toward zero (as the statement writes them)."""
    return (Decimal(wei) / WEI_PER_COIN).quantize(Decimal("0.000001"), rounding=ROUND_DOWN)


def test_statement_has_one_row_per_trade_with_exact_amounts_matching_the_balance() -> None:
    # no engine: the test settles deliveries itself, as the metering oracle would
    with web_app(market_engine=False) as (runtime, settings, app):
        market = runtime.market
        operator, op_csrf = log_in(app, "operator", OPERATOR_PASSWORD)
        for house, name in ((1, "amina"), (2, "bilal"), (3, "chanda")):
            register(operator, op_csrf, house, name, "http://127.0.0.1:9", f"{house:02d}" * 32)
        amina, a_csrf = log_in(app, "amina", PASSWORD)
        bilal, b_csrf = log_in(app, "bilal", PASSWORD)
        chanda, c_csrf = log_in(app, "chanda", PASSWORD)
        me = amina.get("/api/v1/me").json()["user"]["address"]
        start, before = time.time(), market.balances(me)

        sold_order = offer(amina, a_csrf, 5, P1)
        sold = take(bilal, b_csrf, sold_order, 5)  # metered short: 3 of 5 Wh
        bought_order = offer(bilal, b_csrf, 4, P2)
        bought = take(amina, a_csrf, bought_order, 4)  # metered in full
        pending_order = offer(amina, a_csrf, 2, P1)
        pending = take(chanda, c_csrf, pending_order, 2)  # not settled yet
        theirs = take(chanda, c_csrf, offer(bilal, b_csrf, 1, P1), 1)  # not amina's trade
        open_order = offer(amina, a_csrf, 9, P2)
        market.settle(runtime.operator, sold, 3)
        market.settle(runtime.operator, bought, 4)
        market.settle(runtime.operator, theirs, 1)
        after = market.balances(me)

        text = amina.get("/api/v1/me/statement.csv")
        assert text.status_code == 200 and text.headers["content-type"].startswith("text/csv")
        assert amina.get("/account/statement.csv").text == text.text  # the page's download
        rows = list(csv.reader(io.StringIO(text.text)))

    symbol = settings.coin_symbol
    assert rows[0] == [
        "time_utc",
        "kind",
        "reference",
        "status",
        "wh",
        "price_per_wh_wei",
        "amount_wei",
        f"amount_{symbol}",
    ]
    trades = [r for r in rows[1:] if r[2].startswith("delivery ")]
    orders = [r for r in rows[1:] if r[2].startswith("order ")]
    assert len(trades) + len(orders) == len(rows) - 1
    expected = [  # oldest first: (reference, kind, status, wh, price, amount)
        (f"delivery {sold}", "sale", "settled", 3, P1, 3 * P1),
        (f"delivery {bought}", "purchase", "settled", 4, P2, -4 * P2),
        (f"delivery {pending}", "sale", "pending", 2, P1, 2 * P1),
    ]
    assert [(r[2], r[1], r[3], int(r[4]), int(r[5]), int(r[6])) for r in trades] == expected
    for row in trades:
        assert row[4] == str(int(row[4])) and row[6] == str(int(row[6]))  # plain integers
        assert Decimal(row[7]) == coins(int(row[6]))
        when = calendar.timegm(time.strptime(row[0], "%Y-%m-%dT%H:%M:%SZ"))
        assert start - 60 <= when <= time.time() + 60
    assert f"delivery {theirs}" not in text.text
    # what the settled rows say moved is exactly what moved in amina's balance
    settled = sum(int(r[6]) for r in trades if r[3] == "settled")
    assert settled == 3 * P1 - 4 * P2 == after.total - before.total
    # and her orders follow, oldest first, with no money of their own
    assert [(r[2], r[1], r[3], int(r[4]), int(r[5]), int(r[6])) for r in orders] == [
        (f"order {sold_order}", "sell order", "filled", 5, P1, 0),
        (f"order {pending_order}", "sell order", "filled", 2, P1, 0),
        (f"order {open_order}", "sell order", "open", 9, P2, 0),
    ]
