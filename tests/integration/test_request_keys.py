"""A double tap places one order: resident writes carrying a request key happen once.

The API takes an `Idempotency-Key` header and the market page's forms carry a hidden
`request_key`. The first half checks `RequestKeys` itself over a real SQLite file (repeat,
concurrent repeat, refusal, reuse, restart); the second goes through the real app, embedded
chain and database, and counts what reached the chain.
"""

from __future__ import annotations

import re
import threading
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import pytest
from eth_account import Account
from fastapi.testclient import TestClient

from gridshare.chain.errors import ChainError, TransactionTimeout
from gridshare.chain.transactor import RpcFailure
from gridshare.storage import Database
from gridshare.storage.request_keys import (
    RETENTION_S,
    BadRequestKey,
    RequestKeyReused,
    RequestKeys,
    RequestUnfinished,
)
from tests.integration.web_support import (
    OPERATOR_PASSWORD,
    Resident,
    log_in,
    register,
    web_app,
)

ALICE = "0x00000000000000000000000000000000000000A1"
KEY = "tap-0123456789"
PRICE = 10**15


class Refused(Exception):
    """Stands for a trade refused before anything was sent."""


def test_a_repeated_key_returns_the_first_answer_without_running_again(tmp_path: Path) -> None:
    keys = RequestKeys(Database(tmp_path / "db.sqlite"))
    runs: list[int] = []

    def work() -> str:
        runs.append(1)
        return f"order {len(runs)}"

    first = keys.run(ALICE, KEY, "place:5", work, frees=(Refused,))
    again = keys.run(ALICE.lower(), KEY, "place:5", work, frees=(Refused,))
    assert (first, again, len(runs)) == ("order 1", "order 1", 1)
    other_account = keys.run("0x" + "b2" * 20, KEY, "place:5", work, frees=(Refused,))
    assert (other_account, len(runs)) == ("order 2", 2)  # keys are per account


def test_a_concurrent_repeat_waits_for_the_first_and_gets_its_answer(tmp_path: Path) -> None:
    keys = RequestKeys(Database(tmp_path / "db.sqlite"))
    started, release = threading.Event(), threading.Event()
    runs: list[int] = []

    def slow_work() -> str:
        runs.append(1)
        started.set()
        assert release.wait(10)
        return "order 7"

    with ThreadPoolExecutor(2) as pool:
        first = pool.submit(keys.run, ALICE, KEY, "place:5", slow_work, frees=(Refused,))
        assert started.wait(10)
        second = pool.submit(keys.run, ALICE, KEY, "place:5", slow_work, frees=(Refused,))
        release.set()
        assert (first.result(10), second.result(10)) == ("order 7", "order 7")
    assert len(runs) == 1


def test_a_refusal_frees_the_key_and_other_failures_leave_it_unfinished(tmp_path: Path) -> None:
    keys = RequestKeys(Database(tmp_path / "db.sqlite"))

    def refused() -> str:
        raise Refused("insufficient balance")

    with pytest.raises(Refused):
        keys.run(ALICE, KEY, "place:5", refused, frees=(Refused,))
    assert keys.run(ALICE, KEY, "place:5", lambda: "order 3", frees=(Refused,)) == "order 3"

    def timed_out() -> str:
        raise TimeoutError("sent, no receipt yet")

    with pytest.raises(TimeoutError):
        keys.run(ALICE, "tap-timeout-1", "place:5", timed_out, frees=(Refused,))
    with pytest.raises(RequestUnfinished, match="may or may not have taken effect"):
        keys.run(ALICE, "tap-timeout-1", "place:5", lambda: "order 4", frees=(Refused,))


def test_a_key_reused_for_another_request_or_malformed_is_refused(tmp_path: Path) -> None:
    keys = RequestKeys(Database(tmp_path / "db.sqlite"))
    keys.run(ALICE, KEY, "place:5", lambda: "order 1", frees=(Refused,))
    with pytest.raises(RequestKeyReused, match="different request"):
        keys.run(ALICE, KEY, "place:6", lambda: "order 2", frees=(Refused,))
    for bad in ("short", "has space 123", "x" * 101, "ключ-12345678"):
        with pytest.raises(BadRequestKey, match="8 to 100 characters"):
            keys.run(ALICE, bad, "place:5", lambda: "order 2", frees=(Refused,))


def test_a_request_cut_short_by_a_restart_is_unfinished_and_old_keys_are_forgotten(
    tmp_path: Path,
) -> None:
    now = [1_000_000.0]
    database = Database(tmp_path / "db.sqlite")
    keys = RequestKeys(database, clock=lambda: now[0])

    def killed() -> str:  # the process dies mid-request: nothing after the claim runs
        raise SystemExit

    with pytest.raises(SystemExit):
        keys.run(ALICE, KEY, "place:5", killed, frees=(Refused,))
    restarted = RequestKeys(Database(tmp_path / "db.sqlite"), clock=lambda: now[0])
    with pytest.raises(RequestUnfinished):
        restarted.run(ALICE, KEY, "place:5", lambda: "order 9", frees=(Refused,))
    now[0] += RETENTION_S + 1
    restarted.run(ALICE, "tap-another-1", "place:1", lambda: "x", frees=(Refused,))  # prunes
    assert restarted.run(ALICE, KEY, "place:5", lambda: "order 9", frees=(Refused,)) == "order 9"


# ---------------------------------------------------------------- through the app


@pytest.fixture(scope="module")
def market() -> Iterator[dict[str, Any]]:
    """The app with two funded residents (amina sells, bilal buys)."""
    with web_app() as (runtime, _settings, app):
        operator, op_csrf = log_in(app, "operator", OPERATOR_PASSWORD)
        residents = []
        for house, name in ((1, "amina"), (2, "bilal")):
            created = register(operator, op_csrf, house, name, "http://127.0.0.1:9", "33" * 32)
            client, csrf = log_in(app, name, "correct horse battery")
            residents.append(Resident(name, str(created["address"]), house, client, csrf))
        yield {"app": app, "runtime": runtime, "amina": residents[0], "bilal": residents[1],
               "operator": (operator, op_csrf)}


def chain_counts(market: dict[str, Any], resident: Resident) -> tuple[int, int, int]:
    """(orders, deliveries, the resident's transactions) on chain."""
    chain_market = market["runtime"].market
    nonce = market["runtime"].chain.w3.eth.get_transaction_count(resident.address)
    return chain_market.order_count(), chain_market.delivery_count(), nonce


def rpc(client: TestClient, method: str, params: list[Any]) -> Any:
    """One JSON-RPC call to the server's /rpc (what a wallet does); its result."""
    call = {"jsonrpc": "2.0", "id": 1, "method": method, "params": params}
    reply = client.post("/rpc", json=call)
    assert "result" in reply.json(), reply.text
    return reply.json()["result"]


def twin_client(market: dict[str, Any], resident: Resident) -> TestClient:
    """A second client on the same session (the phone's second tap)."""
    twin = TestClient(market["app"])
    twin.cookies.update(resident.client.cookies)
    return twin


def post_twice_at_once(
    market: dict[str, Any], resident: Resident, path: str, **kwargs: Any
) -> list[Any]:
    clients = [resident.client, twin_client(market, resident)]
    with ThreadPoolExecutor(2) as pool:
        replies = list(pool.map(lambda c: c.post(path, **kwargs), clients))
    return replies


def test_an_order_posted_twice_at_once_with_one_key_is_placed_once(
    market: dict[str, Any],
) -> None:
    amina = market["amina"]
    before = chain_counts(market, amina)
    headers = {"X-CSRF-Token": amina.csrf, "Idempotency-Key": "order-double-tap-1"}
    body = {"side": "sell", "amount_wh": 40, "price_per_wh": PRICE}
    replies = post_twice_at_once(market, amina, "/api/v1/orders", json=body, headers=headers)
    assert [r.status_code for r in replies] == [201, 201], [r.text for r in replies]
    assert replies[0].json() == replies[1].json()
    later = amina.client.post("/api/v1/orders", json=body, headers=headers)  # a retry later
    assert later.status_code == 201 and later.json() == replies[0].json()
    after = chain_counts(market, amina)
    assert (after[0] - before[0], after[2] - before[2]) == (1, 1)

    headers_without_key = {"X-CSRF-Token": amina.csrf}
    for _ in range(2):  # without a key each request is its own order, as before
        amina.client.post("/api/v1/orders", json=body, headers=headers_without_key)
    assert chain_counts(market, amina)[0] - after[0] == 2


def test_a_take_sent_twice_with_one_key_makes_one_delivery(market: dict[str, Any]) -> None:
    amina, bilal = market["amina"], market["bilal"]
    offer = amina.client.post(
        "/api/v1/orders", json={"side": "sell", "amount_wh": 50, "price_per_wh": PRICE},
        headers={"X-CSRF-Token": amina.csrf},
    ).json()  # fmt: skip
    before = chain_counts(market, bilal)
    headers = {"X-CSRF-Token": bilal.csrf, "Idempotency-Key": "take-double-tap-1"}
    path = f"/api/v1/orders/{offer['id']}/take"
    replies = post_twice_at_once(market, bilal, path, json={"amount_wh": 10}, headers=headers)
    assert [r.status_code for r in replies] == [201, 201], [r.text for r in replies]
    assert replies[0].json()["id"] == replies[1].json()["id"]
    after = chain_counts(market, bilal)
    assert (after[1] - before[1], after[2] - before[2]) == (1, 1)
    order = market["runtime"].market.order(offer["id"])
    assert order.remaining_wh == 40  # taken once, not twice


def test_the_api_names_the_header_and_the_rule_when_a_key_is_misused(
    market: dict[str, Any],
) -> None:
    amina = market["amina"]
    body = {"side": "sell", "amount_wh": 7, "price_per_wh": PRICE}
    headers = {"X-CSRF-Token": amina.csrf, "Idempotency-Key": "reuse-check-1"}
    assert amina.client.post("/api/v1/orders", json=body, headers=headers).status_code == 201
    before = chain_counts(market, amina)
    reused = amina.client.post(
        "/api/v1/orders", json={**body, "amount_wh": 8}, headers=headers
    )
    assert reused.status_code == 422
    assert reused.json()["error"]["code"] == "request_key_reused"
    assert reused.json()["error"]["field"] == "Idempotency-Key"
    malformed = amina.client.post(
        "/api/v1/orders", json=body, headers={**headers, "Idempotency-Key": "bad key"}
    )
    assert malformed.status_code == 422, malformed.text
    assert malformed.json()["error"] == {
        "code": "bad_request_key",
        "message": "A request key must be 8 to 100 characters: letters, digits, '-' and '_'.",
        "field": "Idempotency-Key",
    }
    assert chain_counts(market, amina) == before  # nothing reached the chain


def test_a_refused_order_can_be_sent_again_with_its_key(market: dict[str, Any]) -> None:
    bilal = market["bilal"]
    too_dear = {"side": "buy", "amount_wh": 10**6, "price_per_wh": 10**18}
    headers = {"X-CSRF-Token": bilal.csrf, "Idempotency-Key": "refused-then-ok-1"}
    refused = bilal.client.post("/api/v1/orders", json=too_dear, headers=headers)
    assert refused.status_code == 409
    assert refused.json()["error"]["code"] == "insufficient_balance"
    again = bilal.client.post("/api/v1/orders", json=too_dear, headers=headers)
    assert again.json()["error"]["code"] == "insufficient_balance"  # checked again, not replayed


def available_coins(market: dict[str, Any], resident: Resident) -> int:
    return int(market["runtime"].market.balances(resident.address).available // 10**18)


def test_an_operator_top_up_sent_again_with_its_key_moves_the_coins_once(
    market: dict[str, Any],
) -> None:
    """The operator's answer was lost (Wi-Fi, a restart): sending the top-up again with the
    same Idempotency-Key must not credit the household twice."""
    operator, csrf = market["operator"]
    bilal = market["bilal"]
    before = available_coins(market, bilal)
    path, body = f"/api/v1/households/{bilal.house_id}/top-up", {"coins": 7}
    headers = {"X-CSRF-Token": csrf, "Idempotency-Key": "top-up-retry-1"}
    twin = TestClient(market["app"])
    twin.cookies.update(operator.cookies)
    with ThreadPoolExecutor(2) as pool:
        replies = list(pool.map(lambda c: c.post(path, json=body, headers=headers),
                                [operator, twin]))
    later = operator.post(path, json=body, headers=headers)
    assert [r.status_code for r in [*replies, later]] == [204, 204, 204], later.text
    assert available_coins(market, bilal) - before == 7
    other = operator.post(path, json={"coins": 8}, headers=headers)
    assert other.status_code == 422 and other.json()["error"]["code"] == "request_key_reused"
    assert available_coins(market, bilal) - before == 7


def test_the_operator_top_up_form_sent_twice_moves_the_coins_once(
    market: dict[str, Any],
) -> None:
    operator, csrf = market["operator"]
    amina = market["amina"]
    page = operator.get("/operator").text
    keys = re.findall(r'action="/operator/top-up".*?name="request_key" value="([^"]+)"', page)
    assert len(keys) == len(set(keys)) >= 2  # a key per household's form
    form = {"csrf_token": csrf, "house_id": str(amina.house_id), "coins": "5",
            "request_key": keys[0]}  # fmt: skip
    before = available_coins(market, amina)
    for _ in range(2):  # a reload of the answer, or the back button and send again
        sent = operator.post("/operator/top-up", data=form, follow_redirects=False)
        assert sent.status_code == 303
    assert available_coins(market, amina) - before == 5
    # which house and how much ("Done." left the operator checking the row)
    assert f"House {amina.house_id} was topped up with 5 PKR." in operator.get("/operator").text


def test_a_market_form_posted_twice_places_one_order(market: dict[str, Any]) -> None:
    amina = market["amina"]
    page = amina.client.get("/market").text
    keys = re.findall(r'name="request_key" value="([^"]+)"', page)
    assert len(keys) == len(set(keys)) >= 2  # every form its own key
    form = {"csrf_token": amina.csrf, "side": "sell", "amount_wh": "12", "price": "0.001",
            "minutes": "60", "request_key": keys[1]}  # fmt: skip
    before = chain_counts(market, amina)
    replies = post_twice_at_once(
        market, amina, "/market/orders", data=form, follow_redirects=False
    )
    assert [r.status_code for r in replies] == [303, 303]
    assert chain_counts(market, amina)[0] - before[0] == 1
    shown = amina.client.get("/market").text
    assert "is posted: 12 Wh at 0.0010 PKR/Wh." in shown


def test_an_order_sent_but_not_confirmed_says_so_and_is_not_sent_again(
    market: dict[str, Any],
) -> None:
    """A timeout may still be mined: 504 now, and its key refuses a second order (409)."""
    amina = market["amina"]
    body = {"side": "sell", "amount_wh": 9, "price_per_wh": PRICE}
    headers = {"X-CSRF-Token": amina.csrf, "Idempotency-Key": "slow-node-0001"}

    def timing_out(*_: object, **__: object) -> None:
        raise TransactionTimeout("no receipt for 0x12 after 120 s")

    def node_down(*_: object, **__: object) -> None:
        raise ChainError("connection refused")

    trading = market["app"].state.web.trading
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(trading.market, "place_order", timing_out)
        sent = amina.client.post("/api/v1/orders", json=body, headers=headers)
        patch.setattr(trading.market, "place_order", node_down)
        down = amina.client.post("/api/v1/orders", json=body, headers={"X-CSRF-Token": amina.csrf})
        form = {"csrf_token": amina.csrf, "side": "sell", "amount_wh": "9", "price": "0.001"}
        posted = amina.client.post("/market/orders", data=form, follow_redirects=False)
    assert sent.status_code == 504
    assert sent.json()["error"]["code"] == "not_confirmed"
    assert "may still take effect" in sent.json()["error"]["message"]
    assert down.status_code == 503 and down.json()["error"]["code"] == "chain_unavailable"
    assert posted.status_code == 303
    assert "The chain did not answer. Try again in a minute." in amina.client.get("/market").text

    before = chain_counts(market, amina)
    again = amina.client.post("/api/v1/orders", json=body, headers=headers)
    assert again.status_code == 409
    assert again.json()["error"]["code"] == "request_unfinished"
    assert chain_counts(market, amina) == before


def test_a_form_sent_again_with_other_values_or_a_bad_key_gets_a_message(
    market: dict[str, Any],
) -> None:
    """The back button can show a sent form again; the page says so instead of trading."""
    amina = market["amina"]
    form = {"csrf_token": amina.csrf, "side": "sell", "amount_wh": "12", "price": "0.001",
            "minutes": "60", "request_key": "form-back-button-1"}  # fmt: skip
    first = amina.client.post("/market/orders", data=form, follow_redirects=False)
    assert first.status_code == 303
    before = chain_counts(market, amina)
    again = amina.client.post("/market/orders", data={**form, "amount_wh": "13"},
                              follow_redirects=False)  # fmt: skip
    assert again.status_code == 303
    assert "That form was already sent." in amina.client.get("/market").text
    forged = amina.client.post("/market/orders", data={**form, "request_key": "no good"},
                               follow_redirects=False)  # fmt: skip
    assert forged.status_code == 303
    assert "A request key must be 8 to 100 characters" in amina.client.get("/market").text
    assert chain_counts(market, amina) == before


def test_a_resident_who_also_sends_from_a_wallet_keeps_trading_through_the_server(
    market: dict[str, Any],
) -> None:
    """The server counts the nonces of the keys it holds; a wallet using the same key through
    /rpc moves the chain's count on. The next trade is refused by the node for its stale
    nonce, so the server reads the count again and sends it once more: 201, one order."""
    bilal = market["bilal"]
    headers = {"X-CSRF-Token": bilal.csrf}
    body = {"side": "sell", "amount_wh": 3, "price_per_wh": PRICE}
    assert bilal.client.post("/api/v1/orders", json=body, headers=headers).status_code == 201
    exported = bilal.client.post(
        "/api/v1/me/key-export", json={"password": "correct horse battery"}, headers=headers
    )
    wallet = Account.from_key(exported.json()["private_key"])
    count = rpc(bilal.client, "eth_getTransactionCount", [wallet.address, "pending"])
    transfer = {
        "to": wallet.address, "value": 0, "gas": 21000, "nonce": int(count, 16),
        "chainId": 1337, "maxFeePerGas": 0, "maxPriorityFeePerGas": 0, "type": 2,
    }  # fmt: skip
    raw = wallet.sign_transaction(transfer).raw_transaction
    rpc(bilal.client, "eth_sendRawTransaction", ["0x" + raw.hex()])

    before = chain_counts(market, bilal)
    keyed = {**headers, "Idempotency-Key": "after-wallet-0001"}
    placed = bilal.client.post("/api/v1/orders", json=body, headers=keyed)
    assert placed.status_code == 201, placed.text
    orders, deliveries, nonce = before
    assert chain_counts(market, bilal) == (orders + 1, deliveries, nonce + 1)


def test_a_transaction_the_node_refuses_frees_its_key_and_says_nothing_was_sent(
    market: dict[str, Any],
) -> None:
    amina = market["amina"]
    body = {"side": "sell", "amount_wh": 4, "price_per_wh": PRICE}
    headers = {"X-CSRF-Token": amina.csrf, "Idempotency-Key": "node-says-no-01"}

    def refusing(*_: object, **__: object) -> None:
        raise RpcFailure("gridshare_sendRawTransaction", {"code": -32000, "message": "no room"})

    before = chain_counts(market, amina)
    transactor = market["runtime"].transactor
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(transactor, "broadcast", refusing)
        refused = amina.client.post("/api/v1/orders", json=body, headers=headers)
        form = {"csrf_token": amina.csrf, "side": "sell", "amount_wh": "4", "price": "0.001"}
        posted = amina.client.post("/market/orders", data=form, follow_redirects=False)
    assert refused.status_code == 503, refused.text
    assert refused.json()["error"]["code"] == "chain_refused"
    assert "nothing was sent" in refused.json()["error"]["message"]
    assert posted.status_code == 303
    assert "nothing was sent" in amina.client.get("/market").text
    assert chain_counts(market, amina) == before

    again = amina.client.post("/api/v1/orders", json=body, headers=headers)
    assert again.status_code == 201, again.text  # the key was freed: nothing had been sent
