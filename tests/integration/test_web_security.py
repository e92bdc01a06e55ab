"""Security of the web API: cookies, CSRF, per-object authorisation, login rate limit, headers.

The CSRF and authorisation tables are checked against the app's own router: a new route that
changes state, or that takes an id, fails these tests until it is added to a table (and so
gets tested).
"""

from __future__ import annotations

import json
import re
import time
from collections.abc import Iterator
from typing import Any

import pytest
from fastapi.routing import APIRoute, iter_route_contexts
from fastapi.testclient import TestClient
from pydantic import BaseModel

from tests.integration.web_support import (
    OPERATOR_PASSWORD,
    PASSWORD,
    Resident,
    log_in,
    register,
    web_app,
)

KEY = "11" * 32
STATE_CHANGING = {"POST", "PUT", "PATCH", "DELETE"}
PRICE = 10**15

# Routes that change state without a CSRF token, and why that is safe (each reason is tested).
CSRF_EXEMPT = {
    "POST /rpc": "public JSON-RPC: reads no session; takes only transactions signed by the sender",
    "POST /api/v1/session": "JSON-only login: a cross-site form cannot send a JSON body",
    "POST /api/v1/session/recovery": "JSON-only, like the login: it needs the recovery phrase",
}

ANONYMOUS_FORMS = {"POST /login", "POST /recover"}  # their token is an anonymous session's

# Every route that takes an id (path parameter, or an `*_id` field), by who may use it on what.
OWNER_ONLY = {  # another resident gets 403/404 and the object is untouched
    "GET /api/v1/deliveries/{delivery_id}",
    "DELETE /api/v1/orders/{order_id}",
    "POST /market/orders/{order_id}/cancel",
}
TAKE = {  # the board is public: any household takes another's order, as itself, never its own
    "POST /api/v1/orders/{order_id}/take",
    "POST /market/orders/{order_id}/take",
}
OPERATOR_ONLY = {  # a resident gets 403 and nothing changes
    "POST /api/v1/households",
    "POST /api/v1/households/{house_id}/top-up",
    "POST /operator/households",
    "POST /operator/top-up",
    "PUT /api/v1/households/{house_id}/meter",
    "POST /operator/meter",
    "PUT /api/v1/households/{house_id}/active",
    "POST /operator/households/{house_id}/active",
    "PUT /api/v1/households/{house_id}/password",
    "POST /operator/password",
}
PUBLIC = {  # no account's private data: the same answer with or without a session
    "GET /lang/{code}",
    "GET /vendor/{name}",
    "GET /explorer/static/{name}",
    # the explorer shows chain data, which anyone reads at /rpc (eth_getLogs) anyway
    "GET /explorer/block/{ref}",
    "GET /explorer/tx/{tx_hash}",
    "GET /explorer/address/{address}",
    "GET /explorer/order/{order_id}",
    "GET /explorer/delivery/{delivery_id}",
    "GET /api/v1/explorer/blocks/{ref}",
    "GET /api/v1/explorer/txs/{tx_hash}",
    "GET /api/v1/explorer/addresses/{address}",
    "GET /api/v1/explorer/orders/{order_id}",
    "GET /api/v1/explorer/deliveries/{delivery_id}",
}


def app_routes(app: Any) -> list[tuple[str, str, APIRoute]]:
    """(method, path, route) for every method of every route the app serves."""
    found = []
    for context in iter_route_contexts(app.routes):
        route = context.original_route
        if isinstance(route, APIRoute):
            found += [(m, str(context.path), route) for m in sorted(context.methods or ())]
    return found


def input_names(route: APIRoute) -> tuple[set[str], set[str]]:
    """(path parameters, query/body/form fields) of a route, its dependencies' included."""
    path: set[str] = set()
    fields: set[str] = set()
    pending = [route.dependant]
    while pending:
        dependant = pending.pop()
        pending += dependant.dependencies
        path |= {p.name for p in dependant.path_params}
        for param in [*dependant.query_params, *dependant.body_params]:
            model = param.field_info.annotation
            if isinstance(model, type) and issubclass(model, BaseModel):
                fields |= set(model.model_fields)
            else:
                fields.add(param.name)
    return path, fields


@pytest.fixture(scope="module")
def world() -> Iterator[dict[str, Any]]:
    with web_app() as (runtime, _settings, app):
        operator, op_csrf = log_in(app, "operator", OPERATOR_PASSWORD)
        residents, phrases = [], {}
        for house, name in ((1, "amina"), (2, "bilal"), (3, "chanda")):
            created = register(operator, op_csrf, house, name, "http://127.0.0.1:9", KEY)
            client, csrf = log_in(app, name, PASSWORD)
            residents.append(Resident(name, str(created["address"]), house, client, csrf))
            phrases[name] = str(created["recovery_phrase"])
        yield {"app": app, "operator": operator, "op_csrf": op_csrf, "residents": residents,
               "runtime": runtime, "phrases": phrases}


def place(resident: Resident, wh: int = 5, side: str = "sell") -> int:
    placed = resident.client.post(
        "/api/v1/orders", json={"side": side, "amount_wh": wh, "price_per_wh": PRICE},
        headers={"X-CSRF-Token": resident.csrf},
    )
    assert placed.status_code == 201, placed.text
    return int(placed.json()["id"])


@pytest.fixture(scope="module")
def delivery(world: dict[str, Any]) -> dict[str, Any]:
    """Amina sold 2 Wh to Bilal (he took her offer); the engine is following the delivery."""
    amina, bilal, _ = world["residents"]
    order_id = place(amina)
    taken = bilal.client.post(f"/api/v1/orders/{order_id}/take", json={"amount_wh": 2},
                              headers={"X-CSRF-Token": bilal.csrf})
    assert taken.status_code == 201, taken.text
    found = taken.json()
    deadline = time.monotonic() + 30
    while bilal.client.get(f"/api/v1/deliveries/{found['id']}").status_code != 200:
        assert time.monotonic() < deadline, "the engine never picked up the delivery"
        time.sleep(0.2)
    return {"id": found["id"], "order_id": order_id, "view": found}


def wait_indexed(client: TestClient, timeout: float = 30) -> None:
    """Until the explorer's background indexer has reached the chain's head."""
    deadline = time.monotonic() + timeout
    while True:
        summary = client.get("/api/v1/explorer/summary").json()
        indexed = summary["indexed_block"]
        if indexed is not None and indexed >= summary["head_block"]:
            return
        assert time.monotonic() < deadline, f"the explorer never indexed up to {summary}"
        time.sleep(0.05)


def state(world: dict[str, Any]) -> tuple[object, ...]:
    """Everything a forged request could change: orders, deliveries, balances, households and
    their meters, the mechanism, the users and their passwords, and whether each resident's
    session is still alive."""
    runtime, ctx = world["runtime"], world["app"].state.web
    market = runtime.market
    orders = [market.order(i) for i in range(1, market.order_count() + 1)]
    return (
        orders, market.delivery_count(),
        [market.balances(r.address) for r in world["residents"]],
        [market.household(r.address) for r in world["residents"]],  # registered, active
        [(h.house_id, h.meter_url, h.meter_key_hex) for h in ctx.households.all()],
        ctx.mechanism,
        [(u.username, u.password_hash) for u in ctx.users.all()],
        [r.client.get("/api/v1/me").status_code for r in world["residents"]],
    )


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


def forged_requests(world: dict[str, Any], order_id: int) -> dict[str, tuple[Any, str, dict]]:
    """For every CSRF-protected route: (client, URL, a request that would succeed with the
    token). Form posts carry their token in `data`, API calls in the X-CSRF-Token header."""
    amina, bilal, _ = world["residents"]
    op = world["operator"]
    new_house = {"name": "House 9", "username": "forged", "password": PASSWORD, "house_id": 9,
                 "meter_id": 9, "meter_url": "http://127.0.0.1:9", "meter_key": KEY,
                 "top_up_coins": 1}
    other = "auction" if world["app"].state.web.mechanism != "auction" else "continuous"
    return {
        "POST /api/v1/orders": (amina.client, "/api/v1/orders", {
            "json": {"side": "sell", "amount_wh": 5, "price_per_wh": PRICE}}),
        "POST /api/v1/orders/{order_id}/take": (
            bilal.client, f"/api/v1/orders/{order_id}/take", {"json": {"amount_wh": 1}}),
        "DELETE /api/v1/orders/{order_id}": (amina.client, f"/api/v1/orders/{order_id}", {}),
        "POST /api/v1/me/key-export": (
            amina.client, "/api/v1/me/key-export", {"json": {"password": PASSWORD}}),
        "DELETE /api/v1/session": (amina.client, "/api/v1/session", {}),
        "POST /api/v1/households": (op, "/api/v1/households", {"json": new_house}),
        "POST /api/v1/households/{house_id}/top-up": (
            op, "/api/v1/households/1/top-up", {"json": {"coins": 5}}),
        "PUT /api/v1/market/mechanism": (
            op, "/api/v1/market/mechanism", {"json": {"mechanism": other}}),
        "PUT /api/v1/households/{house_id}/meter": (
            op, "/api/v1/households/1/meter", {"json": {"meter_url": "http://10.9.9.9"}}),
        "POST /operator/meter": (op, "/operator/meter", {"data": {
            "house_id": "1", "meter_url": "http://10.9.9.9"}}),
        "PUT /api/v1/households/{house_id}/active": (
            op, "/api/v1/households/1/active", {"json": {"active": False}}),
        "POST /operator/households/{house_id}/active": (
            op, "/operator/households/1/active", {"data": {"active": "false"}}),
        "PUT /api/v1/households/{house_id}/password": (
            op, "/api/v1/households/1/password", {"json": {"new_password": "forged one!"}}),
        "POST /operator/password": (op, "/operator/password", {"data": {
            "house_id": "1", "new_password": "forged one!"}}),
        "POST /market/orders": (amina.client, "/market/orders", {"data": {
            "side": "sell", "amount_wh": "5", "price": "0.001", "minutes": "60"}}),
        "POST /market/orders/{order_id}/take": (
            bilal.client, f"/market/orders/{order_id}/take", {"data": {"amount_wh": "1"}}),
        "POST /market/orders/{order_id}/cancel": (
            amina.client, f"/market/orders/{order_id}/cancel", {"data": {}}),
        "POST /account/export": (amina.client, "/account/export",
                                 {"data": {"password": PASSWORD}}),
        "PUT /api/v1/me/password": (amina.client, "/api/v1/me/password", {"json": {
            "password": PASSWORD, "new_password": "a forged new one"}}),
        "POST /account/password": (amina.client, "/account/password", {"data": {
            "password": PASSWORD, "new_password": "a forged new one",
            "new_password_again": "a forged new one"}}),
        "POST /logout": (amina.client, "/logout", {"data": {}}),
        "POST /operator/households": (op, "/operator/households", {"data": {
            k: str(v) for k, v in new_house.items()}}),
        "POST /operator/top-up": (op, "/operator/top-up", {"data": {"house_id": "1",
                                                                   "coins": "5"}}),
        "POST /operator/mechanism": (op, "/operator/mechanism", {"data": {"mechanism": other}}),
        "POST /login": (TestClient(world["app"]), "/login", {"data": {
            "username": "chanda", "password": PASSWORD}}),
        "POST /recover": (TestClient(world["app"]), "/recover", {"data": {
            "username": "chanda", "recovery_phrase": world["phrases"]["chanda"],
            "new_password": "a forged new one", "new_password_again": "a forged new one"}}),
    }


@pytest.mark.parametrize("token", [None, "wrong"])
def test_every_state_changing_route_refuses_a_missing_or_wrong_csrf_token(
    world: dict, token: str | None
) -> None:
    order_id = place(world["residents"][0])
    forged = forged_requests(world, order_id)
    routes = {f"{m} {p}" for m, p, _ in app_routes(world["app"]) if m in STATE_CHANGING}
    assert routes == set(forged) | set(CSRF_EXEMPT), (
        "state-changing routes not in the CSRF table", routes - set(forged) - set(CSRF_EXEMPT))
    before = state(world)
    for name, (client, url, request) in forged.items():
        method = name.split()[0]
        if name in ANONYMOUS_FORMS:
            client.get(url)  # an anonymous session, with its own token, as a browser has
        if "data" in request:
            data = dict(request["data"])
            if token is not None:
                data["csrf_token"] = token
            response = client.request(method, url, data=data, follow_redirects=False)
        else:
            headers = {} if token is None else {"X-CSRF-Token": token}
            response = client.request(method, url, headers=headers, follow_redirects=False,
                                      **request)
        if name.startswith("POST /market/"):  # a market form: the page again, with a message
            assert response.status_code == 303, (name, response.status_code, response.text[:200])
            assert response.headers["location"] == "/market"
            assert "This page was out of date, so nothing was sent." in client.get("/market").text
            continue
        assert response.status_code == 403, (name, response.status_code, response.text[:200])
        if name in ANONYMOUS_FORMS:  # a page: the form again, and still not logged in
            assert client.get("/api/v1/me").status_code == 401
        else:
            assert response.json()["error"]["code"] == "csrf", (name, response.text)
    assert state(world) == before


def test_the_login_form_logs_in_with_its_token(world: dict) -> None:
    """The control for the CSRF refusal above: the same form post with the page's token works."""
    client = TestClient(world["app"])
    page = client.get("/login")
    match = re.search(r'name="csrf_token" value="([^"]+)"', page.text)
    assert match is not None
    response = client.post("/login", data={"username": "chanda", "password": PASSWORD,
                                           "csrf_token": match.group(1)},
                           follow_redirects=False)
    assert response.status_code == 303 and response.headers["location"] == "/market"
    assert client.get("/api/v1/me").json()["user"]["username"] == "chanda"


def test_csrf_exempt_routes_are_safe_without_a_token(world: dict) -> None:
    assert set(CSRF_EXEMPT) <= {f"{m} {p}" for m, p, _ in app_routes(world["app"])}
    amina: Resident = world["residents"][0]
    # /rpc: amina's session cookie unlocks no account; only signed raw transactions go through
    sent = amina.client.post("/rpc", json={
        "jsonrpc": "2.0", "id": 1, "method": "eth_sendTransaction",
        "params": [{"from": amina.address, "to": amina.address, "value": "0x1"}]})
    assert "error" in sent.json() and "result" not in sent.json()
    # login: a cross-site form can send urlencoded, multipart or text/plain, never JSON
    client = TestClient(world["app"])
    credentials = {"username": "amina", "password": PASSWORD}
    form = client.post("/api/v1/session", data=credentials)
    text = client.post("/api/v1/session", headers={"content-type": "text/plain"},
                       content=json.dumps(credentials))
    assert (form.status_code, text.status_code) == (422, 422)
    assert client.get("/api/v1/me").status_code == 401


def test_every_route_taking_an_id_is_in_the_authorisation_table(world: dict) -> None:
    taking_ids = set()
    for method, path, route in app_routes(world["app"]):
        in_path, fields = input_names(route)
        if in_path or any(f.endswith("_id") for f in fields):
            taking_ids.add(f"{method} {path}")
    table = OWNER_ONLY | TAKE | OPERATOR_ONLY | PUBLIC
    assert taking_ids == table, ("missing", taking_ids - table, "stale", table - taking_ids)


def test_another_resident_gets_403_or_404_on_what_is_not_theirs(
    world: dict, delivery: dict
) -> None:
    amina, bilal, chanda = world["residents"]
    order_id = place(amina)
    attempts = {
        "GET /api/v1/deliveries/{delivery_id}": lambda r: r.client.get(
            f"/api/v1/deliveries/{delivery['id']}"),
        "DELETE /api/v1/orders/{order_id}": lambda r: r.client.delete(
            f"/api/v1/orders/{order_id}", headers={"X-CSRF-Token": r.csrf}),
        "POST /market/orders/{order_id}/cancel": lambda r: r.client.post(
            f"/market/orders/{order_id}/cancel", data={"csrf_token": r.csrf},
            follow_redirects=False),
    }
    assert set(attempts) == OWNER_ONLY
    before = state(world)
    for name, attempt in attempts.items():
        for stranger in (bilal, chanda):
            if name.startswith("GET /api/v1/deliveries") and stranger is bilal:
                continue  # bilal bought that delivery: it is his
            response = attempt(stranger)
            assert response.status_code in (403, 404), (name, stranger.username, response.text)
    assert state(world) == before
    # the owners do see their delivery, and the operator does too
    url = f"/api/v1/deliveries/{delivery['id']}"
    for client in (amina.client, bilal.client, world["operator"]):
        shown = client.get(url)
        assert shown.status_code == 200 and shown.json()["amount_wh"] == 2
    assert amina.client.delete(f"/api/v1/orders/{order_id}",
                               headers={"X-CSRF-Token": amina.csrf}).status_code == 204


def test_taking_an_order_acts_as_the_taker_and_never_on_ones_own(
    world: dict, delivery: dict
) -> None:
    amina, bilal, _ = world["residents"]
    market = world["runtime"].market
    made = market.delivery(delivery["id"])
    assert (made.buyer.lower(), made.seller.lower()) == (bilal.address.lower(),
                                                         amina.address.lower())
    order_id = place(amina)
    count = market.delivery_count()
    api = amina.client.post(f"/api/v1/orders/{order_id}/take", json={"amount_wh": 1},
                            headers={"X-CSRF-Token": amina.csrf})
    assert api.status_code == 400 and api.json()["error"]["code"] == "own_order"
    page = amina.client.post(f"/market/orders/{order_id}/take",
                             data={"amount_wh": "1", "csrf_token": amina.csrf},
                             follow_redirects=False)
    assert page.status_code == 303
    assert market.delivery_count() == count
    assert market.order(order_id).remaining_wh == 5
    assert {"POST /api/v1/orders/{order_id}/take", "POST /market/orders/{order_id}/take"} == TAKE


def test_a_resident_cannot_use_operator_routes(world: dict) -> None:
    amina: Resident = world["residents"][0]
    h = {"X-CSRF-Token": amina.csrf}
    house = {"name": "House 8", "username": "sneaky", "password": PASSWORD, "house_id": 8,
             "meter_id": 8, "meter_url": "http://127.0.0.1:9", "meter_key": KEY,
             "top_up_coins": 5}
    attempts = {
        "POST /api/v1/households": lambda: amina.client.post(
            "/api/v1/households", json=house, headers=h),
        "POST /api/v1/households/{house_id}/top-up": lambda: amina.client.post(
            "/api/v1/households/1/top-up", json={"coins": 5}, headers=h),
        "POST /operator/households": lambda: amina.client.post(
            "/operator/households", data={**{k: str(v) for k, v in house.items()},
                                          "csrf_token": amina.csrf}, follow_redirects=False),
        "POST /operator/top-up": lambda: amina.client.post(
            "/operator/top-up", data={"house_id": "1", "coins": "5",
                                      "csrf_token": amina.csrf}, follow_redirects=False),
        "PUT /api/v1/households/{house_id}/meter": lambda: amina.client.put(
            "/api/v1/households/2/meter", json={"meter_url": "http://10.9.9.9"}, headers=h),
        "POST /operator/meter": lambda: amina.client.post(
            "/operator/meter", data={"house_id": "2", "meter_url": "http://10.9.9.9",
                                     "csrf_token": amina.csrf}, follow_redirects=False),
        "PUT /api/v1/households/{house_id}/active": lambda: amina.client.put(
            "/api/v1/households/2/active", json={"active": False}, headers=h),
        "POST /operator/households/{house_id}/active": lambda: amina.client.post(
            "/operator/households/2/active", data={"active": "false", "csrf_token": amina.csrf},
            follow_redirects=False),
        "PUT /api/v1/households/{house_id}/password": lambda: amina.client.put(
            "/api/v1/households/2/password", json={"new_password": "taken over!"}, headers=h),
        "POST /operator/password": lambda: amina.client.post(
            "/operator/password", data={"house_id": "2", "new_password": "taken over!",
                                        "csrf_token": amina.csrf}, follow_redirects=False),
    }
    assert set(attempts) == OPERATOR_ONLY
    before = state(world)
    for name, attempt in attempts.items():
        response = attempt()
        assert response.status_code == 403, (name, response.status_code, response.text)
        # a form sent is refused as an act, not a page read ("may see this" it said)
        assert "may see this" not in response.text, (name, response.text)
    assert state(world) == before
    assert amina.client.get("/api/v1/households").status_code == 403
    assert amina.client.get("/operator", follow_redirects=False).status_code == 403


def test_public_routes_answer_the_same_with_or_without_a_session(
    world: dict, delivery: dict
) -> None:
    amina: Resident = world["residents"][0]
    anonymous = TestClient(world["app"])
    order, made, house = delivery["order_id"], delivery["id"], amina.address
    urls = {
        "GET /lang/{code}": "/lang/ur?next=/market",
        "GET /vendor/{name}": "/vendor/uPlot.min.css",
        "GET /explorer/static/{name}": "/explorer/static/explorer.css",
        "GET /explorer/block/{ref}": "/explorer/block/1",
        "GET /explorer/tx/{tx_hash}": "/explorer/tx/0x" + "ab" * 32,
        "GET /explorer/address/{address}": f"/explorer/address/{house}",
        "GET /explorer/order/{order_id}": f"/explorer/order/{order}",
        "GET /explorer/delivery/{delivery_id}": f"/explorer/delivery/{made}",
        "GET /api/v1/explorer/blocks/{ref}": "/api/v1/explorer/blocks/1",
        "GET /api/v1/explorer/txs/{tx_hash}": "/api/v1/explorer/txs/0x" + "ab" * 32,
        "GET /api/v1/explorer/addresses/{address}": f"/api/v1/explorer/addresses/{house}",
        "GET /api/v1/explorer/orders/{order_id}": f"/api/v1/explorer/orders/{order}",
        "GET /api/v1/explorer/deliveries/{delivery_id}": f"/api/v1/explorer/deliveries/{made}",
    }
    assert set(urls) == PUBLIC
    wait_indexed(anonymous)  # else the first look can miss what the indexer adds next
    for name, url in urls.items():
        mine = amina.client.get(url, follow_redirects=False)
        theirs = anonymous.get(url, follow_redirects=False)
        assert mine.status_code == theirs.status_code, name
        assert theirs.status_code not in (401, 403), name


def test_the_sixth_failed_login_within_a_minute_gets_429(world: dict) -> None:
    # Keep this test last but one: the limit also counts the test client's address, so any
    # login after it within a minute is refused too.
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
