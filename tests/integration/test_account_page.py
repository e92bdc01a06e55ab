"""My account lists the newest 50 purchases, sales and orders and says the statement has the
rest: a year of 15-minute trading is thousands of rows, too many for a cheap phone's page.
The real app, chain and database."""

from __future__ import annotations

import csv
import io
import re

from gridshare.web.routes.pages import ACCOUNT_ROWS
from tests.integration.web_support import OPERATOR_PASSWORD, PASSWORD, log_in, register, web_app


def test_the_account_page_shows_the_newest_orders_and_the_statement_has_them_all() -> None:
    placed = ACCOUNT_ROWS + 3
    with web_app() as (_runtime, _settings, app):
        operator, op_csrf = log_in(app, "operator", OPERATOR_PASSWORD)
        register(operator, op_csrf, 1, "amina", "http://127.0.0.1:9", "33" * 32)
        amina, csrf = log_in(app, "amina", PASSWORD)
        for i in range(placed):
            reply = amina.post("/api/v1/orders", json={"side": "sell", "amount_wh": 10 + i,
                                                       "price_per_wh": 10**12},
                               headers={"X-CSRF-Token": csrf})  # fmt: skip
            assert reply.status_code == 201, reply.text
        page = amina.get("/account").text
        statement = amina.get("/account/statement.csv").text
    orders = page.split("<h2>Orders</h2>", 1)[1]
    amounts = [int(a) for a in re.findall(r"<td>(\d+)/\1 Wh</td>", orders)]  # none taken
    newest = 10 + placed - 1
    assert amounts == list(range(newest, newest - ACCOUNT_ROWS, -1))
    assert f"the statement (CSV) has all of them. ({ACCOUNT_ROWS}/{placed})" in orders
    assert "the statement (CSV) has all" not in page.split("<h2>Orders</h2>", 1)[0]  # none bought
    rows = [r for r in csv.reader(io.StringIO(statement)) if r[1] == "sell order"]
    assert len(rows) == placed


def test_a_purchase_settled_with_nothing_delivered_says_so_instead_of_purchased() -> None:
    """Settled on 0 metered Wh, the buyer got the escrow back and the seller nothing: the row
    used to read "Purchased 0/5 Wh" / "Sold 0/5 Wh"."""
    with web_app(market_engine=False) as (runtime, _settings, app):
        operator, op_csrf = log_in(app, "operator", OPERATOR_PASSWORD)
        for house, name in ((1, "amina"), (2, "bilal")):
            register(operator, op_csrf, house, name, "http://127.0.0.1:9", "33" * 32)
        amina, a_csrf = log_in(app, "amina", PASSWORD)
        bilal, b_csrf = log_in(app, "bilal", PASSWORD)
        settled = []
        for delivered in (0, 3):
            placed = amina.post("/api/v1/orders", headers={"X-CSRF-Token": a_csrf},
                                json={"side": "sell", "amount_wh": 5, "price_per_wh": 10**12})
            taken = bilal.post(f"/api/v1/orders/{placed.json()['id']}/take",
                               headers={"X-CSRF-Token": b_csrf}, json={"amount_wh": 5})
            assert taken.status_code == 201, taken.text
            runtime.market.settle(runtime.operator, taken.json()["id"], delivered)
            settled.append(taken.json()["id"])
        bought, sold = bilal.get("/account").text, amina.get("/account").text
    for page, word in ((bought, "Purchased"), (sold, "Sold")):
        rows = {int(i): row for i, row in re.findall(
            r'<tr class="delivery" data-delivery="(\d+)"(.*?)</tr>', page, re.S)}
        nothing, some = rows[settled[0]], rows[settled[1]]
        assert '<span class="status">Nothing delivered, nothing paid</span>' in nothing
        assert f'<span class="status">{word}</span>' in some
        assert 'data-label-none="Nothing delivered, nothing paid"' in some  # for live updates
