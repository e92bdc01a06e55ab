"""A web app over a fresh embedded chain, with an operator and two residents, for web tests."""

from __future__ import annotations

import contextlib
import sqlite3
import tempfile
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from fastapi.testclient import TestClient

from gridshare.config import Settings
from gridshare.runtime import Runtime, build_runtime
from gridshare.web.app import create_app

OPERATOR_PASSWORD = "gridshare-development-only"
PASSWORD = "correct horse battery"


@dataclass
class Resident:
    username: str
    address: str
    house_id: int
    client: TestClient
    csrf: str


def close_runtime(runtime: Runtime) -> None:
    """Close a runtime whose SQLite connections were opened in server threads."""
    while runtime.closers:
        runtime.closers.pop()()
    with contextlib.suppress(sqlite3.ProgrammingError):  # a server thread's connection
        runtime.database.close()
    runtime.chain.close()


@contextmanager
def web_app(
    data_dir: Path | None = None, **overrides: Any
) -> Iterator[tuple[Runtime, Settings, object]]:
    """(runtime, settings, app) over a fresh data directory; `overrides` are Settings fields.

    Passwords and keys are hashed at the light cost unless `password_work` says otherwise."""
    folder = data_dir or Path(tempfile.mkdtemp(prefix="gridshare-web-"))
    settings = Settings(data_dir=folder, **{"password_work": "light", **overrides})
    runtime = build_runtime(settings)
    try:
        yield runtime, settings, create_app(settings, runtime)
    finally:
        close_runtime(runtime)


def log_in(app: object, username: str, password: str) -> tuple[TestClient, str]:
    client = TestClient(app)  # type: ignore[arg-type]
    client.__enter__()
    response = client.post("/api/v1/session", json={"username": username, "password": password})
    assert response.status_code == 200, response.text
    return client, str(response.json()["csrf_token"])


def register(
    operator: TestClient, csrf: str, house_id: int, username: str, meter_url: str,
    meter_key: str, *, coins: int = 1000, wallet: str | None = None,
) -> dict[str, object]:
    body = {
        "name": f"House {house_id}", "username": username, "password": PASSWORD,
        "house_id": house_id, "meter_id": house_id, "meter_url": meter_url,
        "meter_key": meter_key, "top_up_coins": coins,
    }
    if wallet:
        body["wallet_address"] = wallet
    response = operator.post("/api/v1/households", json=body, headers={"X-CSRF-Token": csrf})
    assert response.status_code == 201, response.text
    result: dict[str, object] = response.json()
    return result


def register_residents(
    app: object, operator: TestClient, csrf: str, names: Sequence[str], meter_key: str
) -> dict[str, Resident]:
    """Houses 1, 2, ... registered for `names` (meters nobody answers at), each logged in."""
    residents = {}
    for house, name in enumerate(names, start=1):
        created = register(operator, csrf, house, name, "http://127.0.0.1:9", meter_key)
        client, resident_csrf = log_in(app, name, PASSWORD)
        residents[name] = Resident(name, str(created["address"]), house, client, resident_csrf)
    return residents


def counts(world: dict[str, Any], resident: Resident) -> tuple[int, int, int]:
    """(orders, deliveries, the resident's transactions) on the chain of `world["runtime"]`:
    a request that changed nothing leaves all three as they were."""
    market = world["runtime"].market
    nonce = world["runtime"].chain.w3.eth.get_transaction_count(resident.address)
    return market.order_count(), market.delivery_count(), nonce


def offer(world: dict[str, Any], amount_wh: int = 50, price: int = 10**15) -> int:
    """amina's sell offer through the API (price in wei per Wh); its order id."""
    amina: Resident = world["amina"]
    placed = amina.client.post(
        "/api/v1/orders", json={"side": "sell", "amount_wh": amount_wh, "price_per_wh": price},
        headers={"X-CSRF-Token": amina.csrf},
    )  # fmt: skip
    assert placed.status_code == 201, placed.text
    return int(placed.json()["id"])


def trade(
    seller: tuple[TestClient, str], buyer: tuple[TestClient, str], amount_wh: int = 20,
    price_per_wh: int = 10**12,
) -> int:
    """`seller` (a client and its CSRF token, as `log_in` gives them) offers `amount_wh`
    through the API and `buyer` takes all of it; the delivery's id."""
    (seller_client, seller_csrf), (buyer_client, buyer_csrf) = seller, buyer
    placed = seller_client.post(
        "/api/v1/orders", headers={"X-CSRF-Token": seller_csrf},
        json={"side": "sell", "amount_wh": amount_wh, "price_per_wh": price_per_wh},
    )  # fmt: skip
    assert placed.status_code == 201, placed.text
    taken = buyer_client.post(
        f"/api/v1/orders/{placed.json()['id']}/take", headers={"X-CSRF-Token": buyer_csrf},
        json={"amount_wh": amount_wh},
    )  # fmt: skip
    assert taken.status_code == 201, taken.text
    return int(taken.json()["id"])
