"""The market page's forms answer bad input with the page and a message naming the field.

Through the real app and embedded chain: what FastAPI's form validation used to answer with
a raw JSON page (a cleared box, "1e3", a price or minutes longer than 40 characters), limits
that only got "Check the amount, price and time.", a form from a page older than the session
(stale CSRF token), refusals written in wei, and the typed values kept after a refusal.
"""

from __future__ import annotations

import html
import re
from collections.abc import Iterator
from typing import Any

import pytest
from eth_account import Account
from fastapi.testclient import TestClient

from gridshare.domain import Side
from gridshare.services.trading import TradingError
from gridshare.web.render import coins
from tests.integration.web_support import (
    OPERATOR_PASSWORD,
    PASSWORD,
    Resident,
    counts,
    log_in,
    offer,
    register_residents,
    web_app,
)

COIN = 10**18
AMOUNT_RULE = "Amount (Wh): a whole number from 1 to 1,000,000,000."
MINUTES_RULE = "Valid for (minutes): a whole number from 1 to 10,080 (7 days)."
PRICE_RULE = (
    "Price per Wh: a number of PKR like 0.05, above 0 and at most 1,000,000, "
    "with at most 18 decimals."
)
TAKE_RULE = "Take amount (Wh): a whole number from 1 to what the order has left."
STALE = "This page was out of date, so nothing was sent. Here it is again: try once more."


@pytest.fixture(scope="module")
def world() -> Iterator[dict[str, Any]]:
    """The app with two residents of 1,000 PKR each: amina sells, bilal buys."""
    with web_app() as (runtime, settings, app):
        assert settings.coin_symbol == "PKR"
        operator, op_csrf = log_in(app, "operator", OPERATOR_PASSWORD)
        residents = register_residents(app, operator, op_csrf, ("amina", "bilal"), "44" * 32)
        yield {"app": app, "runtime": runtime, **residents}


def page(resident: Resident) -> str:
    """The market page as the resident sees it next, entities decoded."""
    shown = resident.client.get("/market")
    assert shown.status_code == 200
    return html.unescape(shown.text)


def posted(resident: Resident, path: str, form: dict[str, str]) -> str:
    """Post a market form: the answer is 303 back to /market; the page that follows."""
    answer = resident.client.post(path, data=form, follow_redirects=False)
    assert answer.status_code == 303, (answer.status_code, answer.text[:300])
    assert answer.headers["location"] == "/market"
    return page(resident)


def place_form(resident: Resident, **fields: str) -> dict[str, str]:
    form = {"csrf_token": resident.csrf, "side": "sell", "amount_wh": "5", "price": "0.001",
            "minutes": "60"}  # fmt: skip
    form.update(fields)
    return {k: v for k, v in form.items() if v is not None}


def flash(text: str) -> str:
    match = re.search(r'<p class="flash" role="status">(.*?)</p>', text, re.S)
    assert match is not None, "no message on the page"
    return match.group(1)


# ------------------------------------------------------- 1. what used to be a raw JSON page


@pytest.mark.parametrize("amount", ["", "1e1", "1e3", "1.5", "0", "-3", "²", "9" * 80])
def test_take_with_a_bad_amount_is_the_page_naming_the_take_amount(
    world: dict[str, Any], amount: str
) -> None:
    """The take box cleared, or "1e3": was JSON `amount_wh`, then the order form's "Amount
    (Wh)" rule, which names another field and another limit."""
    bilal: Resident = world["bilal"]
    order_id = offer(world)
    before = counts(world, bilal)
    form = {"csrf_token": bilal.csrf, "amount_wh": amount, "request_key": f"take-bad-{order_id}"}
    shown = posted(bilal, f"/market/orders/{order_id}/take", form)
    assert flash(shown) == TAKE_RULE
    assert counts(world, bilal) == before


def test_take_without_the_amount_field_at_all_names_the_take_amount(
    world: dict[str, Any],
) -> None:
    bilal: Resident = world["bilal"]
    order_id = offer(world)
    shown = posted(bilal, f"/market/orders/{order_id}/take", {"csrf_token": bilal.csrf})
    assert flash(shown) == TAKE_RULE


@pytest.mark.parametrize(
    ("fields", "message"),
    [
        ({"amount_wh": ""}, AMOUNT_RULE),
        ({"amount_wh": "1e3"}, AMOUNT_RULE),
        ({"amount_wh": "1000000001"}, AMOUNT_RULE),
        ({"price": "0." + "0" * 39 + "5"}, PRICE_RULE),  # 42 characters: was JSON `price`
        ({"price": "0.0000000000000000001"}, PRICE_RULE),  # 19 decimals
        ({"price": "0"}, PRICE_RULE),
        ({"price": ""}, PRICE_RULE),
        ({"price": "1000000.000000000000000001"}, PRICE_RULE),
        ({"price": "9" * 5000}, PRICE_RULE),  # past int()'s 4,300 digits: no 500
        ({"minutes": "100000"}, MINUTES_RULE),
        ({"minutes": "1" * 41}, MINUTES_RULE),  # was JSON `minutes`
        ({"minutes": "1e1"}, MINUTES_RULE),
        ({"minutes": "0"}, MINUTES_RULE),
        ({"amount_wh": "x", "price": "y", "minutes": "z"},
         f"{AMOUNT_RULE} {PRICE_RULE} {MINUTES_RULE}"),
    ],
)  # fmt: skip
def test_a_bad_order_form_is_the_page_naming_the_field_and_rule(
    world: dict[str, Any], fields: dict[str, str], message: str
) -> None:
    amina: Resident = world["amina"]
    before = counts(world, amina)
    shown = posted(amina, "/market/orders", place_form(amina, **fields))
    assert flash(shown) == message
    assert counts(world, amina) == before


def test_an_order_form_missing_every_field_is_the_page(world: dict[str, Any]) -> None:
    amina: Resident = world["amina"]
    shown = posted(amina, "/market/orders", {"csrf_token": amina.csrf})
    assert flash(shown) == "Choose Buy Energy or Sell Energy."


def test_blank_minutes_are_the_form_default_of_60(world: dict[str, Any]) -> None:
    amina: Resident = world["amina"]
    before = counts(world, amina)
    shown = posted(amina, "/market/orders", place_form(amina, minutes=""))
    assert counts(world, amina)[0] == before[0] + 1
    placed = world["runtime"].market.order(counts(world, amina)[0])
    side = "offer" if placed.side.value == "sell" else "demand"
    assert flash(shown) == (f"Your {side} #{placed.id} is posted: {placed.amount_wh} Wh at"
                            f" {coins(placed.price_per_wh, 4)} PKR/Wh.")  # what was done


# ------------------------------------------------------- 2. a form older than the session


def test_a_stale_form_after_logging_in_again_is_the_page_and_sends_nothing(
    world: dict[str, Any],
) -> None:
    """Page open in a second tab; logged out and in again in another: was JSON "csrf"."""
    client = TestClient(world["app"])
    client.__enter__()
    client.post("/api/v1/session", json={"username": "amina", "password": PASSWORD})
    old = client.get("/market").text
    old_csrf = re.search(r'name="csrf_token" value="([^"]+)"', old)
    assert old_csrf is not None
    client.delete("/api/v1/session", headers={"X-CSRF-Token": old_csrf.group(1)})
    assert client.post("/api/v1/session",
                       json={"username": "amina", "password": PASSWORD}).status_code == 200
    amina = Resident("amina", world["amina"].address, 1, client, old_csrf.group(1))
    order_id = offer(world)
    mine = offer(world)
    before = counts(world, amina)
    forms = {
        # the page's hidden `account`: the values come back only to whom it was drawn for
        "/market/orders": place_form(amina, price="0.002", amount_wh="7",
                                     account=amina.address),
        f"/market/orders/{order_id}/take": {"csrf_token": amina.csrf, "amount_wh": "1"},
        f"/market/orders/{mine}/cancel": {"csrf_token": amina.csrf},
    }
    for path, form in forms.items():
        shown = posted(amina, path, form)
        assert flash(shown) == STALE, path
        if path == "/market/orders":  # "Here it is again": the order form as typed
            sell = shown[shown.index('id="sell-form"'):]
            sell = sell[: sell.index("</form>")]
            assert 'value="0.002"' in sell and 'value="7"' in sell
            assert f'value="{amina.csrf}"' not in shown  # now with the session's token
    assert counts(world, amina) == before


def test_a_form_with_no_token_at_all_is_the_same_message(world: dict[str, Any]) -> None:
    bilal: Resident = world["bilal"]
    before = counts(world, bilal)
    shown = posted(bilal, "/market/orders", {"side": "buy", "amount_wh": "1", "price": "1"})
    assert flash(shown) == STALE
    assert counts(world, bilal) == before


def test_a_form_from_a_logged_out_browser_goes_to_login_which_says_so_and_comes_back(
    world: dict[str, Any],
) -> None:
    """After a restart or a long idle time the session is gone: the order was not placed, the
    login page says so (it used to be a silent redirect), and logging in returns to /market."""
    bilal: Resident = world["bilal"]
    before = counts(world, bilal)
    stranger = TestClient(world["app"])
    answer = stranger.post("/market/orders", data={"csrf_token": "old", "side": "buy"},
                           follow_redirects=False)  # fmt: skip
    assert answer.status_code == 303
    assert answer.headers["location"] == "/login?next=%2Fmarket&unsent=1"
    page = stranger.get(answer.headers["location"]).text
    assert "so what you sent was not done. Log in and try again." in page
    csrf = re.search(r'name="csrf_token" value="([^"]+)"', page)
    assert csrf is not None and 'name="next_page" value="/market"' in page
    logged_in = stranger.post("/login", data={"username": " bilal ", "password": PASSWORD,
                                              "csrf_token": csrf.group(1),
                                              "next_page": "/market"}, follow_redirects=False)
    assert (logged_in.status_code, logged_in.headers["location"]) == (303, "/market")
    assert stranger.get("/api/v1/me").json()["user"]["username"] == "bilal"
    assert counts(world, bilal) == before  # and nothing was placed


def test_a_login_goes_back_only_to_our_own_pages(world: dict[str, Any]) -> None:
    for asked in ("https://evil.example/", "//evil.example", "/operator", "/market/orders"):
        stranger = TestClient(world["app"])
        page = stranger.get("/login", params={"next": asked}).text
        assert "next_page" not in page or asked == "/operator", asked
        csrf = re.search(r'name="csrf_token" value="([^"]+)"', page)
        assert csrf is not None
        answer = stranger.post("/login", data={"username": "bilal", "password": PASSWORD,
                                               "csrf_token": csrf.group(1), "next_page": asked},
                               follow_redirects=False)  # fmt: skip
        assert answer.headers["location"] == "/market", asked  # a resident's home


# ------------------------------------------------------- 3. refusals in coins, not wei


def test_a_buy_beyond_the_balance_is_told_in_the_villages_coin(world: dict[str, Any]) -> None:
    bilal: Resident = world["bilal"]
    available = world["runtime"].market.balances(bilal.address).available
    form = place_form(bilal, side="buy", amount_wh="10", price="5000")
    shown = posted(bilal, "/market/orders", form)
    have = f"{available // COIN:,}"
    assert flash(shown) == (
        f"A buy of 10 Wh at 5,000 PKR/Wh needs 50,000 PKR available; you have {have} PKR."
    )
    assert "wei" not in flash(shown)


def test_taking_beyond_the_balance_is_told_in_coins(world: dict[str, Any]) -> None:
    bilal: Resident = world["bilal"]
    order_id = offer(world, amount_wh=20, price=100 * COIN + COIN // 4)
    available = world["runtime"].market.balances(bilal.address).available
    shown = posted(bilal, f"/market/orders/{order_id}/take",
                   {"csrf_token": bilal.csrf, "amount_wh": "20"})  # fmt: skip
    assert flash(shown) == (
        f"Taking 20 Wh costs 2,005 PKR; you have {available // COIN:,} PKR available."
    )


def test_the_service_names_the_price_limit_in_the_villages_coin(world: dict[str, Any]) -> None:
    """The CLI and agents see this one (the API's schema and the form check first)."""
    trading = world["app"].state.web.trading
    with pytest.raises(TradingError) as refused:
        trading.place_order(Account.create(), Side.SELL, 1, 10**24 + 1, 60)
    assert (refused.value.code, refused.value.field) == ("bad_price", "price_per_wh")
    assert refused.value.message == "Price per Wh must be above 0 and at most 1,000,000 PKR."


# ------------------------------------------------------- 5. the typed values come back


def test_a_refused_form_comes_back_as_typed_once(world: dict[str, Any]) -> None:
    amina: Resident = world["amina"]
    amina.client.post("/market/orders", data=place_form(amina, price="0.05", minutes="100000",
                                                        amount_wh="123"),
                      follow_redirects=False)  # fmt: skip
    shown = amina.client.get("/market").text
    sell = shown[shown.index('id="sell-form"'):]
    sell = sell[: sell.index("</form>")]
    assert 'value="123"' in sell and 'value="0.05"' in sell and 'value="100000"' in sell
    buy = shown[shown.index('id="buy-form"'):]
    assert 'value="123"' not in buy[: buy.index("</form>")]
    again = amina.client.get("/market").text  # shown once, then the empty form
    assert 'value="0.05"' not in again and 'value="123"' not in again


def test_a_refused_take_comes_back_as_typed(world: dict[str, Any]) -> None:
    bilal: Resident = world["bilal"]
    order_id = offer(world, amount_wh=30)
    bilal.client.post(f"/market/orders/{order_id}/take",
                      data={"csrf_token": bilal.csrf, "amount_wh": "1e1"},
                      follow_redirects=False)  # fmt: skip
    shown = bilal.client.get("/market").text
    row = shown[shown.index(f'<tr data-order="{order_id}">'):]
    row = row[: row.index("</tr>")]
    assert 'value="1e1"' in row and 'value="30"' not in row


# ------------------------------------------------------- the phone's own checks


def test_the_form_inputs_carry_the_limits(world: dict[str, Any]) -> None:
    offer_id = offer(world)
    shown = world["bilal"].client.get("/market").text
    amount = re.search(r'<input name="amount_wh"[^>]*>', shown)
    price = re.search(r'<input name="price"[^>]*>', shown)
    minutes = re.search(r'<input name="minutes"[^>]*>', shown)
    take = re.search(rf'<tr data-order="{offer_id}">.*?(<input name="amount_wh"[^>]*>)', shown,
                     re.S)  # fmt: skip
    assert amount and price and minutes and take
    for tag in (amount.group(0), minutes.group(0), take.group(1)):
        # text, not type=number: Chromium's number input drops an Urdu keyboard's digits
        assert " required" in tag and 'inputmode="numeric"' in tag and "type=" not in tag
        assert 'pattern="[0-9۰-۹٠-٩]+"' in tag
    assert 'data-max="1000000000"' in amount.group(0) and 'data-max="10080"' in minutes.group(0)
    assert 'data-max="50"' in take.group(1)
    for tag, rule in ((amount.group(0), AMOUNT_RULE), (minutes.group(0), MINUTES_RULE),
                      (take.group(1), "Take amount (Wh): a whole number from 1 to 50.")):
        title = re.search(r'title="([^"]*)"', tag)  # what the phone says for a bad value
        assert title is not None and html.unescape(title.group(1)) == rule
    assert 'maxlength="26"' in price.group(0) and 'placeholder="0.05"' in price.group(0)
    title = re.search(r'title="([^"]*)"', price.group(0))
    assert title is not None and html.unescape(title.group(1)) == PRICE_RULE


def test_my_open_orders_mark_the_ones_my_auto_trading_agent_placed(
    world: dict[str, Any],
) -> None:
    """A resident sees which of their open orders their agent placed (the agent manages only
    those), so orders they never placed by hand are not a mystery."""
    amina: Resident = world["amina"]
    ctx = world["app"].state.web
    signer = ctx.accounts.login("amina", PASSWORD).signer
    by_hand = ctx.trading.place_order(signer, Side.SELL, 5, COIN // 100, 3600)
    by_agent = ctx.trading.place_order(signer, Side.SELL, 6, COIN // 50, 3600)
    ctx.agent_orders.add(amina.house_id, by_agent.id)  # as AgentRunner records what it places
    page = amina.client.get("/market").text
    mine = page[page.index('id="mine"'):]
    row = {o: mine[mine.index(f'<tr data-order="{o}">'):].split("</tr>")[0]
           for o in (by_hand.id, by_agent.id)}  # fmt: skip
    assert "data-by-agent" in row[by_agent.id] and "data-by-agent" not in row[by_hand.id]


def test_my_open_orders_say_which_are_bids_and_which_are_offers_at_their_exact_price(
    world: dict[str, Any],
) -> None:
    """Two of a resident's own orders used to read alike (#, Wh, price, Cancel), and a bid at
    0.00009 a Wh read 0.0000."""
    amina: Resident = world["amina"]
    ctx = world["app"].state.web
    signer = ctx.accounts.login("amina", PASSWORD).signer
    bid = ctx.trading.place_order(signer, Side.BUY, 100, COIN * 9 // 100_000, 3600)
    offer = ctx.trading.place_order(signer, Side.SELL, 7, COIN * 19 // 2, 3600)
    page = amina.client.get("/market").text
    mine = page[page.index('id="mine"'):]
    row = {o: mine[mine.index(f'<tr data-order="{o}">'):].split("</tr>")[0]
           for o in (bid.id, offer.id)}  # fmt: skip
    assert '<td class="side" data-side="buy">Buy</td>' in row[bid.id]
    assert '<td class="side" data-side="sell">Sell</td>' in row[offer.id]
    assert "<td>0.00009</td>" in row[bid.id] and "<td>9.5000</td>" in row[offer.id]


def test_the_login_page_sends_a_logged_in_resident_on(world: dict[str, Any]) -> None:
    bilal: Resident = world["bilal"]
    for asked, to in (({}, "/market"), ({"next": "/account"}, "/account")):
        shown = bilal.client.get("/login", params=asked, follow_redirects=False)
        assert (shown.status_code, shown.headers["location"]) == (303, to)


def test_a_resident_reading_urdu_gets_refusals_in_urdu_with_their_figures(
    world: dict[str, Any],
) -> None:
    """Refusals carry figures ("Only 3 Wh of order 7 are left."); the catalog holds them as
    patterns, so an Urdu page shows the Urdu sentence with the same figures, and the rules of
    a form with several bad fields sentence by sentence."""
    bilal: Resident = world["bilal"]
    bilal.client.cookies.set("gs_lang", "ur")
    try:
        order_id = offer(world, amount_wh=3)
        shown = posted(bilal, f"/market/orders/{order_id}/take",
                       {"csrf_token": bilal.csrf, "amount_wh": "4"})  # fmt: skip
        assert flash(shown) == f"آرڈر {order_id} میں صرف 3 واٹ گھنٹے باقی ہیں۔"
        shown = posted(bilal, f"/market/orders/{order_id}/take",
                       {"csrf_token": bilal.csrf, "amount_wh": "0"})  # fmt: skip
        assert flash(shown).startswith("لینے کی مقدار (واٹ گھنٹے): ")
        rules = flash(posted(bilal, "/market/orders", place_form(bilal, amount_wh="0",
                                                                 price="x")))
        assert rules.startswith("مقدار (واٹ گھنٹے): 1 سے 1,000,000,000 تک کا پورا عدد۔ ")
        assert "PKR میں ایک عدد" in rules and "Price" not in rules
    finally:
        bilal.client.cookies.set("gs_lang", "en")


def test_switching_language_on_the_login_page_keeps_where_it_goes_back_to(
    world: dict[str, Any],
) -> None:
    """The switch used to drop `?next=`: after a logged-out form, the login no longer led back
    and no longer said the form was not sent."""
    visitor = TestClient(world["app"])
    page = visitor.get("/login?next=/market&unsent=1").text
    link = re.search(r'href="(/lang/ur\?next=[^"]+)"', page)
    assert link is not None
    switched = visitor.get(html.unescape(link.group(1)), follow_redirects=False)
    assert switched.headers["location"] == "/login?next=/market&unsent=1"
