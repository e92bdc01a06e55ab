"""The operator page's flagged deliveries say which houses they are between (seller → buyer),
so the operator knows which meters to go and look at: the list used to give only the delivery
number; and the meters the engine cannot use are listed with their house and why. The real
app, chain and database; the engine's flag and its meters' failures are set through the
context as the engine would report them."""

from __future__ import annotations

import html
import re

from gridshare.services.backoff import MeterBackoff
from tests.integration.web_support import OPERATOR_PASSWORD, PASSWORD, log_in, register, web_app


def test_a_flagged_delivery_names_the_seller_and_buyer_house() -> None:
    with web_app() as (_runtime, _settings, app):
        operator, op_csrf = log_in(app, "operator", OPERATOR_PASSWORD)
        register(operator, op_csrf, 3, "amina", "http://127.0.0.1:9", "33" * 32)
        register(operator, op_csrf, 7, "bilal", "http://127.0.0.1:9", "44" * 32)
        amina, amina_csrf = log_in(app, "amina", PASSWORD)
        bilal, bilal_csrf = log_in(app, "bilal", PASSWORD)
        offer = amina.post("/api/v1/orders", json={"side": "sell", "amount_wh": 20,
                                                   "price_per_wh": 10**12},
                           headers={"X-CSRF-Token": amina_csrf})  # fmt: skip
        assert offer.status_code == 201, offer.text
        taken = bilal.post(f"/api/v1/orders/{offer.json()['id']}/take", json={"amount_wh": 20},
                           headers={"X-CSRF-Token": bilal_csrf})  # fmt: skip
        assert taken.status_code == 201, taken.text
        delivery_id = taken.json()["id"]
        app.state.web.engine_flags = lambda: {delivery_id: "meter_silent"}  # type: ignore[attr-defined]

        page = operator.get("/operator").text
    row = re.search(rf'<tr data-flagged="{delivery_id}">(.*?)</tr>', page, re.S)
    assert row is not None, page
    cells = re.findall(r"<td>(.*?)</td>", row.group(1))
    assert cells[1] == "House 3 → House 7"
    assert cells[-1] == "A meter fell silent; settled on its last report"


def test_a_meter_the_engine_cannot_use_is_listed_with_its_house_and_why() -> None:
    """A meter refusing every command was only in the server's log; its deliveries showed
    "pending" with no word why."""
    backoff = MeterBackoff()
    reason = ("delivery 4: not started yet: meter answered 401: counter: replayed or out of"
              " order")
    for _ in range(3):
        backoff.failed(3, reason)
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
    assert html.unescape(cells[3]) == reason


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
