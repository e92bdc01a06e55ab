"""A market form sent after the session ended comes back filled in after logging in again.

Over real HTTP (uvicorn on loopback, httpx as the phone's browser): the session ends while
the market page is open (a logout in another tab, or a restart: a cookie the server no longer
knows), the resident sends the Sell form, lands on the login page, logs in again, and is on
the market page with the form as sent and a message that nothing was sent. Before, the form
was empty. The values never appear in a URL; another resident logging in on that phone with
that form's id, or the same resident from another browser, sees nothing.
"""

from __future__ import annotations

import html
import re
from collections.abc import Iterator
from typing import Any

import httpx
import pytest

from gridshare.web.page_login import LOGGED_OUT
from gridshare.web.unsent_forms import UNSENT_BACK
from tests.integration.web_support import (
    OPERATOR_PASSWORD,
    PASSWORD,
    counts,
    log_in,
    offer,
    register_residents,
    web_app,
)
from tests.support.live_server import serve_in_thread

LOGIN_AGAIN = "/login?next=%2Fmarket&unsent=1"


@pytest.fixture(scope="module")
def world() -> Iterator[dict[str, Any]]:
    """The app served over HTTP, with amina and bilal registered."""
    with web_app() as (runtime, _settings, app), serve_in_thread(app) as url:
        operator, op_csrf = log_in(app, "operator", OPERATOR_PASSWORD)
        residents = register_residents(app, operator, op_csrf, ("amina", "bilal"), "55" * 32)
        yield {"app": app, "runtime": runtime, "url": url, **residents}


def phone(world: dict[str, Any]) -> httpx.Client:
    """A browser: says its posts come from the same site, as Chromium does (with `Origin:
    null`, as our no-referrer policy makes it)."""
    return httpx.Client(base_url=world["url"], timeout=60,
                        headers={"origin": "null", "sec-fetch-site": "same-origin"})


def hidden(page: str, name: str) -> str:
    found = re.search(rf'name="{name}" value="([^"]*)"', page)
    assert found is not None, f"no {name} on the page"
    return found.group(1)


def login_page_says(client: httpx.Client, location: str) -> str:
    page = client.get(location)
    assert page.status_code == 200
    return html.unescape(page.text)


def log_in_on_page(
    client: httpx.Client, username: str, login_page: str | None = None,
    unsent_form: str | None = None,
) -> httpx.Response:
    """Log in from the login page (`login_page` as shown, else a fresh one)."""
    login_page = login_page or login_page_says(client, "/login?next=/market")
    form = {"username": username, "password": PASSWORD,
            "csrf_token": hidden(login_page, "csrf_token"), "next_page": "/market"}
    if unsent_form is not None:
        form["unsent_form"] = unsent_form
    answer = client.post("/login", data=form)
    assert answer.status_code == 303, answer.text[:300]
    return answer


def form_on(page: str, form_id: str) -> str:
    form = page[page.index(f'id="{form_id}"'):]
    return form[: form.index("</form>")]


def row(page: str, order_id: int) -> str:
    """The order's row on the board, with its Take form."""
    found = page[page.index(f'<tr data-order="{order_id}">'):]
    return found[: found.index("</tr>")]


def sell_form(page: str, amount_wh: str, price: str) -> dict[str, str]:
    """The Sell form of `page` as the resident fills it in: its hidden fields and the values."""
    form = form_on(page, "sell-form")
    return {"csrf_token": hidden(form, "csrf_token"), "side": "sell",
            "account": hidden(form, "account"), "request_key": hidden(form, "request_key"),
            "amount_wh": amount_wh, "price": price, "minutes": "60"}  # fmt: skip


def market(client: httpx.Client) -> str:
    page = client.get("/market")
    assert page.status_code == 200
    return html.unescape(page.text)


def flash(page: str) -> str | None:
    found = re.search(r'<p class="flash" role="status">(.*?)</p>', page, re.S)
    return found.group(1) if found else None


def sent_after_logout(world: dict[str, Any], client: httpx.Client, username: str) -> str:
    """`username` logs in, opens the market, logs out in another tab and sends 77 Wh at
    0.045 from the page left open; the login page that follows."""
    log_in_on_page(client, username)
    old = market(client)
    form = sell_form(old, "77", "0.045")
    other_tab = client.post("/logout", data={"csrf_token": form["csrf_token"]})
    assert other_tab.status_code == 303
    assert "gs_session" not in client.cookies  # the logout ended the session
    sent = client.post("/market/orders", data=form)
    assert (sent.status_code, sent.headers["location"]) == (303, LOGIN_AGAIN)
    return login_page_says(client, sent.headers["location"])


def test_the_sell_form_comes_back_as_sent_after_logging_in_again(world: dict[str, Any]) -> None:
    client = phone(world)
    before = counts(world, world["amina"])
    log_in_on_page(client, "amina")
    old = market(client)
    form = sell_form(old, "77", "0.045")
    client.post("/logout", data={"csrf_token": form["csrf_token"]})
    sent = client.post("/market/orders", data=form)
    assert (sent.status_code, sent.headers["location"]) == (303, LOGIN_AGAIN)
    login_page = login_page_says(client, sent.headers["location"])
    assert LOGGED_OUT in login_page
    assert 'value="77"' not in login_page and "0.045" not in login_page  # only an id waits there
    back = log_in_on_page(client, "amina", login_page, hidden(login_page, "unsent_form"))
    assert back.headers["location"] == "/market"
    page = market(client)
    assert flash(page) == UNSENT_BACK
    again = form_on(page, "sell-form")
    assert 'value="77"' in again and 'value="0.045"' in again
    # a page of the new session: its token and a fresh request key, not the old page's
    assert hidden(again, "csrf_token") != form["csrf_token"]
    assert hidden(again, "request_key") != form["request_key"]
    assert counts(world, world["amina"]) == before  # nothing was placed
    assert flash(market(client)) is None  # shown once
    assert 'value="77"' not in form_on(market(client), "sell-form")


def test_a_take_form_comes_back_after_a_restart_ended_the_session(
    world: dict[str, Any],
) -> None:
    """A restart forgets every session: the browser's cookie names one the server lacks."""
    order_id = offer(world, amount_wh=9)
    client = phone(world)
    log_in_on_page(client, "bilal")
    old = market(client)
    take = row(old, order_id)
    form = {"csrf_token": hidden(take, "csrf_token"), "request_key": hidden(take, "request_key"),
            "account": hidden(take, "account"), "amount_wh": "3"}  # fmt: skip
    world["app"].state.web.sessions.delete(client.cookies["gs_session"])  # as a restart does
    sent = client.post(f"/market/orders/{order_id}/take", data=form)
    assert (sent.status_code, sent.headers["location"]) == (303, LOGIN_AGAIN)
    login_page = login_page_says(client, sent.headers["location"])
    log_in_on_page(client, "bilal", login_page, hidden(login_page, "unsent_form"))
    page = market(client)
    assert flash(page) == UNSENT_BACK
    again = row(page, order_id)
    assert 'name="amount_wh"' in again and 'value="3"' in again  # not the 9 it has left
    assert world["runtime"].market.order(order_id).remaining_wh == 9  # nothing was taken


def test_another_resident_logging_in_with_that_id_sees_nothing(world: dict[str, Any]) -> None:
    """A shared phone: amina's form waits; bilal logs in on that login page, with its id."""
    client = phone(world)
    login_page = sent_after_logout(world, client, "amina")
    form_id = hidden(login_page, "unsent_form")
    log_in_on_page(client, "bilal", login_page, form_id)
    page = market(client)
    assert flash(page) is None
    assert 'value="77"' not in form_on(page, "sell-form") and "0.045" not in page
    # and it is gone: amina logging in after him on that phone gets nothing either
    client.post("/logout", data={"csrf_token": hidden(page, "csrf_token")})
    log_in_on_page(client, "amina", unsent_form=form_id)
    assert 'value="77"' not in form_on(market(client), "sell-form")


def test_the_id_is_of_no_use_in_another_browser(world: dict[str, Any]) -> None:
    """Even with amina's password: the form waits for the browser that sent it."""
    client = phone(world)
    form_id = hidden(sent_after_logout(world, client, "amina"), "unsent_form")
    elsewhere = phone(world)
    log_in_on_page(elsewhere, "amina", unsent_form=form_id)
    page = market(elsewhere)
    assert flash(page) is None and 'value="77"' not in form_on(page, "sell-form")


def test_a_form_another_site_sent_keeps_nothing(world: dict[str, Any]) -> None:
    """A page elsewhere cannot fill a resident's form in for her to send after logging in."""
    client = phone(world)
    log_in_on_page(client, "amina")
    form = sell_form(market(client), "500", "0.0001")
    client.post("/logout", data={"csrf_token": form["csrf_token"]})
    sent = client.post("/market/orders", data=form, headers={
        "origin": "http://evil.example", "sec-fetch-site": "cross-site"})
    assert (sent.status_code, sent.headers["location"]) == (303, LOGIN_AGAIN)
    login_page = login_page_says(client, sent.headers["location"])
    assert LOGGED_OUT in login_page and "unsent_form" not in login_page


def test_a_stale_page_of_another_resident_does_not_fill_in_this_ones_form(
    world: dict[str, Any],
) -> None:
    """amina's page left open; she logs out in another tab and bilal logs in there: her form
    sent from the old page says it was out of date, and does not show bilal what she typed."""
    client = phone(world)
    log_in_on_page(client, "amina")
    form = sell_form(market(client), "77", "0.045")
    client.post("/logout", data={"csrf_token": form["csrf_token"]})
    log_in_on_page(client, "bilal")
    sent = client.post("/market/orders", data=form)
    assert (sent.status_code, sent.headers["location"]) == (303, "/market")
    page = market(client)
    assert flash(page) is not None and "out of date" in (flash(page) or "")
    assert 'value="77"' not in form_on(page, "sell-form") and "0.045" not in page


def test_a_head_of_the_market_leaves_a_refused_forms_values_and_message_for_the_get(
    world: dict[str, Any],
) -> None:
    """`curl -I`, or a phone's link preview, between the refusal and the page: the resident
    still sees what she typed and why it was refused (a HEAD is answered as a GET)."""
    client = phone(world)
    log_in_on_page(client, "amina")
    refused = client.post("/market/orders", data=sell_form(market(client), "77", "-1"))
    assert (refused.status_code, refused.headers["location"]) == (303, "/market")
    assert client.head("/market").status_code == 200
    page = market(client)
    assert flash(page) is not None and "Price per Wh" in (flash(page) or "")
    assert 'value="77"' in form_on(page, "sell-form")
    assert flash(market(client)) is None  # shown once, to the GET
