"""Wei in the API's answers are decimal strings, and a price may be sent as one: a JavaScript
client reads a JSON number past 2**53 rounded (99999999999999999999 wei became 1e20) and
cannot write one exactly. The real app, chain and database."""

from __future__ import annotations

from fastapi.testclient import TestClient

from tests.integration.web_support import OPERATOR_PASSWORD, PASSWORD, log_in, register, web_app

EXACT = "123456789012345678901"  # wei per Wh: more digits than a double holds


def test_prices_and_balances_travel_as_exact_decimal_strings() -> None:
    with web_app(market_engine=False) as (_runtime, _settings, app):
        operator, op_csrf = log_in(app, "operator", OPERATOR_PASSWORD)
        register(operator, op_csrf, 1, "amina", "http://127.0.0.1:9", "33" * 32)
        amina, csrf = log_in(app, "amina", PASSWORD)
        headers = {"X-CSRF-Token": csrf}

        placed = amina.post("/api/v1/orders", headers=headers,
                            json={"side": "sell", "amount_wh": 5, "price_per_wh": EXACT})
        assert placed.status_code == 201, placed.text
        assert placed.json()["price_per_wh"] == EXACT
        as_number = amina.post("/api/v1/orders", headers=headers,
                               json={"side": "sell", "amount_wh": 5, "price_per_wh": 7})
        assert as_number.json()["price_per_wh"] == "7"  # a JSON integer is still taken
        listed = {o["id"]: o for o in amina.get("/api/v1/me/orders").json()}
        assert listed[placed.json()["id"]]["price_per_wh"] == EXACT

        balances = amina.get("/api/v1/me").json()["balances"]
        assert balances == {"available": str(1000 * 10**18), "locked": "0", "escrowed": "0"}
        info = TestClient(app).get("/api/v1/market").json()  # type: ignore[arg-type]
        assert info["max_price_per_wh"] == str(10**24)

        for bad in ("12a", "-5", " 5", "0", "1" + "0" * 24 + "1"):
            refused = amina.post("/api/v1/orders", headers=headers,
                                 json={"side": "sell", "amount_wh": 5, "price_per_wh": bad})
            assert refused.status_code == 422, (bad, refused.text)
            assert refused.json()["error"]["field"] == "price_per_wh"
        for long, rule in (("0" * 80 + "1", "at most 80 digits"), ("1" * 5000, "at most 80")):
            refused = amina.post("/api/v1/orders", headers=headers,
                                 json={"side": "sell", "amount_wh": 5, "price_per_wh": long})
            assert refused.status_code == 422 and rule in refused.json()["error"]["message"]
        assert len(amina.get("/api/v1/me/orders").json()) == 2  # the refused placed nothing

        spec = amina.get("/openapi.json").json()["components"]["schemas"]
        assert spec["BalancesView"]["properties"]["available"]["type"] == "string"
        assert {"type": "string", "pattern": "^[0-9]+$", "maxLength": 80} in (
            spec["NewOrder"]["properties"]["price_per_wh"]["anyOf"])
