"""My account lists the newest 50 purchases, sales and orders and says the statement has the
rest: a year of 15-minute trading is thousands of rows, too many for a cheap phone's page.
The real app, chain and database."""

from __future__ import annotations

import csv
import io
import json
import re

from fastapi.testclient import TestClient
from markupsafe import escape

from gridshare.domain import DeliveryStatus
from gridshare.services.settlement_rules import Flag
from gridshare.storage.deliveries import Phase
from gridshare.web import i18n
from gridshare.web.routes.pages import ACCOUNT_ROWS
from tests.integration.test_web_live_events import first_update
from tests.integration.web_support import (
    OPERATOR_PASSWORD,
    PASSWORD,
    log_in,
    register,
    register_residents,
    trade,
    web_app,
)

Login = tuple[TestClient, str]  # a logged-in client and its CSRF token


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
        amina, bilal, seller, buyer = _amina_sells_to_bilal(app)
        settled = []
        for delivered in (0, 3):
            delivery_id = trade(seller, buyer, 5)
            runtime.market.settle(runtime.operator, delivery_id, delivered)
            settled.append(delivery_id)
        bought, sold = bilal.get("/account").text, amina.get("/account").text
    for page, word in ((bought, "Purchased"), (sold, "Sold")):
        rows = {int(i): row for i, row in re.findall(
            r'<tr class="delivery" data-delivery="(\d+)"(.*?)</tr>', page, re.S)}
        nothing, some = rows[settled[0]], rows[settled[1]]
        assert '<span class="status">Nothing delivered, nothing paid</span>' in nothing
        assert f'<span class="status">{word}</span>' in some
        assert 'data-label-none="Nothing delivered, nothing paid"' in some  # for live updates


BOUGHT_NOTHING = "The delivery ended before all of it arrived. You pay only for what arrived."
SOLD_NOTHING = ("The delivery ended before all of it reached the buyer. You are paid only for"
                " what arrived.")
WENT_ELSEWHERE = ("The seller's meter sent more than reached your meter: the rest went"
                  " elsewhere on the line. You pay only for what arrived.")
SENT_ELSEWHERE = ("Your meter sent more than reached the buyer's meter: the rest went elsewhere"
                  " on the line. You are paid only for what arrived.")
NEVER_STARTED = "Expired: it never started. All your money came back."
NEVER_STARTED_SELLER = "Expired: it never started. You were not paid."


def test_a_delivery_that_ended_with_nothing_says_why_on_the_page_the_api_and_the_stream(
) -> None:
    """Buyer and seller both see why, each in their words: settled on nothing with the
    meters agreeing, settled on nothing because the energy went elsewhere (the orchestrator's
    flag), and expired without ever starting; a delivery paid in full says nothing more. The
    row used to say only "Nothing delivered, nothing paid", or "expired"."""
    with web_app(market_engine=False) as (runtime, _settings, app):
        amina, bilal, seller, buyer = _amina_sells_to_bilal(app)

        agreed, elsewhere, never, full = (trade(seller, buyer, 5) for _ in range(4))
        engine = app.state.market_engine  # installed, not running: its rounds are run here
        orchestrator = engine.orchestrator
        orchestrator.follow_events()
        runtime.market.settle(runtime.operator, agreed, 0)  # the meters agreed on nothing
        runtime.market.settle(runtime.operator, full, 5)
        stopped = engine.delivery(elsewhere)  # as `_stop_not_arriving` and the poll left it
        orchestrator.settle([stopped.with_(
            phase=Phase.READY, buyer_mwh=400, seller_mwh=3_000, buyer_final=True,
            seller_final=True, settle_wh=0, flag=Flag.LOSS_ABOVE_TOLERANCE,
        )])
        # past deadline + grace, its meters never having answered: the orchestrator expires it
        head = runtime.chain.w3.eth.get_block("latest")["timestamp"]
        window, grace = runtime.market.timing()
        assert runtime.chain.embedded is not None
        runtime.chain.embedded.mine_block(timestamp=head + window + grace + 5)
        orchestrator.tick()
        expired = runtime.market.delivery(never)
        assert expired is not None and expired.status is DeliveryStatus.EXPIRED

        pages = {"bilal": bilal.get("/account").text, "amina": amina.get("/account").text}
        api = {"bilal": bilal.get("/api/v1/me/deliveries").json(),
               "amina": amina.get("/api/v1/me/deliveries").json()}
        stream = first_update(bilal, "?only=deliveries")["deliveries"]
        bilal.cookies.set("gs_lang", "ur")
        urdu = bilal.get("/account").text

    said = {"bilal": {agreed: BOUGHT_NOTHING, elsewhere: WENT_ELSEWHERE, never: NEVER_STARTED},
            "amina": {agreed: SOLD_NOTHING, elsewhere: SENT_ELSEWHERE,
                      never: NEVER_STARTED_SELLER}}
    codes = {agreed: "short", elsewhere: "loss_above_tolerance", never: "not_started"}
    for who, page in pages.items():
        rows = _rows(page)
        for delivery_id, text in said[who].items():
            assert f'<small class="reason muted">{escape(text)}</small>' in rows[delivery_id]
        assert '<small class="reason muted"></small>' in rows[full]  # paid in full
        assert '<span class="status">Nothing delivered, nothing paid</span>' in rows[elsewhere]
        reasons = {d["id"]: d["reason"] for d in api[who]}
        assert reasons == {**{i: {"code": codes[i], "text": t} for i, t in said[who].items()},
                           full: None}
    # the live stream carries them too (app.js shows them when a row leaves "pending")
    assert {d["id"]: d["reason"] for d in stream} == {d["id"]: d["reason"] for d in api["bilal"]}
    row = _rows(urdu)[elsewhere]  # the page in Urdu, and its script's words for the others
    assert i18n.gettext("ur", WENT_ELSEWHERE) in row and "elsewhere" not in row
    assert f'"{NEVER_STARTED}": "{i18n.gettext("ur", NEVER_STARTED)}"' in _words(urdu)


def _rows(page: str) -> dict[int, str]:
    return {int(i): row for i, row in re.findall(
        r'<tr class="delivery" data-delivery="(\d+)"(.*?)</tr>', page, re.S)}


def _words(page: str) -> str:
    found = re.search(r'<script type="application/json" id="words">(.*?)</script>', page, re.S)
    assert found is not None
    return json.dumps(json.loads(found.group(1)), ensure_ascii=False)


def _amina_sells_to_bilal(app: object) -> tuple[TestClient, TestClient, Login, Login]:
    """Houses 1 and 2, amina and bilal (meters nobody answers at), logged in: their clients,
    and their logins as `trade` takes them (seller, buyer)."""
    operator, op_csrf = log_in(app, "operator", OPERATOR_PASSWORD)
    both = register_residents(app, operator, op_csrf, ("amina", "bilal"), "33" * 32)
    amina, bilal = both["amina"], both["bilal"]
    return amina.client, bilal.client, (amina.client, amina.csrf), (bilal.client, bilal.csrf)
