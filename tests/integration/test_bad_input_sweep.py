"""What a sweep of bad input over every route found, each through the real app served by
uvicorn on loopback (real HTTP, embedded chain, SQLite files), with two residents the operator
registered:

1. A page request that failed FastAPI's own checks (the login form sent empty, a password
   past 256 characters, an explorer page number of 0, a search past 200 characters, an order
   number in a form's address not written in digits, a hidden field too long) showed pydantic's
   English under the field's code name ("username: Field required"), in the Urdu pages too.
   Now the page names the field as the form labels it and its rule, in the page's language.
2. A market form's request key of 101 characters was that same English error page, where
   one of 7 characters comes back to the market page with the key's rule; the API's
   Idempotency-Key of 101 characters was 422 `invalid` in pydantic's words, where one of 7 is
   `bad_request_key`. Both now say the key's rule, in Urdu too, and nothing is placed.
3. A delivery id of 0, or one past SQLite's INTEGER, was 422 "Input should be less than or
   equal to 9223372036854775807" on /api/v1/deliveries/{id} and the explorer's orders and
   deliveries, where /orders/{id}/take and the explorer's blocks call it missing: now 404.
4. A body that is not JSON was 422 "body: JSON decode error", where one not UTF-8, nested too
   deep or giving a key twice is 400 saying what is wrong: now 400, saying why and where.
5. GET /login?next= with 65 characters was an English error page instead of the login page.
"""

from __future__ import annotations

import html
import re
from collections.abc import Iterator
from typing import Any

import httpx
import pytest

from gridshare.services.accounts import PHRASE_RULE
from gridshare.storage.request_keys import BAD_KEY
from gridshare.web import i18n
from gridshare.web.page_rules import ADDRESS_NUMBER, OUT_OF_DATE, PAGE_NUMBER_RULE
from tests.integration.web_support import OPERATOR_PASSWORD, PASSWORD, web_app
from tests.support.live_server import serve_in_thread

PAGE = {"Accept": "text/html"}
PYDANTIC = re.compile(r"Field required|should have|Input should|valid integer")


def log_in(url: str, username: str, password: str, lang: str = "en") -> tuple[httpx.Client, str]:
    client = httpx.Client(base_url=url, timeout=60)
    client.cookies.set("gs_lang", lang)
    answer = client.post("/api/v1/session", json={"username": username, "password": password})
    assert answer.status_code == 200, answer.text
    return client, str(answer.json()["csrf_token"])


@pytest.fixture(scope="module")
def world() -> Iterator[dict[str, Any]]:
    """The served app, with amina (house 1) and bilal (house 2) registered and funded."""
    with web_app() as (runtime, _settings, app), serve_in_thread(app) as url:
        operator, csrf = log_in(url, "operator", OPERATOR_PASSWORD)
        for house, name in ((1, "amina"), (2, "bilal")):
            created = operator.post("/api/v1/households", headers={"X-CSRF-Token": csrf}, json={
                "name": f"House {house}", "username": name, "password": PASSWORD,
                "house_id": house, "meter_id": house, "meter_url": "http://127.0.0.1:9",
                "meter_key": "44" * 32, "top_up_coins": 1000})  # fmt: skip
            assert created.status_code == 201, created.text
        yield {"url": url, "runtime": runtime}


def said(page: str) -> str:
    """The message an error page or a flash on a page says."""
    found = re.search(r'id="error-message">(.*?)</p>', page, re.S) or re.search(
        r'<p class="flash" role="status">(.*?)</p>', page, re.S)
    assert found, page[:500]
    return html.unescape(found.group(1)).strip()


def anonymous_form(url: str, path: str, lang: str) -> tuple[httpx.Client, str]:
    """A visitor with the login or recovery page open: its client and the form's token."""
    client = httpx.Client(base_url=url, timeout=60)
    client.cookies.set("gs_lang", lang)
    page = client.get(path).text
    token = re.search(r'name="csrf_token" value="([^"]+)"', page)
    assert token, page[:500]
    return client, token.group(1)


# ---------------------------------------------------------------- 1. pages name the rule


@pytest.mark.parametrize("lang", ["ur", "en"])
def test_a_page_request_failing_fastapis_checks_names_the_rule_in_the_pages_language(
    world: dict[str, Any], lang: str,
) -> None:
    url = world["url"]
    visitor, token = anonymous_form(url, "/login", lang)
    recovering, recovery_token = anonymous_form(url, "/recover", lang)
    amina, csrf = log_in(url, "amina", PASSWORD, lang)
    address = "0x" + "ab" * 20
    cases = [  # (client, method, path, form, the page's words in English)
        (visitor, "POST", "/login", {"csrf_token": token}, "Username: 1 to 64 characters."),
        (visitor, "POST", "/login", {"csrf_token": token, "username": "amina",
                                     "password": "x" * 257}, "Password: 1 to 256 characters."),
        (recovering, "POST", "/recover", {
            "csrf_token": recovery_token, "username": "amina", "recovery_phrase": "w " * 201,
            "new_password": "abcdefghij", "new_password_again": "abcdefghij"}, PHRASE_RULE),
        (amina, "POST", "/account/export", {"csrf_token": csrf, "password": "x" * 257},
         "Password: 1 to 256 characters."),
        (amina, "POST", "/account/password", {"csrf_token": "x" * 129, "password": PASSWORD,
                                              "new_password": "abcdefghij",
                                              "new_password_again": "abcdefghij"}, OUT_OF_DATE),
        (amina, "POST", "/market/orders/abc/take", {"csrf_token": csrf, "amount_wh": "1"},
         ADDRESS_NUMBER),
        (amina, "POST", "/market/orders/+1/cancel", {"csrf_token": csrf}, ADDRESS_NUMBER),
        (amina, "GET", f"/explorer/address/{address}?page=0", None, PAGE_NUMBER_RULE),
        (amina, "GET", f"/explorer/address/{address}?orders=abc", None, PAGE_NUMBER_RULE),
        (amina, "GET", "/explorer/search?q=" + "x" * 201, None, "Search: at most 200 characters."),
        (amina, "GET", "/explorer/order/abc", None, ADDRESS_NUMBER),
    ]
    before = world["runtime"].market.order_count()
    for client, method, path, form, english in cases:
        answer = client.request(method, path, data=form, headers=PAGE)
        assert answer.status_code == 422, (path, answer.text[:300])
        shown = said(answer.text)
        assert shown == i18n.gettext(lang, english), (path, shown)
        assert not PYDANTIC.search(shown), (path, shown)
        if lang == "ur":
            assert shown != english, (path, shown)  # it has its Urdu
    assert world["runtime"].market.order_count() == before
    # the API keeps its own words, naming the field by its code name
    api = amina.get(f"/api/v1/explorer/addresses/{address}?page=0")
    assert api.status_code == 422 and api.json()["error"]["field"] == "page"


def test_a_login_link_with_a_long_return_page_opens_the_login_page(
    world: dict[str, Any],
) -> None:
    """Where a login returns is one of our pages or none: a long one is ignored, as an unknown
    one is, not an error page."""
    visitor = httpx.Client(base_url=world["url"], timeout=60)
    for query in ("next=" + "a" * 65, "next=/market&unsent=" + "x" * 9):
        page = visitor.get(f"/login?{query}", headers=PAGE)
        assert page.status_code == 200, (query, page.text[:300])
        assert 'name="username"' in page.text


# ---------------------------------------------------------------- 2. request keys


@pytest.mark.parametrize("lang", ["ur", "en"])
def test_a_malformed_request_key_on_a_market_form_names_its_rule_and_places_nothing(
    world: dict[str, Any], lang: str,
) -> None:
    amina, csrf = log_in(world["url"], "amina", PASSWORD, lang)
    market = world["runtime"].market
    before = market.order_count()
    for key in ("x" * 101, "short", "bad key!"):
        form = {"csrf_token": csrf, "side": "sell", "amount_wh": "5", "price": "0.001",
                "request_key": key}
        answer = amina.post("/market/orders", data=form, headers=PAGE, follow_redirects=True)
        assert answer.status_code == 200 and answer.url.path == "/market", (key, answer.text)
        assert said(answer.text) == i18n.gettext(lang, BAD_KEY), key
        if lang == "ur":
            assert said(answer.text) != BAD_KEY
    assert market.order_count() == before


def test_an_idempotency_key_of_101_characters_is_refused_as_one_of_7_is(
    world: dict[str, Any],
) -> None:
    amina, csrf = log_in(world["url"], "amina", PASSWORD)
    market = world["runtime"].market
    before = market.order_count()
    order = {"side": "sell", "amount_wh": 5, "price_per_wh": 1000}
    for key in ("x" * 101, "short"):
        answer = amina.post("/api/v1/orders", json=order,
                            headers={"X-CSRF-Token": csrf, "Idempotency-Key": key})
        assert answer.status_code == 422, (key, answer.text)
        assert answer.json()["error"] == {
            "code": "bad_request_key", "message": BAD_KEY, "field": "Idempotency-Key"}
    assert market.order_count() == before


# ---------------------------------------------------------------- 3. ids past SQLite's INTEGER


def test_a_delivery_or_explorer_id_of_0_or_past_sqlites_integer_is_missing(
    world: dict[str, Any],
) -> None:
    amina, _csrf = log_in(world["url"], "amina", PASSWORD)
    for delivery_id in (0, 2**63, 2**64, 10**30):
        mine = amina.get(f"/api/v1/deliveries/{delivery_id}")
        assert mine.status_code == 404, mine.text
        assert mine.json()["error"] == {"code": "no_delivery", "field": "delivery_id",
                                        "message": f"You have no delivery #{delivery_id}."}
    for kind, plural in (("order", "orders"), ("delivery", "deliveries")):
        for big in (2**63, 10**30):
            api = amina.get(f"/api/v1/explorer/{plural}/{big}")
            assert api.status_code == 404, api.text
            assert api.json()["error"]["code"] == "not_found"
            assert amina.get(f"/explorer/{kind}/{big}").status_code == 404
    top = amina.get(f"/api/v1/explorer/orders/{2**63 - 1}")  # still read: not on this chain
    assert top.status_code == 404


# ---------------------------------------------------------------- 4. bodies that are not JSON


def test_a_body_that_is_not_json_is_400_saying_why_and_where(world: dict[str, Any]) -> None:
    visitor = httpx.Client(base_url=world["url"], timeout=60)
    json_type = {"Content-Type": "application/json"}
    cut = visitor.post("/api/v1/session", content=b'{"username": "amina",', headers=json_type)
    assert cut.status_code == 400, cut.text
    error = cut.json()["error"]
    assert (error["code"], error["field"]) == ("invalid", "body")
    assert error["message"].startswith("body: not valid JSON (") and "at character" in error[
        "message"], error
    # the same kind of mistake, the same status as before
    for body in (b'{"username": "\xff"}', b'{"username": "a", "username": "b"}'):
        other = visitor.post("/api/v1/session", content=body, headers=json_type)
        assert other.status_code == 400, other.text
