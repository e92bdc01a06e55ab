"""Wrong passwords are limited to 5 a minute per user even when they all arrive at once.

The limiter used to be asked whether a user might try, then the slow argon2 check ran, then a
failure was recorded: twelve concurrent wrong passwords all passed the question before one
failure was counted, so all twelve were checked (12 x 401 at login, 12 x 400 at key export).
Now each attempt is counted as a failure before its check and given back if the password was
right, under the limiter's lock.

Through the real app (embedded chain, real argon2): twelve requests on twelve threads for one
user, each from its own client address (so only the per-user limit can stop them), at the
login API, the login form, the key-export API and the key-export page. The app's password
check is held by a gate until every request is either inside a check or answered, so all
twelve are in flight together whatever the scheduling: the old code checks all twelve, every
time. The gate also counts the checks that ran: exactly 5. And right passwords are not
counted: eight right logins (or exports) in a row all succeed, after which five wrong ones
still get 401 (400) and the sixth 429.
"""

from __future__ import annotations

import re
import threading
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient

from gridshare.web.context import WebContext
from tests.integration.web_support import OPERATOR_PASSWORD, PASSWORD, log_in, register, web_app

CONCURRENT = 12
LIMIT = 5  # wrong passwords per user and minute (docs/web.md)
WRONG = {"username": "", "password": "wrong password!"}


@pytest.fixture(scope="module")
def world() -> Iterator[dict[str, Any]]:
    """The app with five residents, one per test, so no test's failures count in another's."""
    with web_app() as (_runtime, _settings, app):
        assert isinstance(app, FastAPI)
        operator, op_csrf = log_in(app, "operator", OPERATOR_PASSWORD)
        names = ("dana", "emil", "fara", "gita", "hana")
        for house, name in enumerate(names, start=1):
            register(operator, op_csrf, house, name, "http://127.0.0.1:9", "44" * 32)
        yield {"app": app, "web": app.state.web}


class Gate:
    """Holds every password check until `expected` requests are each in a check or answered."""

    def __init__(self, expected: int) -> None:
        self.expected, self.checks, self.answered = expected, 0, 0
        self._changed = threading.Condition()

    def hold(self, check: Callable[..., Any]) -> Callable[..., Any]:
        """`check`, made to wait at the gate first; counted in `checks`."""

        def held(*args: Any, **kwargs: Any) -> Any:
            with self._changed:
                self.checks += 1
                self._changed.notify_all()
                if not self._changed.wait_for(self._all_in, timeout=60):
                    raise TimeoutError("the other requests never arrived")
            return check(*args, **kwargs)

        return held

    def answer(self, send: Callable[[], int]) -> int:
        """The status `send()` got, counted as answered (which may open the gate)."""
        try:
            return send()
        finally:
            with self._changed:
                self.answered += 1
                self._changed.notify_all()

    def _all_in(self) -> bool:
        return self.checks + self.answered >= self.expected


def at_once(gate: Gate, sends: list[Callable[[], int]]) -> list[int]:
    """Run every send on a thread of its own, all together; their statuses, sorted."""
    with ThreadPoolExecutor(max_workers=len(sends)) as pool:
        return sorted(pool.map(lambda send: gate.answer(send), sends))


def stranger(app: FastAPI, n: int) -> TestClient:
    """A client from its own address. Not entered: each request runs on a loop of its own."""
    return TestClient(app, client=(f"10.0.{n // 250}.{n % 250 + 1}", 50000))


def resident(app: FastAPI, name: str) -> tuple[TestClient, str]:
    """A client logged in as `name` and its CSRF token."""
    client = TestClient(app)
    reply = client.post("/api/v1/session", json={"username": name, "password": PASSWORD})
    assert reply.status_code == 200, reply.text
    return client, str(reply.json()["csrf_token"])


def form_token(client: TestClient, path: str) -> str:
    match = re.search(r'name="csrf_token" value="([^"]+)"', client.get(path).text)
    assert match is not None
    return match.group(1)


def test_twelve_concurrent_wrong_logins_check_five_passwords_and_refuse_seven(
    world: dict[str, Any], monkeypatch: pytest.MonkeyPatch
) -> None:
    web: WebContext = world["web"]
    gate = Gate(CONCURRENT)
    monkeypatch.setattr(web.accounts, "login", gate.hold(web.accounts.login))
    clients = [stranger(world["app"], n) for n in range(CONCURRENT)]
    body = {**WRONG, "username": "dana"}
    codes = at_once(gate, [
        lambda c=c: c.post("/api/v1/session", json=body).status_code for c in clients
    ])  # fmt: skip
    assert codes == [401] * LIMIT + [429] * (CONCURRENT - LIMIT)
    assert gate.checks == LIMIT


def test_twelve_concurrent_wrong_logins_at_the_login_form_are_limited_the_same(
    world: dict[str, Any], monkeypatch: pytest.MonkeyPatch
) -> None:
    web: WebContext = world["web"]
    clients = [stranger(world["app"], 100 + n) for n in range(CONCURRENT)]
    forms = [{**WRONG, "username": "emil", "csrf_token": form_token(c, "/login")} for c in clients]
    gate = Gate(CONCURRENT)
    monkeypatch.setattr(web.accounts, "login", gate.hold(web.accounts.login))
    codes = at_once(gate, [
        lambda c=c, f=f: c.post("/login", data=f).status_code
        for c, f in zip(clients, forms, strict=True)
    ])  # fmt: skip
    assert codes == [401] * LIMIT + [429] * (CONCURRENT - LIMIT)
    assert gate.checks == LIMIT


def test_twelve_concurrent_wrong_key_exports_check_five_passwords_and_refuse_seven(
    world: dict[str, Any], monkeypatch: pytest.MonkeyPatch
) -> None:
    web: WebContext = world["web"]
    fara, csrf = resident(world["app"], "fara")
    clients = [stranger(world["app"], 200 + n) for n in range(CONCURRENT)]
    for client in clients:
        client.cookies.update(fara.cookies)  # fara's session, from anywhere
    gate = Gate(CONCURRENT)
    monkeypatch.setattr(web.accounts, "export_key", gate.hold(web.accounts.export_key))
    codes = at_once(gate, [
        lambda c=c: c.post("/api/v1/me/key-export", json={"password": "wrong password!"},
                           headers={"X-CSRF-Token": csrf}).status_code
        for c in clients
    ])  # fmt: skip
    assert codes == [400] * LIMIT + [429] * (CONCURRENT - LIMIT)
    assert gate.checks == LIMIT


def test_twelve_concurrent_wrong_passwords_at_the_export_page_are_limited_the_same(
    world: dict[str, Any], monkeypatch: pytest.MonkeyPatch
) -> None:
    web: WebContext = world["web"]
    gita, csrf = resident(world["app"], "gita")
    clients = [stranger(world["app"], 300 + n) for n in range(CONCURRENT)]
    for client in clients:
        client.cookies.update(gita.cookies)
    gate = Gate(CONCURRENT)
    monkeypatch.setattr(web.accounts, "export_key", gate.hold(web.accounts.export_key))
    form = {"password": "wrong password!", "csrf_token": csrf}
    codes = at_once(gate, [
        lambda c=c: c.post("/account/export", data=form).status_code for c in clients
    ])  # fmt: skip
    assert codes == [400] * LIMIT + [429] * (CONCURRENT - LIMIT)
    assert gate.checks == LIMIT


def test_right_passwords_are_given_back_so_only_wrong_ones_count(world: dict[str, Any]) -> None:
    client = stranger(world["app"], 400)
    right = {"username": "hana", "password": PASSWORD}
    wrong = {**WRONG, "username": "hana"}
    logins = [client.post("/api/v1/session", json=right).status_code for _ in range(8)]
    assert logins == [200] * 8  # more than 5: a login that succeeds is not a failure
    hana, csrf = resident(world["app"], "hana")
    headers = {"X-CSRF-Token": csrf}

    def export(password: str) -> int:
        body = {"password": password}
        return hana.post("/api/v1/me/key-export", json=body, headers=headers).status_code

    assert [export(PASSWORD) for _ in range(8)] == [200] * 8
    # the limits still hold after all those successes: five wrong, then 429 even when right
    assert [client.post("/api/v1/session", json=wrong).status_code for _ in range(LIMIT)] == [
        401
    ] * LIMIT
    assert client.post("/api/v1/session", json=right).status_code == 429
    assert [export("wrong password!") for _ in range(LIMIT)] == [400] * LIMIT
    assert export(PASSWORD) == 429
