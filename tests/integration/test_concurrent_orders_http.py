"""50 concurrent HTTP requests to a running `gridshare serve`, from 5 logged-in residents.

Every order lands exactly once, and each resident's transactions on the chain (read back over
/rpc) carry consecutive nonces: the server's outbox hands them out with no gaps or repeats.
The 50 requests carry no Idempotency-Key, so each is a distinct order (test_request_keys.py
checks repeats that carry one).
"""

from __future__ import annotations

import threading
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest

from tests.integration.ethers.gridshare_server import TEST_PASSWORD, ServedProcess, start_server

RESIDENTS = 5
REQUESTS = 50
PASSWORD = "correct horse battery"
METER_KEY = "11" * 32


@dataclass
class Resident:
    address: str
    cookies: dict[str, str]
    csrf: str


def log_in(url: str, username: str, password: str) -> tuple[dict[str, str], str]:
    """(session cookies, CSRF token) of a fresh login."""
    with httpx.Client(base_url=url, timeout=30) as client:
        reply = client.post("/api/v1/session", json={"username": username, "password": password})
        assert reply.status_code == 200, reply.text
        return dict(client.cookies.items()), str(reply.json()["csrf_token"])


def rpc(server: ServedProcess, method: str, *params: Any) -> Any:
    reply = server.rpc(method, list(params))
    assert "error" not in reply, reply
    return reply["result"]


@pytest.fixture
def server(tmp_path: Path) -> Iterator[ServedProcess]:
    served = start_server(tmp_path / "data")
    yield served
    served.stop()


def register_residents(server: ServedProcess) -> list[Resident]:
    op_cookies, op_csrf = log_in(server.url, "operator", TEST_PASSWORD)
    residents = []
    with httpx.Client(base_url=server.url, cookies=op_cookies, timeout=60) as operator:
        for house in range(1, RESIDENTS + 1):
            body = {
                "name": f"House {house}", "username": f"resident{house}", "password": PASSWORD,
                "house_id": house, "meter_id": house, "meter_url": "http://127.0.0.1:9",
                "meter_key": METER_KEY,
            }  # fmt: skip
            created = operator.post(
                "/api/v1/households", json=body, headers={"X-CSRF-Token": op_csrf}
            )
            assert created.status_code == 201, created.text
            cookies, csrf = log_in(server.url, f"resident{house}", PASSWORD)
            residents.append(Resident(str(created.json()["address"]), cookies, csrf))
    return residents


def test_fifty_concurrent_http_orders_from_five_residents_land_once_with_no_nonce_gaps(
    server: ServedProcess,
) -> None:
    residents = register_residents(server)
    market = server.health()["contract_address"].lower()
    first_block = int(rpc(server, "eth_blockNumber"), 16) + 1
    start_nonce = {
        r.address: int(rpc(server, "eth_getTransactionCount", r.address, "latest"), 16)
        for r in residents
    }
    barrier = threading.Barrier(REQUESTS)

    def place(i: int) -> dict[str, Any]:
        resident = residents[i % RESIDENTS]
        with httpx.Client(base_url=server.url, cookies=resident.cookies, timeout=180) as client:
            barrier.wait(timeout=60)  # all fifty go out at the same instant
            reply = client.post(
                "/api/v1/orders",
                json={"side": "sell", "amount_wh": 100 + i, "price_per_wh": 5},
                headers={"X-CSRF-Token": resident.csrf},
            )
        assert reply.status_code == 201, reply.text
        return dict(reply.json())

    with ThreadPoolExecutor(max_workers=REQUESTS) as pool:
        placed = list(pool.map(place, range(REQUESTS)))

    # each request got its own order, owned by whoever sent it
    assert len({o["id"] for o in placed}) == REQUESTS
    for i, order in enumerate(placed):
        assert order["amount_wh"] == 100 + i
        assert order["owner"].lower() == residents[i % RESIDENTS].address.lower()

    # the board holds exactly those fifty orders, each once
    with httpx.Client(base_url=server.url, cookies=residents[0].cookies, timeout=30) as client:
        board = client.get("/api/v1/orders")
    assert board.status_code == 200, board.text
    assert sorted(o["id"] for o in board.json()) == sorted(o["id"] for o in placed)
    assert sorted(o["amount_wh"] for o in board.json()) == list(range(100, 100 + REQUESTS))

    # on the chain: each resident sent exactly ten successful transactions to the market,
    # with nonces start, start+1, …, start+9
    head = int(rpc(server, "eth_blockNumber"), 16)
    sent: dict[str, list[int]] = {r.address.lower(): [] for r in residents}
    for number in range(first_block, head + 1):
        block = rpc(server, "eth_getBlockByNumber", hex(number), True)
        for tx in block["transactions"]:
            if tx["from"].lower() in sent:
                assert tx["to"].lower() == market
                receipt = rpc(server, "eth_getTransactionReceipt", tx["hash"])
                assert receipt["status"] == "0x1", receipt
                sent[tx["from"].lower()].append(int(tx["nonce"], 16))
    per_resident = REQUESTS // RESIDENTS
    for r in residents:
        first = start_nonce[r.address]
        assert sent[r.address.lower()] == list(range(first, first + per_resident)), r.address
        assert int(rpc(server, "eth_getTransactionCount", r.address, "latest"), 16) == (
            first + per_resident
        )
