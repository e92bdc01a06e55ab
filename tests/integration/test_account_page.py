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
