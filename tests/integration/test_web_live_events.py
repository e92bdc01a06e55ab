"""A resident's pages get live updates as Server-Sent Events, and only their own data."""

from __future__ import annotations

import contextlib
import json
import time

import httpx
from fastapi.testclient import TestClient

from gridshare.domain import Side
from gridshare.web.live_streams import STREAMS_PER_SESSION
from tests.integration.web_support import OPERATOR_PASSWORD, PASSWORD, log_in, register, web_app
from tests.support.live_server import serve_in_thread


def first_update(client: TestClient, query: str = "") -> dict[str, object]:
    with client.stream("GET", "/api/v1/me/events" + query) as response:
        assert response.status_code == 200
        assert response.headers["content-type"].startswith("text/event-stream")
        event = None
        for line in response.iter_lines():
            if line.startswith("event: "):
                event = line.removeprefix("event: ")
            elif line.startswith("data: ") and event == "update":
                return dict(json.loads(line.removeprefix("data: ")))
    raise AssertionError("the stream ended without an update")


def test_events_stream_my_deliveries_and_not_my_neighbours() -> None:
    with web_app() as (_runtime, _settings, app):
        operator, csrf = log_in(app, "operator", OPERATOR_PASSWORD)
        register(operator, csrf, 1, "amina", "http://127.0.0.1:9", "11" * 32)
        register(operator, csrf, 2, "bilal", "http://127.0.0.1:9", "22" * 32)
        register(operator, csrf, 3, "chand", "http://127.0.0.1:9", "33" * 32)
        amina, amina_csrf = log_in(app, "amina", PASSWORD)
        bilal, bilal_csrf = log_in(app, "bilal", PASSWORD)
        chand, _ = log_in(app, "chand", PASSWORD)
        offer = amina.post(
            "/api/v1/orders",
            json={"side": Side.SELL.value, "amount_wh": 5, "price_per_wh": 10**15},
            headers={"X-CSRF-Token": amina_csrf},
        )
        assert offer.status_code in (200, 201), offer.text
        taken = bilal.post(
            f"/api/v1/orders/{offer.json()['id']}/take",
            json={"amount_wh": 5},
            headers={"X-CSRF-Token": bilal_csrf},
        )
        assert taken.status_code in (200, 201), taken.text

        update = first_update(bilal)
        (delivery,) = update["deliveries"]  # type: ignore[misc]
        assert delivery["amount_wh"] == 5 and delivery["status"] == "pending"
        assert delivery["buyer"] == bilal.get("/api/v1/me").json()["user"]["address"]
        assert delivery["seller"] == amina.get("/api/v1/me").json()["user"]["address"]
        meter = update["meter"]  # bilal's meter is registered but not running here
        assert isinstance(meter, dict) and meter["reachable"] is False
        assert first_update(chand)["deliveries"] == []  # a third household sees nothing of it
        # a page that shows one of them gets only that (the meter page: no 50 deliveries)
        assert set(first_update(bilal, "?only=meter")) == {"meter"}
        assert first_update(bilal, "?only=deliveries") == {"deliveries": update["deliveries"]}
        assert bilal.get("/api/v1/me/events?only=price").status_code == 422
        anonymous = TestClient(app)
        assert anonymous.get("/api/v1/me/events").status_code == 401


def test_a_stream_stops_when_its_session_is_ended_by_a_new_password() -> None:
    """A session a password change ended used to go on receiving the resident's meter and
    deliveries for the rest of its stream (about five minutes)."""
    with web_app() as (_runtime, _settings, app):
        operator, csrf = log_in(app, "operator", OPERATOR_PASSWORD)
        register(operator, csrf, 1, "amina", "http://127.0.0.1:9", "11" * 32)
        watcher, _ = log_in(app, "amina", PASSWORD)
        owner, owner_csrf = log_in(app, "amina", PASSWORD)
        updates_after = 0
        with watcher.stream("GET", "/api/v1/me/events?only=deliveries") as response:
            changed = False
            for line in response.iter_lines():
                if not line.startswith("event: update"):
                    continue
                if changed:
                    updates_after += 1
                    assert updates_after <= 1, "the stream went on after its session ended"
                    continue
                done = owner.put("/api/v1/me/password", headers={"X-CSRF-Token": owner_csrf},
                                 json={"password": PASSWORD, "new_password": "a new one!"})
                assert done.status_code == 200, done.text
                changed = True
        assert changed


def test_one_login_may_hold_four_streams_at_once_and_gets_its_place_back() -> None:
    """A tester opened 2,000 streams with one session: the other residents' pages took 14-24 s
    instead of 10 ms."""
    with web_app() as (_runtime, _settings, app), serve_in_thread(app) as url:
        operator, csrf = log_in(app, "operator", OPERATOR_PASSWORD)
        register(operator, csrf, 1, "amina", "http://127.0.0.1:9", "11" * 32)
        amina = httpx.Client(base_url=url, timeout=30)
        assert amina.post("/api/v1/session",
                          json={"username": "amina", "password": PASSWORD}).status_code == 200
        with contextlib.ExitStack() as tabs:
            for _ in range(STREAMS_PER_SESSION):
                stream = tabs.enter_context(amina.stream("GET", "/api/v1/me/events"))
                assert stream.status_code == 200
            refused = amina.get("/api/v1/me/events")
            assert refused.status_code == 429
            assert refused.json()["error"]["code"] == "too_many_streams"
            other, _ = log_in(app, "amina", PASSWORD)  # another phone: a session of its own
            assert first_update(other)["deliveries"] == []
        # the tabs are closed: their places come back
        deadline = time.monotonic() + 10
        while (status := _status_of_a_new_stream(amina)) == 429:
            assert time.monotonic() < deadline, "the closed streams kept their places"
            time.sleep(0.2)
        assert status == 200


def _status_of_a_new_stream(client: httpx.Client) -> int:
    with client.stream("GET", "/api/v1/me/events?only=meter") as stream:
        return stream.status_code
