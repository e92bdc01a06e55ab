"""What residents see on the pages, through the real app: private pages are never cached (Back
after logout on a shared phone), the meter's last contact is a time of day and not a Unix
epoch, a reading the meter did not give is "—" and not "None", the community's count of
trades today has a label, and a refused login keeps the username typed."""

from __future__ import annotations

import html
import re
import shutil
import sqlite3
from collections.abc import Iterator
from typing import Any

import pytest
from fastapi.testclient import TestClient

from gridshare.storage.households import HouseholdRecord
from gridshare.web.schemas import MeterReading
from tests.integration.web_support import OPERATOR_PASSWORD, PASSWORD, log_in, register, web_app

KEY = "11" * 32
EPOCH = 1796027523  # the raw number residents saw on My meter
PRIVATE = ("/market", "/account", "/account/export", "/meter", "/community")


class FixedReadings:
    """Stands in for the ReadingCache: house 1's meter answered its status but the simulator's
    /sim/house read failed, so solar, load and battery are missing (as in the report)."""

    def reading(self, record: HouseholdRecord) -> MeterReading:
        return MeterReading(
            house_id=record.house_id, reachable=True, voltage_mv=230_120, current_ma=1_500,
            power_mw=345_000, relay_closed=True, last_contact=EPOCH,
        )

    def get(self, record: HouseholdRecord, timeout: float = 1.5) -> MeterReading:
        return self.reading(record)

    def many(self, records: list[HouseholdRecord], timeout: float = 1.0) -> list[MeterReading]:
        return [self.reading(r) for r in records]


@pytest.fixture(scope="module")
def world() -> Iterator[dict[str, Any]]:
    with web_app() as (_runtime, _settings, app):
        operator, op_csrf = log_in(app, "operator", OPERATOR_PASSWORD)
        register(operator, op_csrf, 1, "amina", "http://127.0.0.1:9", KEY)
        app.state.web.readings = FixedReadings()  # type: ignore[attr-defined]
        amina, csrf = log_in(app, "amina", PASSWORD)
        yield {"app": app, "operator": operator, "amina": amina, "csrf": csrf}


def test_pages_for_a_logged_in_user_are_no_store_and_public_ones_need_not_be(
    world: dict[str, Any]
) -> None:
    for path in PRIVATE:
        response = world["amina"].get(path)
        assert response.status_code == 200, (path, response.text)
        assert response.headers.get("cache-control") == "no-store", path
    operator = world["operator"].get("/operator")
    assert operator.status_code == 200 and operator.headers.get("cache-control") == "no-store"
    anonymous = TestClient(world["app"])
    for path in ("/login", "/explorer"):
        response = anonymous.get(path)
        assert response.status_code == 200, path
        assert "no-store" not in response.headers.get("cache-control", ""), path


def test_after_logout_the_account_page_is_not_shown_again(world: dict[str, Any]) -> None:
    client, csrf = log_in(world["app"], "amina", PASSWORD)
    assert client.get("/account").headers["cache-control"] == "no-store"
    client.post("/logout", data={"csrf_token": csrf}, follow_redirects=False)
    again = client.get("/account", follow_redirects=False)
    assert again.status_code in (302, 303, 401) and "Available" not in again.text


@pytest.mark.parametrize("lang", ["en", "ur"])
def test_meter_last_contact_is_a_time_of_day_not_a_unix_epoch(
    world: dict[str, Any], lang: str
) -> None:
    client: TestClient = world["amina"]
    client.get(f"/lang/{lang}?next=/meter")
    try:
        page = client.get("/meter").text
    finally:
        client.get("/lang/en?next=/meter")
    contact = re.search(r'<time data-field="last_contact"[^>]*>([^<]*)</time>', page)
    assert contact is not None, page
    assert contact.group(1) == "08:32:03 UTC"  # 1796027523 is 2026-11-30 08:32:03 UTC
    assert f">{EPOCH}<" not in page
    assert f'data-epoch="{EPOCH}"' in page  # kept for app.js


def test_meter_values_the_meter_did_not_give_are_a_dash_not_none(world: dict[str, Any]) -> None:
    page = world["amina"].get("/meter").text
    for field in ("soc_permille", "pv_w", "load_w"):
        assert f'<span data-field="{field}"' in page
        value = re.search(rf'<span data-field="{field}"[^>]*>([^<]*)</span>', page)
        assert value is not None and value.group(1) == "—", field
    assert ">230.12<" in page and ">1.50<" in page and ">345.0<" in page  # given ones, 2 places
    assert "None" not in page


def test_community_shows_a_dash_for_missing_values_and_labels_todays_trades(
    world: dict[str, Any]
) -> None:
    page = world["amina"].get("/community").text
    row = re.search(r"<tr><td>1</td>(.*?)</tr>", page)
    assert row is not None, page
    cells = re.findall(r"<td>([^<]*)</td>", row.group(1))
    assert cells[:3] == ["—", "—", "—"], cells  # solar W, load W, battery %: not None None 0.0
    assert "None" not in page
    assert re.search(r'Trades today: <b id="trades-today">0</b>', page), page
    assert re.search(r"Wh \(\d+\)", page) is None


PAGE = {"accept": "text/html,application/xhtml+xml,*/*;q=0.8"}  # what a browser asks for


def test_a_browser_gets_a_page_for_an_error_and_the_api_keeps_its_json(
    world: dict[str, Any],
) -> None:
    """A resident met raw JSON for a mistyped address, GET /logout, the operator page, and a
    logout from a page that was out of date (logged in again in another tab)."""
    amina: TestClient = world["amina"]
    cases = [
        ("GET", "/nope", {}, 404, "There is no page at this address."),
        ("GET", "/logout", {}, 405, "This address is for a form on a page; nothing was done."),
        ("GET", "/operator", {}, 403, None),
        ("POST", "/logout", {"csrf_token": "from-an-old-tab"}, 403,
         "This page was out of date, so nothing was done. Go back, reload it and try again."),
    ]  # fmt: skip
    for method, path, form, status, words in cases:
        shown = amina.request(method, path, data=form or None, headers=PAGE)
        assert shown.status_code == status, (path, shown.text[:200])
        assert shown.headers["content-type"].startswith("text/html"), path
        message = re.search(r'<p id="error-message">([^<]*)</p>', shown.text)
        assert message is not None, (path, shown.text[:300])
        if words is not None:
            assert message.group(1) == html.escape(words, quote=True), path
        assert '<a href="/market">' in shown.text  # a way back
        assert "content-security-policy" in shown.headers, path
        if status == 405:
            assert shown.headers.get("allow") == "POST"
        api = amina.request(method, path, data=form or None)  # no text/html: the API's JSON
        assert api.status_code == status and api.json()["error"]["code"], path
    assert amina.get("/api/v1/me").status_code == 200  # the stale logout did not log out
    missing = amina.get("/api/v1/nope", headers=PAGE)  # the API answers JSON to anyone
    assert missing.status_code == 404 and missing.json()["error"]["code"] == "not_found"


def test_pages_and_scripts_are_gzipped_for_the_village_wifi(world: dict[str, Any]) -> None:
    amina: TestClient = world["amina"]
    for path in ("/market", "/static/app.js", "/vendor/uPlot.iife.min.js"):
        shown = amina.get(path, headers={"accept-encoding": "gzip"})
        assert shown.status_code == 200, path
        assert shown.headers.get("content-encoding") == "gzip", path
        wire = int(shown.headers.get("content-length", "0"))
        assert 0 < wire < len(shown.content) / 2, (path, wire, len(shown.content))


def test_a_full_disk_is_said_plainly_and_a_low_one_is_shown_to_the_operator(
    world: dict[str, Any], monkeypatch: pytest.MonkeyPatch
) -> None:
    """A full disk used to be a bare 500 ("Something went wrong"), with health still "ok";
    then a 503 that the server still raised again after answering (a traceback per refused
    write in the log, the connection dropped): this test client would raise it."""
    app, amina, operator = world["app"], world["amina"], world["operator"]
    healthy = amina.get("/api/v1/health").json()
    assert healthy["status"] == "ok" and healthy["disk_free_bytes"] > 0
    assert 'id="disk-low"' not in operator.get("/operator").text

    def full(*_: object, **__: object) -> None:
        raise sqlite3.OperationalError("database or disk is full")

    chain = app.state.runtime.chain.embedded  # the chain cannot write its next block
    monkeypatch.setattr(chain, "send_raw_transaction", full)
    phone = TestClient(app)  # the answer a phone gets; an error raised again would raise here
    csrf = phone.post("/api/v1/session", json={"username": "amina", "password": PASSWORD})
    refused = phone.post("/api/v1/orders", headers={"X-CSRF-Token": csrf.json()["csrf_token"]},
                         json={"side": "sell", "amount_wh": 5, "price_per_wh": 10**15})
    assert refused.status_code == 503, refused.text
    assert refused.json()["error"] == {"code": "disk_full", "field": None, "message": (
        "The server's disk is full, so nothing was changed. Tell the operator.")}  # fmt: skip
    form = phone.get("/market").text  # the same from the market page's form, in a browser
    token = re.search(r'name="csrf_token" value="([^"]+)"', form)
    assert token is not None
    shown = phone.post("/market/orders", headers=PAGE, data={
        "csrf_token": token.group(1), "side": "sell", "amount_wh": "5", "price": "0.5",
        "minutes": "60"})  # fmt: skip
    assert "The server&#39;s disk is full, so nothing was changed." in shown.text
    # the outbox cannot record the operator's top-up: SQLite's own error, not the chain's
    monkeypatch.setattr(app.state.runtime.outbox, "_sign_record_broadcast", full)
    desk = TestClient(app)
    op_csrf = desk.post("/api/v1/session", json={"username": "operator",
                                                 "password": OPERATOR_PASSWORD})
    topped = desk.post("/api/v1/households/1/top-up", json={"coins": 5},
                       headers={"X-CSRF-Token": op_csrf.json()["csrf_token"]})
    assert (topped.status_code, topped.json()["error"]["code"]) == (503, "disk_full")
    assert desk.get("/api/v1/me").status_code == 200  # the same connection goes on

    # what the file system answers when 50 MB are left
    usage = shutil.disk_usage("/")
    monkeypatch.setattr(shutil, "disk_usage", lambda _p: usage._replace(free=50 * 2**20))
    assert amina.get("/api/v1/health").json()["status"] == "disk_low"
    assert "The data disk has only 50 MB free." in operator.get("/operator").text


def test_a_refused_login_keeps_the_username_and_asks_only_for_the_password(
    world: dict[str, Any],
) -> None:
    """A mistyped password emptied both fields, so on a phone the resident typed the username
    again each time; it comes back as typed (escaped), the password field empty and focused."""
    visitor = TestClient(world["app"])
    token = re.search(r'name="csrf_token" value="([^"]+)"', visitor.get("/login").text)
    assert token is not None
    for typed in ("amina", 'amina"><b>'):
        refused = visitor.post("/login", data={
            "username": typed, "password": "not it", "csrf_token": token.group(1)})
        assert refused.status_code == 401, refused.text[:300]
        assert "Wrong username or password." in refused.text
        field = re.search(r'<input name="username"[^>]* value="([^"]*)">', refused.text)
        assert field is not None and html.unescape(field.group(1)) == typed
        password = re.search(r'<input name="password"[^>]*>', refused.text)
        assert password is not None and "value=" not in password.group(0)
        assert "autofocus" in password.group(0)
    assert "<b>" not in refused.text
    fresh = visitor.get("/login").text  # a first visit: both empty, nothing focused
    assert re.search(r'<input name="username"[^>]* value="">', fresh) and "autofocus" not in fresh
