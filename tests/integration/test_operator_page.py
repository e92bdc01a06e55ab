"""The operator page's flagged deliveries say which houses they are between (seller → buyer),
so the operator knows which meters to go and look at: the list used to give only the delivery
number. The real app, chain and database; the engine's flag is its own report of a silent
meter, set through the context as the engine would."""

from __future__ import annotations

import re

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
