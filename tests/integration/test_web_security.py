"""Security of the web API: cookies, CSRF, per-object authorisation, login rate limit, headers."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from fastapi.testclient import TestClient

from tests.integration.web_support import (
    OPERATOR_PASSWORD,
    PASSWORD,
    Resident,
    log_in,
    register,
    web_app,
)

KEY = "11" * 32


@pytest.fixture(scope="module")
def world() -> Iterator[dict[str, object]]:
    with web_app() as (runtime, _settings, app):
        operator, op_csrf = log_in(app, "operator", OPERATOR_PASSWORD)
        residents = []
        for house, name in ((1, "amina"), (2, "bilal")):
            created = register(operator, op_csrf, house, name, "http://127.0.0.1:9", KEY)
            client, csrf = log_in(app, name, PASSWORD)
            residents.append(Resident(name, str(created["address"]), house, client, csrf))
        yield {"app": app, "operator": operator, "op_csrf": op_csrf, "residents": residents,
               "runtime": runtime}


def test_login_sets_httponly_samesite_strict_cookie_and_a_fresh_id(world: dict) -> None:
    client = TestClient(world["app"])
    client.__enter__()
    client.get("/login")
    before = client.cookies.get("gs_session")
    response = client.post("/api/v1/session", json={"username": "amina", "password": PASSWORD})
    cookie = response.headers["set-cookie"]
    assert "HttpOnly" in cookie and "SameSite=strict" in cookie
    assert client.cookies.get("gs_session") not in (None, before)


def test_logout_invalidates_the_session(world: dict) -> None:
    client, csrf = log_in(world["app"], "amina", PASSWORD)
    sid = client.cookies.get("gs_session")
    assert client.delete("/api/v1/session", headers={"X-CSRF-Token": csrf}).status_code == 204
    stale = TestClient(world["app"], cookies={"gs_session": sid})
    assert stale.get("/api/v1/me").status_code == 401


def test_security_headers_forbid_inline_script(world: dict) -> None:
    response = world["operator"].get("/login")
    csp = response.headers["content-security-policy"]
    assert "script-src 'self'" in csp and "unsafe-inline" not in csp
    assert response.headers["x-frame-options"] == "DENY"
    assert response.headers["x-content-type-options"] == "nosniff"


@pytest.mark.parametrize("token", [None, "wrong"])
def test_state_changing_api_calls_without_csrf_are_refused(world: dict, token: str | None) -> None:
    amina: Resident = world["residents"][0]
    headers = {} if token is None else {"X-CSRF-Token": token}
    calls = [
        ("POST", "/api/v1/orders", {"side": "sell", "amount_wh": 5, "price_per_wh": 10}),
        ("POST", "/api/v1/orders/1/take", {"amount_wh": 1}),
        ("DELETE", "/api/v1/orders/1", None),
        ("POST", "/api/v1/me/key-export", {"password": PASSWORD}),
        ("DELETE", "/api/v1/session", None),
    ]
    for method, url, body in calls:
        response = amina.client.request(method, url, json=body, headers=headers)
        assert response.status_code == 403, (method, url, response.text)
        assert response.json()["error"]["code"] == "csrf"
    op_calls = [
        ("POST", "/api/v1/households/1/top-up", {"coins": 5}),
        ("PUT", "/api/v1/market/mechanism", {"mechanism": "bulletin"}),
    ]
    for method, url, body in op_calls:
        response = world["operator"].request(method, url, json=body, headers=headers)
        assert response.status_code == 403, (method, url)


def test_page_forms_without_csrf_are_refused(world: dict) -> None:
    amina: Resident = world["residents"][0]
    forms = [
        ("/market/orders", {"side": "sell", "amount_wh": "5", "price": "1", "minutes": "60"}),
        ("/market/orders/1/take", {"amount_wh": "1"}),
        ("/market/orders/1/cancel", {}),
        ("/account/export", {"password": PASSWORD}),
        ("/logout", {}),
    ]
    for url, data in forms:
        response = amina.client.post(url, data=data, follow_redirects=False)
        assert response.status_code == 403, url
    response = world["operator"].post("/operator/top-up", data={"house_id": "1", "coins": "1"})
    assert response.status_code == 403


def test_a_resident_cannot_act_on_another_residents_order(world: dict) -> None:
    amina, bilal = world["residents"]
    placed = amina.client.post(
        "/api/v1/orders", json={"side": "sell", "amount_wh": 5, "price_per_wh": 10**15},
        headers={"X-CSRF-Token": amina.csrf},
    )
    assert placed.status_code == 201, placed.text
    order_id = placed.json()["id"]
    cancel = bilal.client.delete(f"/api/v1/orders/{order_id}",
                                 headers={"X-CSRF-Token": bilal.csrf})
    assert cancel.status_code in (403, 404)
    form = bilal.client.post(f"/market/orders/{order_id}/cancel",
                             data={"csrf_token": bilal.csrf}, follow_redirects=False)
    assert form.status_code in (403, 404)
    mine = amina.client.delete(f"/api/v1/orders/{order_id}", headers={"X-CSRF-Token": amina.csrf})
    assert mine.status_code == 204


def test_residents_cannot_use_operator_endpoints_that_take_ids(world: dict) -> None:
    amina: Resident = world["residents"][0]
    h = {"X-CSRF-Token": amina.csrf}
    assert amina.client.post("/api/v1/households/2/top-up", json={"coins": 1},
                             headers=h).status_code == 403
    assert amina.client.get("/api/v1/households").status_code == 403
    assert amina.client.get("/operator", follow_redirects=False).status_code == 403


def test_the_sixth_failed_login_within_a_minute_gets_429(world: dict) -> None:
    client = TestClient(world["app"])
    codes = [
        client.post("/api/v1/session", json={"username": "bilal", "password": f"nope{i}"}
                    ).status_code
        for i in range(6)
    ]
    assert codes == [401] * 5 + [429]
    right = client.post("/api/v1/session", json={"username": "bilal", "password": PASSWORD})
    assert right.status_code == 429


def test_key_export_needs_the_password_again(world: dict) -> None:
    bilal: Resident = world["residents"][1]
    h = {"X-CSRF-Token": bilal.csrf}
    wrong = bilal.client.post("/api/v1/me/key-export", json={"password": "not it!!"}, headers=h)
    assert wrong.status_code == 400 and wrong.json()["error"]["field"] == "password"
    right = bilal.client.post("/api/v1/me/key-export", json={"password": PASSWORD}, headers=h)
    assert right.status_code == 200
    from eth_account import Account

    assert Account.from_key(right.json()["private_key"]).address == bilal.address
