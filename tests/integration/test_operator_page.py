"""The operator page's flagged deliveries say which houses they are between (seller → buyer),
so the operator knows which meters to go and look at: the list used to give only the delivery
number; and the meters the engine cannot use are listed with their house and why. The real
app, chain and database; the engine's flag and its meters' failures are set through the
context as the engine would report them. A household on the chain that the database lost
(restored from an older copy) is listed and can be registered again."""

from __future__ import annotations

import html
import re
import sqlite3
import time
from pathlib import Path

import pytest
from eth_account import Account

from gridshare.domain import Side
from gridshare.runtime import DATABASE
from gridshare.services.backoff import MeterBackoff
from tests.integration.web_support import (
    OPERATOR_PASSWORD,
    PASSWORD,
    log_in,
    register,
    trade,
    web_app,
)


def test_a_flagged_delivery_names_the_seller_and_buyer_house() -> None:
    with web_app() as (_runtime, _settings, app):
        operator, op_csrf = log_in(app, "operator", OPERATOR_PASSWORD)
        register(operator, op_csrf, 3, "amina", "http://127.0.0.1:9", "33" * 32)
        register(operator, op_csrf, 7, "bilal", "http://127.0.0.1:9", "44" * 32)
        delivery_id = trade(log_in(app, "amina", PASSWORD), log_in(app, "bilal", PASSWORD))
        app.state.web.engine_flags = lambda: {delivery_id: "meter_silent"}  # type: ignore[attr-defined]

        page = operator.get("/operator").text
    row = re.search(rf'<tr data-flagged="{delivery_id}">(.*?)</tr>', page, re.S)
    assert row is not None, page
    cells = re.findall(r"<td>(.*?)</td>", row.group(1))
    assert cells[1] == "House 3 → House 7"
    assert cells[-1] == "A meter fell silent; settled on its last report"


def test_a_meter_the_engine_cannot_use_is_listed_with_its_house_and_why() -> None:
    """A meter refusing every command was only in the server's log; its deliveries showed
    "pending" with no word why. The row says what to check; the engine's words are kept
    under it (test_meter_troubles.py has a real meter refusing the key)."""
    backoff = MeterBackoff()
    reason = ("delivery 4: not started yet: meter answered 401: counter: replayed or out of"
              " order")
    for _ in range(3):
        backoff.failed(3, reason, "counter_behind")
    with web_app() as (_runtime, _settings, app):
        operator, op_csrf = log_in(app, "operator", OPERATOR_PASSWORD)
        register(operator, op_csrf, 3, "amina", "http://127.0.0.1:9", "33" * 32)
        register(operator, op_csrf, 7, "bilal", "http://127.0.0.1:9", "44" * 32)
        assert 'id="meter-troubles"' not in operator.get("/operator").text
        app.state.web.meter_troubles = backoff.troubles  # type: ignore[attr-defined]
        page = operator.get("/operator").text
    rows = re.findall(r'<tr data-meter="(\d+)">(.*?)</tr>', page, re.S)
    assert [meter for meter, _ in rows] == ["3"]
    cells = re.findall(r"<td>(.*?)</td>", rows[0][1])
    assert cells[0].startswith("House 3 · ") and cells[2] == "3 failed tries in a row"
    said = re.fullmatch(r'<span class="said">(.*?)</span><details><summary>What the server'
                        r" saw</summary><code>(.*?)</code></details>", html.unescape(cells[3]))
    assert said is not None, cells[3]
    assert said.groups() == (
        "House 3's meter answers but refuses the server's command counter, as it has obeyed a"
        " later one: set the server's clock right; if it is right, put the meter's counters"
        " back (docs/meters.md).", reason)


def test_the_operator_page_in_urdu_says_its_forms_and_messages_in_urdu() -> None:
    """An Urdu-reading operator got the page's headings, form labels and what its forms said
    back ("House 3 is stopped: …") in English inside a right-to-left page."""
    with web_app() as (_runtime, _settings, app):
        operator, op_csrf = log_in(app, "operator", OPERATOR_PASSWORD)
        register(operator, op_csrf, 3, "amina", "http://127.0.0.1:9", "33" * 32)
        operator.cookies.set("gs_lang", "ur")
        stopped = operator.post("/operator/households/3/active", follow_redirects=False,
                                data={"active": "false", "csrf_token": op_csrf})
        assert stopped.status_code == 303
        page = html.unescape(operator.get("/operator").text)
    assert 'dir="rtl"' in page
    flash = re.search(r'<p class="flash" role="status">(.*?)</p>', page, re.S)
    assert flash is not None, page
    assert flash.group(1) == ("گھر 3 روک دیا گیا: جب تک آپ دوبارہ اجازت نہ دیں یہ تجارت نہیں"
                              " کر سکتا۔")
    for urdu in ("خزانہ:", "<h2>تمام گھر</h2>", "<h2>میٹر تبدیل کریں</h2>", "میٹر کا پتہ (URL)",
                 "میٹر کی کلید (hex)", "(میٹر 3)", ">مسلسل نیلامی</option>"):
        assert urdu in page, urdu
    for english in ("Treasury", "Households", "Change a meter", "Meter URL", "Meter id",
                    "Wallet address", "is stopped", ">Save<", ">continuous<"):
        assert english not in page, english


def test_the_operator_forms_take_the_digits_an_urdu_keyboard_types() -> None:
    """The number fields are text fields now (Chromium's type=number dropped ۰-۹ and ٠-٩):
    the server reads those digits as the numbers they are, and a bad number still names
    its field."""
    with web_app() as (_runtime, _settings, app):
        operator, op_csrf = log_in(app, "operator", OPERATOR_PASSWORD)
        made = operator.post("/operator/households", data={
            "csrf_token": op_csrf, "name": "Amina", "username": "amina", "password": PASSWORD,
            "house_id": "۳", "meter_id": "٣", "meter_url": "http://127.0.0.1:9",
            "meter_key": "33" * 32, "top_up_coins": "۱۲"})  # fmt: skip
        assert made.status_code == 200 and "amina" in made.text, made.text[:300]
        page = operator.get("/operator").text
        row = re.search(r'<tr data-house="3"><td>3 · Amina</td><td>12.00</td>', page)
        assert row is not None, page
        key = re.search(r'action="/operator/top-up".*?name="request_key" value="([^"]+)"',
                        page, re.S)  # fmt: skip
        assert key is not None
        topped = operator.post("/operator/top-up", follow_redirects=False, data={
            "csrf_token": op_csrf, "house_id": "3", "coins": "٥", "request_key": key.group(1)})
        assert topped.status_code == 303
        assert '<td>3 · Amina</td><td>17.00</td>' in operator.get("/operator").text
        refused = operator.post("/operator/top-up", data={
            "csrf_token": op_csrf, "house_id": "3", "coins": "۰", "request_key": "x" * 20},
            headers={"accept": "text/html"})  # fmt: skip
        assert "Top up: a whole number from 1 to 1,000,000,000." in refused.text


def _copy_database(source: Path, target: Path) -> None:
    """A copy through SQLite's backup API, whole and consistent (write-ahead log included)."""
    with sqlite3.connect(source) as reading, sqlite3.connect(target) as writing:
        reading.backup(writing)


@pytest.mark.parametrize("meter_id", [7, 9], ids=["same meter", "meter changed"])
def test_a_household_the_database_lost_is_listed_and_registered_again_with_its_own_account(
    tmp_path: Path, meter_id: int,
) -> None:
    """A restore from a database copy older than the chain's left a household on the chain
    with no login and its house id taken, and nothing said so. Now /operator lists it, fills
    the register form in for it, and registering it again with its own account (signed in
    the resident's wallet with the recovery phrase) records it, as the chain has it (stopped
    by the operator, here): it can log in, and trade once the operator lets it."""
    with web_app(tmp_path) as (_runtime, _settings, app):
        operator, op_csrf = log_in(app, "operator", OPERATOR_PASSWORD)
        register(operator, op_csrf, 3, "amina", "http://127.0.0.1:9", "33" * 32)
    _copy_database(tmp_path / DATABASE, tmp_path / "older.sqlite")  # before bilal came
    with web_app(tmp_path) as (_runtime, _settings, app):
        operator, op_csrf = log_in(app, "operator", OPERATOR_PASSWORD)
        created = register(operator, op_csrf, 7, "bilal", "http://127.0.0.1:9", "44" * 32)
        stopped = operator.post("/operator/households/7/active", follow_redirects=False,
                                data={"active": "false", "csrf_token": op_csrf})
        assert stopped.status_code == 303  # the operator had stopped it before the restore
    address, phrase = str(created["address"]), str(created["recovery_phrase"])
    _copy_database(tmp_path / "older.sqlite", tmp_path / DATABASE)  # the restore

    with web_app(tmp_path) as (runtime, _settings, app):
        operator, op_csrf = log_in(app, "operator", OPERATOR_PASSWORD)
        page = operator.get("/operator").text
        rows = re.findall(r'<tr data-unrecorded="(\d+)">(.*?)</tr>', page, re.S)
        assert [(house, address in row, "stopped" in row) for house, row in rows] == [
            ("7", True, True)]
        assert Account.from_mnemonic(phrase).address == address  # the wallet's key

        form = operator.get("/operator?record=7").text
        for name, value in (("house_id", "7"), ("meter_id", "7"), ("wallet_address", address)):
            assert re.search(rf'name="{name}"[^>]*value="{value}"', form), name
        elsewhere = operator.post("/api/v1/households", headers={"X-CSRF-Token": op_csrf}, json={
            "name": "Bilal", "username": "bilal2", "password": PASSWORD, "house_id": 8,
            "meter_id": 8, "meter_url": "http://127.0.0.1:9", "meter_key": "55" * 32,
            "wallet_address": address})
        assert elsewhere.status_code == 409, elsewhere.text  # not as another house
        assert elsewhere.json()["error"]["field"] == "wallet_address"

        sent = runtime.chain.w3.eth.get_transaction_count(runtime.operator.address)
        again = operator.post("/operator/households", data={
            "csrf_token": op_csrf, "name": "Bilal", "username": "bilal2", "password": PASSWORD,
            "house_id": "7", "meter_id": str(meter_id), "meter_url": "http://127.0.0.1:9",
            "meter_key": "44" * 32, "wallet_address": address, "top_up_coins": "0"})
        assert again.status_code == 200 and "bilal2" in again.text, again.text
        assert 'id="unrecorded"' not in operator.get("/operator").text
        # nothing to send for the same meter; a new meter id is registered, then stopped again
        assert runtime.chain.w3.eth.get_transaction_count(runtime.operator.address) == (
            sent if meter_id == 7 else sent + 2)
        bilal, _csrf = log_in(app, "bilal2", PASSWORD)
        me = bilal.get("/api/v1/me").json()["user"]
        assert (me["address"], me["house_id"], me["holds_key"]) == (address, 7, False)
        assert bilal.get("/operator?record=7").status_code == 403  # the operator's alone
        household = runtime.market.household(address)
        assert household is not None and not household.active  # still stopped
        assert household.meter_id == meter_id
        let = operator.post("/operator/households/7/active", follow_redirects=False,
                            data={"active": "true", "csrf_token": op_csrf})
        assert let.status_code == 303
        wallet = Account.from_mnemonic(phrase)  # what the resident's MetaMask signs with
        offer = runtime.market.place_order(wallet, Side.SELL, 10, 10**12, int(time.time()) + 600)
        mine = bilal.get("/api/v1/me/orders").json()
        assert [order["id"] for order in mine] == [offer.id]


def _typed(page: str, form: str) -> dict[str, str]:
    """The values a form on `page` is drawn with: each input's value, a select's choice."""
    found = re.search(rf'<form [^>]*id="{form}">(.*?)</form>', page, re.S)
    assert found is not None, page
    inputs = re.findall(r'<input name="(\w+)"([^>]*)>', found.group(1))
    values = {name: html.unescape(m.group(1)) if (m := re.search(r'value="([^"]*)"', rest))
              else "" for name, rest in inputs}
    chosen = re.search(r'<option value="(\d+)" selected>', found.group(1))
    return {**values, **({"house_id": chosen.group(1)} if chosen else {})}


def test_a_refused_operator_form_comes_back_filled_in_but_for_the_password() -> None:
    """A registration refused by the server (a username taken, a URL without http://) drew
    the form empty: the operator typed all nine fields again, the meter's 64-digit key
    among them. A refused Change a meter came back with the first house chosen, so typing
    the address again and saving moved that house's meter. Now the next page fills each
    form in as it was sent, once, and never with the resident's password."""
    with web_app(market_engine=False) as (_runtime, _settings, app):
        operator, op_csrf = log_in(app, "operator", OPERATOR_PASSWORD)
        register(operator, op_csrf, 3, "amina", "http://127.0.0.1:9", "33" * 32)
        register(operator, op_csrf, 7, "bilal", "http://127.0.0.1:9", "44" * 32)
        sent = {"name": "Chanda", "username": "amina", "house_id": "9", "meter_id": "9",
                "meter_url": "http://192.168.1.29", "meter_key": "5a" * 32,
                "wallet_address": "", "top_up_coins": "250"}
        refused = operator.post("/operator/households",
                                data={**sent, "password": PASSWORD, "csrf_token": op_csrf})
        assert "That username is taken." in refused.text
        assert _typed(refused.text, "register-form") == {**sent, "password": ""}
        again = operator.get("/operator").text  # shown once
        assert _typed(again, "register-form")["meter_key"] == ""

        moved = {"house_id": "7", "meter_url": "192.168.1.27", "meter_key": "6b" * 32}
        refused = operator.post("/operator/meter", data={**moved, "csrf_token": op_csrf})
        assert "Meter URL: must be http://host" in html.unescape(refused.text)
        assert _typed(refused.text, "meter-form") == moved
        assert _typed(operator.get("/operator").text, "meter-form") == {
            "meter_url": "", "meter_key": ""}  # shown once: none chosen, the list's first
