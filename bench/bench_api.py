"""End to end: an order POSTed to a running `gridshare serve` until its receipt is confirmed.

Run alone:  .venv/bin/python bench/bench_api.py [--quick]
Prints p50/p95 and writes bench/results/api.json (goal in the performance issue: p95 <= 50 ms
on the embedded chain).

A real server process on 127.0.0.1 (embedded chain, default settings), two residents
registered over the API, then POST /api/v1/orders one after another over HTTP keep-alive.
The API answers 201 only once the order's transaction is mined and its OrderPlaced event
read from the receipt, so each request's time is order -> confirmed receipt as a resident's
phone sees it (less Wi-Fi). The chain is then checked to hold every order.
"""

from __future__ import annotations

import argparse
import json
import shutil
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import httpx

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))  # the test support starts `gridshare serve`

from bench.bench_chain import machine, summary  # noqa: E402
from tests.integration.ethers.gridshare_server import TEST_PASSWORD, start_server  # noqa: E402

RESULTS = ROOT / "bench" / "results" / "api.json"
RESIDENTS = 2
PASSWORD = "correct horse battery"
WARMUP = 10


def log_in(client: httpx.Client, username: str, password: str) -> str:
    """Log `client` in; returns its CSRF token."""
    reply = client.post("/api/v1/session", json={"username": username, "password": password})
    reply.raise_for_status()
    return str(reply.json()["csrf_token"])


def register(url: str) -> list[tuple[httpx.Client, str]]:
    """Register the residents as the operator; their logged-in clients and CSRF tokens."""
    residents = []
    with httpx.Client(base_url=url, timeout=60) as operator:
        csrf = log_in(operator, "operator", TEST_PASSWORD)
        for house in range(1, RESIDENTS + 1):
            body = {
                "name": f"House {house}", "username": f"resident{house}", "password": PASSWORD,
                "house_id": house, "meter_id": house, "meter_url": "http://127.0.0.1:9",
                "meter_key": "11" * 32,
            }  # fmt: skip
            reply = operator.post("/api/v1/households", json=body, headers={"X-CSRF-Token": csrf})
            reply.raise_for_status()
            client = httpx.Client(base_url=url, timeout=60)
            residents.append((client, log_in(client, f"resident{house}", PASSWORD)))
    return residents


def run(orders: int) -> dict[str, Any]:
    """Start a server, post `orders` orders (after a warm-up), return the latency summary."""
    scratch = Path(tempfile.mkdtemp(prefix="gridshare-bench-api-"))
    server = start_server(scratch / "data")
    try:
        residents = register(server.url)
        latencies: list[float] = []
        ids: list[int] = []
        for i in range(WARMUP + orders):
            client, csrf = residents[i % RESIDENTS]
            body = {"side": "sell", "amount_wh": 100 + i, "price_per_wh": 5}
            started = time.perf_counter()
            reply = client.post("/api/v1/orders", json=body, headers={"X-CSRF-Token": csrf})
            elapsed = time.perf_counter() - started
            if reply.status_code != 201:
                raise SystemExit(f"order {i} refused: {reply.status_code} {reply.text}")
            if i >= WARMUP:
                latencies.append(elapsed)
                ids.append(int(reply.json()["id"]))
        client, _ = residents[0]
        board = {int(o["id"]) for o in client.get("/api/v1/orders").json()}
        missing = set(ids) - board
        if missing:
            raise SystemExit(f"orders answered 201 but not on the board: {sorted(missing)[:5]}")
        for client, _ in residents:
            client.close()
    finally:
        server.stop()
        shutil.rmtree(scratch, ignore_errors=True)
    figures = summary(latencies)
    figures["orders_on_chain"] = len(ids)
    return figures


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="30 orders, nothing recorded")
    parser.add_argument("--orders", type=int, default=300, help="orders to time (default 300)")
    args = parser.parse_args()
    orders = 30 if args.quick else args.orders
    figures = run(orders)
    print(
        f"POST /api/v1/orders -> confirmed receipt, {orders} orders: "
        f"p50 {figures['p50_ms']} ms, p95 {figures['p95_ms']} ms "
        f"({figures['tx_per_s']} orders/s sequential)"
    )
    if not args.quick:
        report = {
            "benchmark": "api_end_to_end",
            "machine": machine(),
            "workload": "gridshare serve (embedded chain) over loopback HTTP; two residents "
            "alternate sell orders; each POST answers after the receipt is read",
            "goal_p95_ms": 50,
            "results": figures,
        }
        RESULTS.parent.mkdir(parents=True, exist_ok=True)
        RESULTS.write_text(json.dumps(report, indent=2) + "\n")
        print(f"written to {RESULTS.relative_to(ROOT)}")


if __name__ == "__main__":
    main()
