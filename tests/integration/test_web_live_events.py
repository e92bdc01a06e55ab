"""A resident's pages get live updates as Server-Sent Events, and only their own data."""

from __future__ import annotations

import json

from fastapi.testclient import TestClient

from gridshare.domain import Side
from tests.integration.web_support import OPERATOR_PASSWORD, PASSWORD, log_in, register, web_app


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
