"""My account, left open while a purchase is pending, says why it ended with nothing, or what
was paid, as soon as it is settled (app.js, from the live stream), in the page's language: no
reload.

A server of its own with no market engine: the test settles the delivery on chain itself, as
the orchestrator would on meters that agreed nothing arrived.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass

import httpx
import pytest
from playwright.sync_api import Browser, expect
from tests.browser.conftest import OPERATOR_PASSWORD
from tests.integration.web_support import PASSWORD, web_app
from tests.support.live_server import serve_in_thread

from gridshare.runtime import Runtime
from gridshare.web import i18n

BOUGHT_NOTHING = "The delivery ended before all of it arrived. You pay only for what arrived."
SOLD_NOTHING = ("The delivery ended before all of it reached the buyer. You are paid only for"
                " what arrived.")


@dataclass
class Market:
    url: str
    runtime: Runtime
    delivery_id: int


def _session(client: httpx.Client, username: str, password: str) -> str:
    login = client.post("/api/v1/session", json={"username": username, "password": password})
    assert login.status_code == 200, login.text
    return str(login.json()["csrf_token"])


@pytest.fixture
def market(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Market]:
    """amina sold bilal 5 Wh; the delivery is pending (meters nobody answers at)."""
    with (
        web_app(tmp_path_factory.mktemp("reason-server"), market_engine=False) as (
            runtime, _settings, app),
        serve_in_thread(app) as base,
    ):
        with httpx.Client(base_url=base) as operator:
            csrf = _session(operator, "operator", OPERATOR_PASSWORD)
            for house, name in ((1, "amina"), (2, "bilal")):
                made = operator.post("/api/v1/households", headers={"X-CSRF-Token": csrf}, json={
                    "name": f"House {house}", "username": name, "password": PASSWORD,
                    "house_id": house, "meter_id": house, "meter_url": "http://127.0.0.1:9",
                    "meter_key": "33" * 32, "top_up_coins": 100,
                })
                assert made.status_code == 201, made.text
        with httpx.Client(base_url=base) as amina, httpx.Client(base_url=base) as bilal:
            offer = amina.post("/api/v1/orders", headers={
                "X-CSRF-Token": _session(amina, "amina", PASSWORD)},
                json={"side": "sell", "amount_wh": 5, "price_per_wh": 10**12})
            assert offer.status_code == 201, offer.text
            taken = bilal.post(f"/api/v1/orders/{offer.json()['id']}/take", headers={
                "X-CSRF-Token": _session(bilal, "bilal", PASSWORD)}, json={"amount_wh": 5})
            assert taken.status_code == 201, taken.text
        yield Market(base, runtime, int(taken.json()["id"]))


def test_a_pending_delivery_says_why_it_ended_with_nothing_without_a_reload(
    browser: Browser, market: Market,
) -> None:
    pages = {}
    for name, lang in (("bilal", "ur"), ("amina", "en")):
        context = browser.new_context(viewport={"width": 360, "height": 640})
        page = context.new_page()
        page.goto(market.url + "/login")
        page.fill("input[name=username]", name)
        page.fill("input[name=password]", PASSWORD)
        page.click("button[type=submit]")
        page.wait_for_load_state()
        page.goto(f"{market.url}/lang/{lang}?next=/account")
        row = page.locator(f"tr[data-delivery='{market.delivery_id}']")
        expect(row).to_have_attribute("data-status", "pending")
        expect(row.locator(".reason")).to_be_hidden()  # nothing to say yet
        pages[name] = (page, row)

    market.runtime.market.settle(market.runtime.operator, market.delivery_id, 0)

    for name, said in (("bilal", i18n.gettext("ur", BOUGHT_NOTHING)), ("amina", SOLD_NOTHING)):
        page, row = pages[name]
        expect(row).to_have_attribute("data-status", "settled", timeout=15_000)
        expect(row.locator(".reason")).to_have_text(said)
        expect(row.locator(".reason")).to_be_visible()
        expect(row.locator(".paid")).to_be_hidden()  # nothing arrived: nothing paid
        page.context.close()


def test_a_settled_delivery_says_what_was_paid_live_and_after_a_reload(
    browser: Browser, market: Market,
) -> None:
    """My account showed the Wh and the price, never the money: "You pay only for what
    arrived" left the resident to work out 291 Wh x 0.0800. Settled on 3 of the 5 Wh at
    10**12 wei a Wh, the buyer paid and the seller was paid 3 * 10**12 wei."""
    symbol = market.runtime.settings.coin_symbol
    words = {"bilal": ("ur", f"آپ نے 0.000003 {symbol} ادا کیے"),
             "amina": ("en", f"You were paid 0.000003 {symbol}")}
    pages = {}
    for name, (lang, _) in words.items():
        context = browser.new_context(viewport={"width": 360, "height": 640})
        page = context.new_page()
        page.goto(market.url + "/login")
        page.fill("input[name=username]", name)
        page.fill("input[name=password]", PASSWORD)
        page.click("button[type=submit]")
        page.wait_for_load_state()
        page.goto(f"{market.url}/lang/{lang}?next=/account")
        row = page.locator(f"tr[data-delivery='{market.delivery_id}']")
        expect(row).to_have_attribute("data-status", "pending")
        expect(row.locator(".paid")).to_be_hidden()  # nothing paid while it is pending
        pages[name] = (page, row)

    market.runtime.market.settle(market.runtime.operator, market.delivery_id, 3)

    for name, (_, said) in words.items():
        page, row = pages[name]
        expect(row).to_have_attribute("data-status", "settled", timeout=15_000)
        expect(row.locator(".paid")).to_have_text(said)  # app.js, from the live stream
        page.reload()
        expect(row.locator(".paid")).to_have_text(said)  # the server's page says the same
        page.context.close()
