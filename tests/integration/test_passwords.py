"""A resident changes their password, or sets a new one with the recovery phrase shown at
registration. The key the server holds is re-encrypted with the new password (the old one
opens nothing), the resident's other sessions end, and a refused change changes nothing.
The real app, chain and database."""

from __future__ import annotations

import re
from collections.abc import Iterator
from typing import Any

import pytest
from eth_account import Account
from fastapi.testclient import TestClient

from tests.integration.web_support import OPERATOR_PASSWORD, PASSWORD, log_in, register, web_app

KEY = "22" * 32
NEW = "a new secret 42"


@pytest.fixture
def village() -> Iterator[dict[str, Any]]:
    with web_app() as (_runtime, _settings, app):
        operator, op_csrf = log_in(app, "operator", OPERATOR_PASSWORD)
        made = {name: register(operator, op_csrf, house, name, "http://127.0.0.1:9", KEY)
                for house, name in ((1, "amina"), (2, "bilal"))}
        yield {"app": app, "made": made}


def logs_in(app: object, username: str, password: str) -> int:
    reply = TestClient(app).post(  # type: ignore[arg-type]
        "/api/v1/session", json={"username": username, "password": password})
    return reply.status_code


def exported_address(client: TestClient, csrf: str, password: str) -> str:
    reply = client.post("/api/v1/me/key-export", json={"password": password},
                        headers={"X-CSRF-Token": csrf})
    assert reply.status_code == 200, reply.text
    return str(Account.from_key(reply.json()["private_key"]).address)


def sells(client: TestClient, csrf: str) -> int:
    """Whether the session can still sign: a sell offer through it (its status)."""
    return client.post("/api/v1/orders", json={"side": "sell", "amount_wh": 5,
                                               "price_per_wh": 10**12},
                       headers={"X-CSRF-Token": csrf}).status_code


def test_a_changed_password_opens_the_same_key_and_ends_the_residents_other_sessions(
    village: dict[str, Any],
) -> None:
    app, address = village["app"], village["made"]["amina"]["address"]
    phone, csrf = log_in(app, "amina", PASSWORD)
    laptop, laptop_csrf = log_in(app, "amina", PASSWORD)
    bilal, bilal_csrf = log_in(app, "bilal", PASSWORD)
    change = {"X-CSRF-Token": csrf}

    wrong = phone.put("/api/v1/me/password", json={"password": "not the one", "new_password": NEW},
                      headers=change)
    short = phone.put("/api/v1/me/password", json={"password": PASSWORD, "new_password": "short"},
                      headers=change)
    assert (wrong.status_code, wrong.json()["error"]["field"]) == (400, "password")
    assert (short.status_code, short.json()["error"]["field"]) == (400, "new_password")
    assert "at least 8" in short.json()["error"]["message"]
    assert laptop.get("/api/v1/me").status_code == 200  # refused: nothing changed
    assert logs_in(app, "amina", PASSWORD) == 200

    old_cookie = phone.cookies["gs_session"]
    done = phone.put("/api/v1/me/password", json={"password": PASSWORD, "new_password": NEW},
                     headers=change)
    assert done.status_code == 200, done.text
    assert laptop.get("/api/v1/me").status_code == 401  # the other session ended
    assert sells(laptop, laptop_csrf) == 401
    stolen = TestClient(app)  # type: ignore[arg-type]
    stolen.cookies.set("gs_session", old_cookie)
    assert stolen.get("/api/v1/me").status_code == 401  # so did this one: its cookie may leak
    assert phone.cookies["gs_session"] != old_cookie  # the answer set a fresh one
    csrf = done.json()["csrf_token"]
    assert sells(phone, csrf) == 201  # the fresh session goes on, its key unlocked
    assert bilal.get("/api/v1/me").status_code == 200 and sells(bilal, bilal_csrf) == 201
    assert logs_in(app, "amina", PASSWORD) == 401
    assert exported_address(phone, csrf, NEW) == address  # the same key, under the new password
    again, again_csrf = log_in(app, "amina", NEW)
    assert exported_address(again, again_csrf, NEW) == address
    assert sells(again, again_csrf) == 201


def test_the_recovery_phrase_sets_a_new_password_and_logs_in(village: dict[str, Any]) -> None:
    app, made = village["app"], village["made"]
    phrase, address = str(made["amina"]["recovery_phrase"]), made["amina"]["address"]
    old_session, _ = log_in(app, "amina", PASSWORD)
    client = TestClient(app)

    def recover(username: str, words: str, new: str = NEW) -> Any:
        return client.post("/api/v1/session/recovery", json={
            "username": username, "recovery_phrase": words, "new_password": new})

    refused = [
        (recover("amina", " ".join(phrase.split()[:11])), 400, "bad_phrase"),
        (recover("amina", phrase.replace(phrase.split()[0], "zzzz", 1)), 400, "bad_phrase"),
        (recover("amina", str(made["bilal"]["recovery_phrase"])), 401, "wrong_phrase"),
        (recover("nobody", phrase), 401, "wrong_phrase"),
        (recover("operator", phrase), 401, "wrong_phrase"),
    ]
    for reply, status, code in refused:
        assert (reply.status_code, reply.json()["error"]["code"]) == (status, code), reply.text
        assert reply.json()["error"]["field"] == "recovery_phrase"
    short = recover("amina", phrase, "short")
    assert (short.status_code, short.json()["error"]["field"]) == (400, "new_password")
    assert logs_in(app, "amina", PASSWORD) == 200  # nothing changed
    assert old_session.get("/api/v1/me").status_code == 200

    # a phone keyboard capitalises the first word and doubles a space
    typed = "  " + phrase.capitalize().replace(" ", "  ", 1) + "\n"
    done = recover(" amina", typed)
    assert done.status_code == 200, done.text
    assert done.json()["user"]["address"] == address
    csrf = done.json()["csrf_token"]
    assert sells(client, csrf) == 201  # logged in, the key unlocked
    assert old_session.get("/api/v1/me").status_code == 401
    assert logs_in(app, "amina", PASSWORD) == 401
    assert logs_in(app, "amina", NEW) == 200
    assert exported_address(client, csrf, NEW) == address


def test_wrong_recovery_phrases_are_limited_like_logins(village: dict[str, Any]) -> None:
    app, made = village["app"], village["made"]
    client = TestClient(app)
    other = str(made["bilal"]["recovery_phrase"])
    body = {"username": "amina", "recovery_phrase": other, "new_password": NEW}
    codes = [client.post("/api/v1/session/recovery", json=body).status_code for _ in range(6)]
    assert codes == [401] * 5 + [429]
    right = client.post("/api/v1/session/recovery", json=body | {
        "recovery_phrase": made["amina"]["recovery_phrase"]})
    assert right.status_code == 429  # even the right phrase, until the minute has passed
    assert right.json()["error"]["field"] == "recovery_phrase"
    assert logs_in(app, "amina", PASSWORD) == 200


def form_token(page: str) -> str:
    match = re.search(r'name="csrf_token" value="([^"]+)"', page)
    assert match is not None
    return match.group(1)


def test_the_pages_change_and_recover_a_password(village: dict[str, Any]) -> None:
    app, phrase = village["app"], str(village["made"]["amina"]["recovery_phrase"])
    browser = TestClient(app)
    login = browser.get("/login")
    assert 'href="/recover"' in login.text
    browser.post("/login", data={"username": "amina", "password": PASSWORD,
                                 "csrf_token": form_token(login.text)})
    assert 'href="/account/password"' in browser.get("/account").text
    token = form_token(browser.get("/account/password").text)

    def change(current: str, new: str, again: str) -> Any:
        return browser.post("/account/password", follow_redirects=False, data={
            "password": current, "new_password": new, "new_password_again": again,
            "csrf_token": token})

    differ = change(PASSWORD, NEW, NEW + "!")
    assert differ.status_code == 400
    assert "The two new passwords differ" in differ.text
    assert 'name="new_password_again" type="password"' in differ.text
    wrong = change("not the one", NEW, NEW)
    assert wrong.status_code == 400 and "The password is not right." in wrong.text
    assert logs_in(app, "amina", PASSWORD) == 200
    done = change(PASSWORD, NEW, NEW)
    assert (done.status_code, done.headers["location"]) == (303, "/account")
    assert "Your password is changed." in browser.get("/account").text
    assert logs_in(app, "amina", NEW) == 200

    # forgotten: the recovery page, from a browser that is not logged in
    stranger = TestClient(app)
    page = stranger.get("/recover")
    assert page.status_code == 200 and 'name="recovery_phrase"' in page.text
    form = {"username": "amina", "recovery_phrase": phrase, "new_password": "third one!",
            "new_password_again": "third one!", "csrf_token": form_token(page.text)}
    bad = stranger.post("/recover", data=form | {"recovery_phrase": "twelve words of nothing"},
                        follow_redirects=False)
    assert bad.status_code == 400 and "the 12 words shown when the house" in bad.text
    assert 'value="amina"' in bad.text  # the username is kept
    recovered = stranger.post("/recover", data=form, follow_redirects=False)
    assert (recovered.status_code, recovered.headers["location"]) == (303, "/market")
    assert "Your password is changed." in stranger.get("/market").text
    assert browser.get("/api/v1/me").status_code == 401  # the earlier session ended
    assert logs_in(app, "amina", "third one!") == 200


def test_wrong_current_passwords_are_limited_per_session(village: dict[str, Any]) -> None:
    """A stolen cookie gets five guesses a minute; it cannot lock the resident out of changing
    the password from their own phone (a limit per user would)."""
    app = village["app"]
    thief, thief_csrf = log_in(app, "amina", PASSWORD)
    owner, owner_csrf = log_in(app, "amina", PASSWORD)
    guesses = [thief.put("/api/v1/me/password", headers={"X-CSRF-Token": thief_csrf},
                         json={"password": f"guess {i}!", "new_password": NEW})
               for i in range(6)]
    assert [g.status_code for g in guesses] == [400] * 5 + [429]
    assert 0 < int(guesses[-1].headers["retry-after"]) <= 60
    mine = owner.put("/api/v1/me/password", headers={"X-CSRF-Token": owner_csrf},
                     json={"password": PASSWORD, "new_password": NEW})
    assert mine.status_code == 200, mine.text
    assert thief.get("/api/v1/me").status_code == 401


def test_the_current_password_is_not_taken_as_the_new_one(village: dict[str, Any]) -> None:
    """The page said "Your password is changed" and logged the resident's other phones out,
    and nothing had changed."""
    app = village["app"]
    owner, owner_csrf = log_in(app, "amina", PASSWORD)
    other, _ = log_in(app, "amina", PASSWORD)
    same = owner.put("/api/v1/me/password", headers={"X-CSRF-Token": owner_csrf},
                     json={"password": PASSWORD, "new_password": PASSWORD})
    assert same.status_code == 400, same.text
    assert same.json()["error"] == {"code": "same_password", "field": "new_password",
                                    "message": "The new password is the current one."}
    assert other.get("/api/v1/me").status_code == 200  # no one was logged out


def test_a_login_checked_while_the_password_changed_does_not_stand(
    village: dict[str, Any],
) -> None:
    """A login that checked the old password before a change was written, and would make its
    session after the change ended every session, is refused instead of outliving it."""
    app = village["app"]
    ctx = app.state.web
    owner, owner_csrf = log_in(app, "amina", PASSWORD)
    check = ctx.accounts.login

    def change_lands_meanwhile(username: str, password: str) -> Any:
        checked = check(username, password)
        changed = owner.put("/api/v1/me/password", headers={"X-CSRF-Token": owner_csrf},
                            json={"password": PASSWORD, "new_password": NEW})
        assert changed.status_code == 200, changed.text
        return checked

    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(ctx.accounts, "login", change_lands_meanwhile)
        assert logs_in(app, "amina", PASSWORD) == 401
    assert logs_in(app, "amina", PASSWORD) == 401 and logs_in(app, "amina", NEW) == 200


def test_the_operators_password_is_not_changed_on_a_page(village: dict[str, Any]) -> None:
    """It is the operator key's password too (GRIDSHARE_OPERATOR_PASSWORD), and the operator
    has no recovery phrase: a changed one could not be got back."""
    operator, csrf = log_in(village["app"], "operator", OPERATOR_PASSWORD)
    refused = operator.put("/api/v1/me/password", headers={"X-CSRF-Token": csrf},
                           json={"password": OPERATOR_PASSWORD, "new_password": NEW})
    assert refused.status_code == 403, refused.text
    assert refused.json()["error"]["code"] == "operator_password"
    assert logs_in(village["app"], "operator", OPERATOR_PASSWORD) == 200


def test_the_operator_gives_a_wallet_household_a_new_password_and_no_other(
    village: dict[str, Any],
) -> None:
    """A household that signs in MetaMask has no recovery phrase here and nothing the server
    could lose: the operator sets its login a new password. A household whose key the server
    holds is refused: that key is encrypted with the password (its phrase replaces it)."""
    app = village["app"]
    operator, csrf = log_in(app, "operator", OPERATOR_PASSWORD)
    wallet = Account.create().address
    register(operator, csrf, 3, "chand", "http://127.0.0.1:9", KEY, wallet=wallet)
    chand, _ = log_in(app, "chand", PASSWORD)
    headers = {"X-CSRF-Token": csrf}

    held = operator.put("/api/v1/households/1/password", headers=headers,
                        json={"new_password": "the operator's"})
    assert (held.status_code, held.json()["error"]["code"]) == (400, "holds_key")
    assert logs_in(app, "amina", PASSWORD) == 200  # unchanged
    short = operator.put("/api/v1/households/3/password", headers=headers,
                         json={"new_password": "short"})
    assert (short.status_code, short.json()["error"]["field"]) == (400, "new_password")
    assert operator.put("/api/v1/households/99/password", headers=headers,
                        json={"new_password": "long enough"}).status_code == 404

    reset = operator.put("/api/v1/households/3/password", headers=headers,
                         json={"new_password": "given by the operator"})
    assert reset.status_code == 204, reset.text
    assert chand.get("/api/v1/me").status_code == 401  # logged out
    assert logs_in(app, "chand", PASSWORD) == 401
    assert logs_in(app, "chand", "given by the operator") == 200

    page = operator.get("/operator").text
    form = page.split('id="password-form"', 1)[1].split("</form>", 1)[0]
    assert '<option value="3">' in form and '<option value="1">' not in form
    sent = operator.post("/operator/password", follow_redirects=False, data={
        "house_id": "3", "new_password": "once more, please", "csrf_token": csrf})
    assert sent.status_code == 303
    assert "House 3 has a new password" in operator.get("/operator").text
    assert logs_in(app, "chand", "once more, please") == 200
