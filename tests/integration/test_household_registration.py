"""Registering a household is three writes: the resident's login, the household on chain, the
top-up. A chain failure part-way leaves no half-made household: before the house is on chain
the login is removed again; after it, or once it was sent and may still be mined, the answer
carries the recovery phrase (shown only once) and says the top-up was not made, so the
operator can make it again.

The chain's failure is injected on the market client (the node stops answering), the one
place a real server would see it; everything else is the real app, chain and database.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from typing import Any

import pytest
from fastapi.testclient import TestClient

from gridshare.chain.errors import ChainError, TransactionTimeout
from gridshare.domain import coins_to_wei
from tests.integration.web_support import OPERATOR_PASSWORD, PASSWORD, log_in, web_app

Operator = tuple[Any, TestClient, dict[str, str]]  # the app, the operator's client, CSRF header


@pytest.fixture
def operator() -> Iterator[Operator]:
    """The app and the operator's client, which gets a 500 as the phone would (no raise)."""
    with web_app() as (_runtime, _settings, app), TestClient(
        app, raise_server_exceptions=False  # type: ignore[arg-type]
    ) as client:
        login = client.post(
            "/api/v1/session", json={"username": "operator", "password": OPERATOR_PASSWORD}
        )
        assert login.status_code == 200, login.text
        yield app, client, {"X-CSRF-Token": login.json()["csrf_token"]}


def household(house_id: int, username: str, coins: int) -> dict[str, object]:
    return {
        "name": f"House {house_id}", "username": username, "password": PASSWORD,
        "house_id": house_id, "meter_id": house_id, "meter_url": "http://127.0.0.1:9",
        "meter_key": "44" * 32, "top_up_coins": coins,
    }  # fmt: skip


NODE_DOWN = ChainError("the chain node did not answer")


def register_with_node_down(
    operator: Operator,
    call: str,
    body: dict[str, object],
    error: ChainError = NODE_DOWN,
) -> Any:
    """POST /households while the market's `call` fails with `error`."""
    app, client, headers = operator

    def failing(*_: object, **__: object) -> None:
        raise error

    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(app.state.web.households.market, call, failing)
        return client.post("/api/v1/households", json=body, headers=headers)


def test_a_top_up_that_fails_after_registering_is_reported_with_the_recovery_phrase(
    operator: Operator,
) -> None:
    app, client, headers = operator
    created = register_with_node_down(operator, "deposit_for", household(3, "bilal", 25))
    assert created.status_code == 201, created.text
    assert created.headers["cache-control"] == "no-store"  # it carries the recovery phrase
    body = created.json()
    assert len(str(body["recovery_phrase"]).split()) == 12
    assert body["topped_up_coins"] == 0
    assert "registered but not topped up" in body["top_up_refused"]
    assert "did not answer" in body["top_up_refused"]
    listed = {h["house_id"]: h for h in client.get("/api/v1/households", headers=headers).json()}
    assert int(listed[3]["balances"]["available"]) == 0
    log_in(app, "bilal", PASSWORD)  # the resident's login was kept

    again = client.post("/api/v1/households/3/top-up", json={"coins": 25}, headers=headers)
    assert again.status_code == 204, again.text
    market = app.state.web.households.market
    assert market.balances(body["address"]).available == coins_to_wei(25)


def test_a_top_up_sent_but_not_confirmed_is_not_reported_as_refused(operator: Operator) -> None:
    """It may still be mined: the operator is told to check before topping up twice."""
    timeout = TransactionTimeout("no receipt for 0x12")
    created = register_with_node_down(operator, "deposit_for", household(5, "dilnaz", 7), timeout)
    assert created.status_code == 201, created.text
    assert created.json()["topped_up_coins"] == 0
    assert "sent but not confirmed" in created.json()["top_up_refused"]


def test_a_registration_the_chain_fails_leaves_no_login_and_can_be_made_again(
    operator: Operator,
) -> None:
    app, client, headers = operator
    failed = register_with_node_down(operator, "register_household", household(4, "chand", 10))
    assert failed.status_code == 503
    assert failed.json()["error"] == {
        "code": "chain_unavailable",
        "message": "The chain did not answer. Try again in a minute.",
        "field": None,
    }
    assert app.state.web.users.by_username("chand") is None
    assert 4 not in {h["house_id"] for h in client.get("/api/v1/households",
                                                        headers=headers).json()}

    retried = client.post("/api/v1/households", json=household(4, "chand", 10), headers=headers)
    assert retried.status_code == 201, retried.text
    assert retried.json()["topped_up_coins"] == 10 and retried.json()["top_up_refused"] is None


def test_the_operator_form_says_the_chain_failed_instead_of_a_500(operator: Operator) -> None:
    app, client, headers = operator
    form = {**household(6, "esi", 0), "csrf_token": headers["X-CSRF-Token"]}

    def failing(*_: object, **__: object) -> None:
        raise NODE_DOWN

    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(app.state.web.households.market, "register_household", failing)
        posted = client.post("/operator/households", data=form, follow_redirects=False)
    assert posted.status_code == 303 and posted.headers["location"] == "/operator"
    assert "The chain did not answer. Try again in a minute." in client.get("/operator").text
    assert app.state.web.users.by_username("esi") is None


def test_a_registration_sent_but_not_confirmed_keeps_the_login_and_lands_later(
    operator: Operator,
) -> None:
    """The chain mines it after the server stopped waiting: the house is the resident's."""
    app, client, headers = operator
    market = app.state.web.households.market
    sent = market.register_household

    def mined_after_the_timeout(*args: object, **kwargs: object) -> None:
        sent(*args, **kwargs)
        raise TransactionTimeout("no receipt for 0x34")

    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(market, "register_household", mined_after_the_timeout)
        created = client.post("/api/v1/households", json=household(7, "farid", 12),
                              headers=headers)
    assert created.status_code == 201, created.text
    body = created.json()
    assert len(str(body["recovery_phrase"]).split()) == 12
    assert "not confirmed yet" in body["registration_unconfirmed"]
    assert body["topped_up_coins"] == 0 and "Not topped up" in body["top_up_refused"]
    assert market.household(body["address"]) is not None  # it landed, for the kept login
    log_in(app, "farid", PASSWORD)

    again = client.post("/api/v1/households", json=household(7, "farid2", 12), headers=headers)
    assert again.status_code == 409 and again.json()["error"]["code"] == "house_taken"
    topped = client.post("/api/v1/households/7/top-up", json={"coins": 12}, headers=headers)
    assert topped.status_code == 204, topped.text
    assert market.balances(body["address"]).available == coins_to_wei(12)


def test_the_operator_form_shows_an_unconfirmed_registration_with_its_phrase(
    operator: Operator,
) -> None:
    app, client, headers = operator
    market = app.state.web.households.market
    form = {**household(8, "gulnar", 0), "csrf_token": headers["X-CSRF-Token"]}

    def timed_out(*_: object, **__: object) -> None:
        raise TransactionTimeout("no receipt for 0x56")

    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(market, "register_household", timed_out)
        page = client.post("/operator/households", data=form, follow_redirects=False)
    assert page.status_code == 200, page.text
    assert 'id="registration-unconfirmed"' in page.text and "not confirmed yet" in page.text
    assert 'id="recovery-phrase"' in page.text
    assert app.state.web.users.by_username("gulnar") is not None


def test_an_account_already_a_household_is_refused_and_nothing_changes(
    operator: Operator,
) -> None:
    """Registering a second house for a household's address would move it and give a second
    login its money; the answer is 409 naming wallet_address, and no login is made."""
    app, client, headers = operator
    first = client.post("/api/v1/households", json=household(9, "hana", 5), headers=headers)
    assert first.status_code == 201, first.text
    address = first.json()["address"]
    again = {**household(10, "imran", 0), "wallet_address": address}
    refused = client.post("/api/v1/households", json=again, headers=headers)
    assert refused.status_code == 409, refused.text
    assert refused.json()["error"] == {
        "code": "account_taken", "message": "That account is already house 9.",
        "field": "wallet_address",
    }  # fmt: skip
    assert app.state.web.users.by_username("imran") is None
    listed = {h["house_id"]: h for h in client.get("/api/v1/households", headers=headers).json()}
    assert 10 not in listed and listed[9]["account"] == address
    assert app.state.web.households.market.household(address).house_id == 9


@pytest.mark.parametrize(
    ("address", "code"),
    [("market", "contract_account"),  # the market's own address: a contract cannot sign
     ("0x0000000000000000000000000000000000000001", "reserved_account"),  # ecrecover
     ("0x000000000000000000000000000000000000dEaD", "reserved_account"),  # a burn address
     ("0x0000000000000000000000000000000000000000", "reserved_account"),
     # EIP-55's own example with its last digit mistyped: the letters' case no longer matches
     ("0x5aAeb6053F3E94C9b9A09f33669435E7Ef1BeAee", "bad_checksum")],
)
def test_an_address_no_key_signs_for_is_refused_as_a_households_wallet(
    operator: Operator, address: str, code: str
) -> None:
    """Coins topped up to an address nobody holds a key for could never be withdrawn: a
    contract (which the contract itself did not refuse), a precompile, which holds no code
    and so passed the contract check, or a mistyped address, which passed as long as it was 40
    hex digits. 400 naming wallet_address; no login, nothing on chain."""
    app, client, headers = operator
    if address == "market":
        address = client.get("/api/v1/market").json()["contract_address"]
    body = {**household(13, "nadia", 1), "wallet_address": address}
    refused = client.post("/api/v1/households", json=body, headers=headers)
    assert refused.status_code == 400, refused.text
    assert refused.json()["error"]["code"] == code
    assert refused.json()["error"]["field"] == "wallet_address"
    assert app.state.web.users.by_username("nadia") is None
    assert app.state.web.households.market.household(address) is None


@pytest.mark.parametrize("name", ["House 14", "house 14", " HOUSE 14 "])
def test_a_name_another_house_has_is_refused_whatever_its_case(
    operator: Operator, name: str
) -> None:
    app, client, headers = operator
    first = client.post("/api/v1/households", json=household(14, "omar", 0), headers=headers)
    assert first.status_code == 201, first.text
    refused = client.post("/api/v1/households", json={**household(15, "parveen", 0),
                                                      "name": name}, headers=headers)
    assert refused.status_code == 409, refused.text
    assert refused.json()["error"] == {
        "code": "name_taken", "message": "'House 14' is house 14.", "field": "name"}
    assert app.state.web.users.by_username("parveen") is None


@pytest.mark.parametrize("name", ["\x00", "House\u200b", "h\u00e9llo\u202e"])
def test_a_name_with_invisible_characters_is_refused(operator: Operator, name: str) -> None:
    app, client, headers = operator
    body = {**household(11, "jamal", 0), "name": name}
    refused = client.post("/api/v1/households", json=body, headers=headers)
    assert refused.status_code == 400, refused.text
    assert refused.json()["error"]["field"] == "name"
    assert app.state.web.users.by_username("jamal") is None


@pytest.mark.parametrize(
    "url", ["http://[::1", "http://a:99999", "http://a:8x", "http://[zz]:80", "ftp://meter.local"]
)
def test_a_meter_address_no_client_could_use_is_refused_naming_the_field(
    operator: Operator, url: str
) -> None:
    """Each of these passed the old `https?://...` pattern and was stored; the meter page then
    raised on every view of that house (httpx could not parse it)."""
    app, client, headers = operator
    body = {**household(12, "kamal", 0), "meter_url": url}
    refused = client.post("/api/v1/households", json=body, headers=headers)
    assert refused.status_code == 422, refused.text
    error = refused.json()["error"]
    assert error["field"] == "meter_url"
    assert error["message"].startswith("meter_url: must be http://host or http://host:port")
    assert app.state.web.users.by_username("kamal") is None
    assert app.state.web.households.repository.get(12) is None


def test_a_meter_already_a_households_is_refused_and_nothing_changes(
    operator: Operator,
) -> None:
    """Two houses on one meter id: the server finds a house's meter by its id, so the first
    house's relay moved the second house's sale while the second house was paid. Now 409
    naming meter_id, and no login is made."""
    app, client, headers = operator
    first = client.post("/api/v1/households", json=household(4, "kiran", 0), headers=headers)
    assert first.status_code == 201, first.text
    again = {**household(5, "laila", 0), "meter_id": 4}
    refused = client.post("/api/v1/households", json=again, headers=headers)
    assert refused.status_code == 409, refused.text
    assert refused.json()["error"] == {
        "code": "meter_taken", "message": "Meter 4 is house 4's meter.", "field": "meter_id",
    }  # fmt: skip
    assert app.state.web.users.by_username("laila") is None
    listed = {h["house_id"] for h in client.get("/api/v1/households", headers=headers).json()}
    assert listed == {4}


def test_the_operator_can_point_a_house_at_its_meters_new_address_and_a_new_boards_key(
    operator: Operator,
) -> None:
    """A meter at a new address, or a replaced board, used to leave the house unable to trade:
    nothing could change a household's meter URL or key after registration."""
    app, client, headers = operator
    made = client.post("/api/v1/households", json=household(6, "mehr", 0), headers=headers)
    assert made.status_code == 201, made.text
    repository = app.state.web.households.repository
    moved = client.put("/api/v1/households/6/meter", headers=headers,
                       json={"meter_url": "http://192.168.1.46:8080/"})  # kept without the /
    assert moved.status_code == 200, moved.text
    assert (moved.json()["meter_url"], moved.json()["meter_id"]) == ("http://192.168.1.46:8080", 6)
    assert repository.get(6).meter_key_hex == "44" * 32  # the key stays unless given
    replaced = client.put("/api/v1/households/6/meter", headers=headers,
                          json={"meter_url": "http://192.168.1.47", "meter_key": "AB" * 32})
    assert replaced.status_code == 200, replaced.text
    assert (repository.get(6).meter_url, repository.get(6).meter_key_hex) == (
        "http://192.168.1.47", "ab" * 32)  # fmt: skip
    for body, status, field in (
        ({"meter_url": "http://[::1"}, 422, "meter_url"),
        ({"meter_url": "http://192.168.1.48", "meter_key": "12"}, 422, "meter_key"),
    ):
        refused = client.put("/api/v1/households/6/meter", headers=headers, json=body)
        assert refused.status_code == status and refused.json()["error"]["field"] == field
    missing = client.put("/api/v1/households/99/meter", headers=headers,
                         json={"meter_url": "http://192.168.1.48"})
    assert missing.status_code == 404 and missing.json()["error"]["field"] == "house_id"
    assert repository.get(6).meter_url == "http://192.168.1.47"  # refusals changed nothing
    # the same from the operator page's form
    page = client.get("/operator").text
    csrf = re.search(r'name="csrf_token" value="([^"]+)"', page)
    assert csrf is not None and 'id="meter-form"' in page
    sent = client.post("/operator/meter", data={"csrf_token": csrf.group(1), "house_id": "6",
                                                "meter_url": "http://192.168.1.49"},
                       follow_redirects=False)  # fmt: skip
    assert sent.status_code == 303
    assert repository.get(6).meter_url == "http://192.168.1.49"
    assert "House 6&#39;s meter is now at http://192.168.1.49." in client.get("/operator").text
