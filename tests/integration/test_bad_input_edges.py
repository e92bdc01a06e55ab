"""Bad input at the edges gets a clear error naming the field, and loses nothing.

Through the real app, embedded chain and database: order ids past uint256 or not written
in ASCII digits, request keys freed by a refusal made before anything was sent, non-ASCII
digits in the market form and the explorer, wrong passwords at key export, the contract's
own field names, and storage slots past 2**256 - 1 on /rpc.
"""

from __future__ import annotations

import re
import time
from collections.abc import Iterator
from typing import Any

import pytest
from eth_abi.exceptions import ValueOutOfBounds
from fastapi.testclient import TestClient

from gridshare.domain import Balances, Wei
from gridshare.web.errors import ApiError
from gridshare.web.render import parse_coins
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

PRICE = 10**15
TOO_BIG = (2**256, 10**80)


@pytest.fixture(scope="module")
def world() -> Iterator[dict[str, Any]]:
    """The app with three funded residents: amina sells, bilal buys, chloe tries passwords."""
    with web_app() as (runtime, _settings, app):
        operator, op_csrf = log_in(app, "operator", OPERATOR_PASSWORD)
        residents = register_residents(
            app, operator, op_csrf, ("amina", "bilal", "chloe"), "33" * 32
        )
        yield {"app": app, "runtime": runtime, **residents}


def quiet_twin(world: dict[str, Any], resident: Resident) -> TestClient:
    """A client on the resident's session that answers a crash with its 500, not a raise."""
    twin = TestClient(world["app"], raise_server_exceptions=False)
    twin.cookies.update(resident.client.cookies)
    return twin


def flash(resident: Resident) -> str:
    return resident.client.get("/market").text


# ---------------------------------------------------------------- 1. order ids past uint256


def test_taking_an_order_id_past_uint256_is_404_naming_order_id(world: dict[str, Any]) -> None:
    bilal: Resident = world["bilal"]
    before = counts(world, bilal)
    for order_id in TOO_BIG:
        headers = {"X-CSRF-Token": bilal.csrf, "Idempotency-Key": f"too-big-{order_id % 997}"}
        for _ in range(2):  # the key is not left unfinished by the refusal
            taken = bilal.client.post(
                f"/api/v1/orders/{order_id}/take", json={"amount_wh": 1}, headers=headers
            )
            assert taken.status_code == 404, taken.text
            assert taken.json()["error"] == {
                "code": "no_order", "message": f"There is no order #{order_id}.",
                "field": "order_id",
            }  # fmt: skip
        form = {"csrf_token": bilal.csrf, "amount_wh": "1", "request_key": "form-too-big-1"}
        posted = bilal.client.post(f"/market/orders/{order_id}/take", data=form,
                                   follow_redirects=False)  # fmt: skip
        assert posted.status_code == 404, posted.text
        assert posted.json()["error"]["field"] == "order_id"
    assert counts(world, bilal) == before


def test_an_id_in_a_path_is_read_only_as_ascii_digits(world: dict[str, Any]) -> None:
    """Pydantic's lax int read "+7", "7.0" and " 7" as order 7, and "0_7" as 7 too (so
    "1_0" was order 10): such a path now names the id and changes nothing."""
    bilal: Resident = world["bilal"]
    order_id = offer(world)
    before = counts(world, bilal)
    rule = "must be a whole number written with the digits 0-9"
    for spelled in (f"+{order_id}", f"{order_id}.0", f"%20{order_id}", f"0_{order_id}"):
        taken = bilal.client.post(f"/api/v1/orders/{spelled}/take", json={"amount_wh": 1},
                                  headers={"X-CSRF-Token": bilal.csrf})  # fmt: skip
        assert taken.status_code == 422, (spelled, taken.text)
        assert taken.json()["error"] == {
            "code": "invalid", "message": f"order_id: {rule}", "field": "order_id"}
        form = {"csrf_token": bilal.csrf, "amount_wh": "1", "request_key": f"spelled-{spelled}"}
        posted = bilal.client.post(f"/market/orders/{spelled}/take", data=form,
                                   follow_redirects=False)  # fmt: skip
        assert posted.status_code == 422, (spelled, posted.text)
        explorer = bilal.client.get(f"/api/v1/explorer/orders/{spelled}")
        assert explorer.json()["error"]["field"] == "order_id", (spelled, explorer.text)
    assert counts(world, bilal) == before
    leading_zero = bilal.client.get(f"/api/v1/explorer/orders/0{order_id}")
    assert leading_zero.status_code != 422, leading_zero.text  # digits all the same


# ---------------------------------------------------------------- 2. keys freed by refusals


PRE_SEND_FAILURES = {
    "unencodable": (ValueOutOfBounds("Cannot be encoded in 256 bits"), 500),  # as 2**256 was
    "refused": (ApiError(404, "no_order", "There is no order #7.", "order_id"), 404),
}


@pytest.mark.parametrize("failure", PRE_SEND_FAILURES)
def test_a_failure_before_anything_is_sent_frees_the_request_key(
    world: dict[str, Any], failure: str
) -> None:
    """A failure before sending (the order read fails) leaves the key free for a retry."""
    bilal: Resident = world["bilal"]
    order_id = offer(world)
    market = world["runtime"].market
    error, status = PRE_SEND_FAILURES[failure]

    def failing(*_: object, **__: object) -> None:
        raise error

    api_headers = {"X-CSRF-Token": bilal.csrf, "Idempotency-Key": f"pre-send-{failure}-api"}
    form = {"csrf_token": bilal.csrf, "amount_wh": "3", "request_key": f"pre-send-{failure}-f"}
    path = f"/api/v1/orders/{order_id}/take"
    before = counts(world, bilal)
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(market, "order", failing)
        failed = quiet_twin(world, bilal).post(path, json={"amount_wh": 2}, headers=api_headers)
        posted = quiet_twin(world, bilal).post(
            f"/market/orders/{order_id}/take", data=form, follow_redirects=False
        )
    assert (failed.status_code, posted.status_code) == (status, status)
    assert counts(world, bilal) == before  # nothing was sent

    resent = bilal.client.post(
        f"/market/orders/{order_id}/take", data=form, follow_redirects=False
    )
    assert resent.status_code == 303
    assert "You bought " in flash(bilal)  # not "Your earlier request may not have finished"
    again = bilal.client.post(path, json={"amount_wh": 2}, headers=api_headers)
    assert again.status_code == 201, again.text  # not 409 request_unfinished
    assert world["runtime"].market.order(order_id).remaining_wh == 50 - 2 - 3


# ---------------------------------------------------------------- 3. non-ASCII digits in forms


def test_parse_coins_reads_ascii_digits_only() -> None:
    assert parse_coins("0.05") == 5 * 10**16
    assert parse_coins(" 1.") == 10**18
    for text in ("²", "1.²", "١.٥", "١", "1.٥", "+1", "-1", "1e3"):
        assert parse_coins(text) is None, text


@pytest.mark.parametrize("price", ["²", "१.५", "1.²", "١,٥"])  # Devanagari; a comma
def test_a_form_price_in_other_digits_gets_the_form_message(
    world: dict[str, Any], price: str
) -> None:
    amina: Resident = world["amina"]
    before = counts(world, amina)
    key = f"odd-digits-{len(price)}-{ord(price[-1])}"
    form = {"csrf_token": amina.csrf, "side": "sell", "amount_wh": "5", "price": price,
            "minutes": "60", "request_key": key}  # fmt: skip
    posted = amina.client.post("/market/orders", data=form, follow_redirects=False)
    assert posted.status_code == 303
    assert "Price per Wh: a number of PKR like 0.05, above 0" in flash(amina)
    assert counts(world, amina) == before


def test_a_form_in_urdu_or_arabic_digits_is_read_as_the_same_numbers(
    world: dict[str, Any],
) -> None:
    """An Urdu keyboard types ۱۰ and ۰.۰۵: the same numbers (they used to get the rule)."""
    amina: Resident = world["amina"]
    orders = world["runtime"].market.order_count()
    for amount, price, minutes in (("۱۰", "۰.۰۰۵", "۶۰"), ("١٠", "٠٫٠٠٥", "٦٠")):
        form = {"csrf_token": amina.csrf, "side": "sell", "amount_wh": amount, "price": price,
                "minutes": minutes, "request_key": f"urdu-digits-{ord(amount[0])}"}
        posted = amina.client.post("/market/orders", data=form, follow_redirects=False)
        assert posted.status_code == 303
        placed = world["runtime"].market.order(world["runtime"].market.order_count())
        assert f"Your offer #{placed.id} is posted: 10 Wh at 0.0050 PKR/Wh." in flash(amina)
        assert (placed.amount_wh, placed.price_per_wh) == (10, 5 * 10**15)
    assert world["runtime"].market.order_count() == orders + 2


# ---------------------------------------------------------------- 4. key export limit


def test_key_export_refuses_the_sixth_wrong_password_within_a_minute(
    world: dict[str, Any],
) -> None:
    """Like login: 429 naming `password`, even for the right one; page and API alike."""
    chloe: Resident = world["chloe"]
    headers = {"X-CSRF-Token": chloe.csrf}
    codes = [
        chloe.client.post(
            "/api/v1/me/key-export", json={"password": f"wrong {i}!"}, headers=headers
        ).status_code
        for i in range(6)
    ]
    assert codes == [400] * 5 + [429]
    right = chloe.client.post("/api/v1/me/key-export", json={"password": PASSWORD},
                              headers=headers)  # fmt: skip
    assert right.status_code == 429
    error = right.json()["error"]
    assert (error["code"], error["field"]) == ("too_many_attempts", "password")
    assert re.fullmatch(r"Too many wrong passwords; wait \d+ s\.", error["message"])
    assert 0 < int(right.headers["retry-after"]) <= 60
    assert "private_key" not in right.text

    page = chloe.client.post("/account/export",
                             data={"password": PASSWORD, "csrf_token": chloe.csrf})  # fmt: skip
    assert page.status_code == 429
    assert "Too many wrong passwords" in page.text

    bilal: Resident = world["bilal"]  # per user: others may still export
    theirs = bilal.client.post("/api/v1/me/key-export", json={"password": PASSWORD},
                               headers={"X-CSRF-Token": bilal.csrf})  # fmt: skip
    assert theirs.status_code == 200
    assert theirs.headers["cache-control"] == "no-store"  # the answer is a private key
    relogin = TestClient(world["app"]).post(
        "/api/v1/session", json={"username": "chloe", "password": PASSWORD}
    )
    assert relogin.status_code == 200  # key export failures do not lock the login


def test_the_key_export_page_counts_wrong_passwords_too(world: dict[str, Any]) -> None:
    amina: Resident = world["amina"]
    for _ in range(5):
        wrong = amina.client.post(
            "/account/export", data={"password": "not it!!", "csrf_token": amina.csrf}
        )
        assert wrong.status_code == 400
    refused = amina.client.post("/api/v1/me/key-export", json={"password": PASSWORD},
                                headers={"X-CSRF-Token": amina.csrf})  # fmt: skip
    assert refused.status_code == 429


# ---------------------------------------------------------------- 5. the contract's field names


def test_a_buy_the_contract_refuses_names_amount_wh(world: dict[str, Any]) -> None:
    """A race the service's own check missed: the contract's refusal names the request field."""
    bilal: Resident = world["bilal"]
    order_id = offer(world, amount_wh=10**6, price=10**18)  # 10**6 coins; bilal has 1000
    market = world["runtime"].market
    plenty = Balances(Wei(10**40), Wei(0), Wei(0))  # what a racing request saw a moment ago
    headers = {"X-CSRF-Token": bilal.csrf, "Idempotency-Key": "race-refused-1"}
    before = counts(world, bilal)
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(market, "balances", lambda _account: plenty)
        taken = bilal.client.post(f"/api/v1/orders/{order_id}/take",
                                  json={"amount_wh": 10**6}, headers=headers)  # fmt: skip
        bought = bilal.client.post(
            "/api/v1/orders", headers={"X-CSRF-Token": bilal.csrf},
            json={"side": "buy", "amount_wh": 10**6, "price_per_wh": 10**18},
        )  # fmt: skip
    for refused in (taken, bought):
        assert refused.status_code == 409, refused.text
        error = refused.json()["error"]
        assert (error["code"], error["field"]) == ("insufficient_balance", "amount_wh")
    assert counts(world, bilal) == before


# ---------------------------------------------------------------- 6. explorer block refs


def wait_for_block(client: TestClient, number: int, timeout: float = 30) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if client.get(f"/api/v1/explorer/blocks/{number}").status_code == 200:
            return
        time.sleep(0.05)
    raise AssertionError(f"block {number} was not indexed")


def test_explorer_block_refs_are_ascii_numbers_or_hashes(world: dict[str, Any]) -> None:
    client: TestClient = world["amina"].client
    wait_for_block(client, 1)
    for ref in ("abc", "-1", "1e3", "0x12", "١", "%201", "1%20", "²", "+1"):
        found = client.get(f"/api/v1/explorer/blocks/{ref}")
        assert found.status_code == 422, (ref, found.text)
        error = found.json()["error"]
        assert (error["code"], error["field"]) == ("invalid", "ref")
        assert "block number" in error["message"] and "64 hex digits" in error["message"]
    block = client.get("/api/v1/explorer/blocks/1").json()
    assert client.get(f"/api/v1/explorer/blocks/{block['hash']}").json()["number"] == 1
    for beyond in ("99999999", "1" + "0" * 30):
        missing = client.get(f"/api/v1/explorer/blocks/{beyond}")
        assert missing.status_code == 404 and missing.json()["error"]["code"] == "not_found"
    assert client.get("/explorer/block/²").status_code == 404  # was a 500
    assert client.get("/explorer/block/١").status_code == 404  # was block 1
    for query in ("²", "١", "block ١", "house ١"):
        searched = client.get("/api/v1/explorer/search", params={"q": query})
        assert searched.status_code == 200 and searched.json()["candidates"] == [], query


# ---------------------------------------------------------------- 7. /rpc quantities


def test_rpc_storage_slot_past_uint256_is_invalid_params(world: dict[str, Any]) -> None:
    client: TestClient = world["amina"].client
    market = world["runtime"].market.address
    for slot in (hex(2**300), hex(2**256)):
        reply = client.post("/rpc", json={
            "jsonrpc": "2.0", "id": 1, "method": "eth_getStorageAt",
            "params": [market, slot, "latest"]})  # fmt: skip
        assert reply.status_code == 200
        error = reply.json()["error"]
        assert error["code"] == -32602, error
        assert "position" in error["message"] and "2**256 - 1" in error["message"]
    top = client.post("/rpc", json={"jsonrpc": "2.0", "id": 2, "method": "eth_getStorageAt",
                                    "params": [market, hex(2**256 - 1), "latest"]})  # fmt: skip
    assert top.json()["result"] == "0x" + "00" * 32


# ---------------------------------------------------------------- numbers past Python's limit


def test_a_number_too_long_for_python_to_read_is_named_not_called_bad_json(
    world: dict[str, Any],
) -> None:
    """4,301 digits pass JSON but not Python's int limit: the answer used to say the body
    was not UTF-8 JSON. Now it says what is wrong, and nothing is placed."""
    amina: Resident = world["amina"]
    before = counts(world, amina)
    body = '{"side": "sell", "amount_wh": 1' + "0" * 4300 + ', "price_per_wh": 1000}'
    reply = amina.client.post("/api/v1/orders", content=body, headers={
        "X-CSRF-Token": amina.csrf, "content-type": "application/json"})
    assert reply.status_code == 400, reply.text
    error = reply.json()["error"]
    assert error["field"] == "body"
    assert "a number in it has more than 4,300 digits" in error["message"]
    assert counts(world, amina) == before


def test_the_operator_is_told_it_does_not_trade(world: dict[str, Any]) -> None:
    """It used to be told to sign in its own wallet (MetaMask), which it has no reason to."""
    operator, csrf = log_in(world["app"], "operator", OPERATOR_PASSWORD)
    reply = operator.post("/api/v1/orders", headers={"X-CSRF-Token": csrf},
                          json={"side": "sell", "amount_wh": 5, "price_per_wh": PRICE})
    assert reply.status_code == 403, reply.text
    assert reply.json()["error"]["code"] == "not_a_household"


@pytest.mark.parametrize(("body", "content_type", "said"), [
    ("side=sell&amount_wh=5", "application/x-www-form-urlencoded",
     "send a JSON object with Content-Type: application/json (this request's is "
     "application/x-www-form-urlencoded)"),
    ('{"side": "sell", "amount_wh": 5, "price_per_wh": 9}', "text/plain",
     "send a JSON object with Content-Type: application/json (this request's is text/plain)"),
    ("[1, 2]", "application/json", "must be a JSON object ({...}), not an array"),
])
def test_a_body_that_is_no_json_object_is_told_why(
    world: dict[str, Any], body: str, content_type: str, said: str
) -> None:
    """It used to read "Input should be a valid dictionary or object to extract fields from"."""
    amina: Resident = world["amina"]
    before = counts(world, amina)
    reply = amina.client.post("/api/v1/orders", content=body, headers={
        "X-CSRF-Token": amina.csrf, "content-type": content_type})
    assert reply.status_code == 422, reply.text
    assert reply.json()["error"]["field"] == "body"
    assert said in reply.json()["error"]["message"]
    assert counts(world, amina) == before
