"""Page server times with 10 houses and 1,000 trades of history (target < 200 ms per page).

Then again for the market and account pages once 500 orders nobody took have expired (they
stay open on chain until someone cancels them), as they pile up in a village over weeks.
Writes bench/results/pages.json. Meters are not running here, so the meter and community pages
measure the server's own work plus a refused meter connection (loopback, port 9).
"""

from __future__ import annotations

import json
import statistics
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from tests.integration.web_support import (  # noqa: E402
    OPERATOR_PASSWORD,
    PASSWORD,
    log_in,
    register,
    web_app,
)

from gridshare.domain import Side  # noqa: E402

HOUSES, TRADES, RUNS, EXPIRED = 10, 1000, 20, 500
PAGES = ("/market", "/account", "/community", "/meter", "/operator", "/api/v1/trades",
         "/api/v1/me/deliveries", "/account/statement.csv")


def main() -> None:
    with web_app(Path(tempfile.mkdtemp(prefix="gridshare-bench-"))) as (runtime, _s, app):
        operator, csrf = log_in(app, "operator", OPERATOR_PASSWORD)
        for house in range(1, HOUSES + 1):
            register(operator, csrf, house, f"house{house}", "http://127.0.0.1:9", "33" * 32,
                     coins=100_000)
        ctx = app.state.web  # type: ignore[attr-defined]
        signers = {}
        for house in range(1, HOUSES + 1):
            login = ctx.accounts.login(f"house{house}", PASSWORD)
            signers[house] = login.signer
        started = time.perf_counter()
        for i in range(TRADES):
            seller, buyer = signers[i % HOUSES + 1], signers[(i + 1) % HOUSES + 1]
            order = ctx.trading.place_order(seller, Side.SELL, 2, 10**15 + i, 3600)
            ctx.trading.take(buyer, order.id, 2)
        # history is past trades: settle them as the orchestrator would (metered = traded)
        batch = runtime.market.limits.max_batch
        ids = list(range(1, runtime.market.delivery_count() + 1))
        for i in range(0, len(ids), batch):
            runtime.market.settle_batch(runtime.operator, [(d, 2) for d in ids[i:i + batch]])
        setup_s = time.perf_counter() - started
        resident, _ = log_in(app, "house1", PASSWORD)
        results = {}
        for path in PAGES:
            client = operator if path == "/operator" else resident
            results[path] = timed(client, path)
        for i in range(EXPIRED):  # offers nobody takes, valid for a minute
            ctx.trading.place_order(signers[i % HOUSES + 1], Side.SELL, 2, 10**15, 60)
        ahead = time.time() + 120  # two minutes on: every one of them has expired
        assert runtime.chain.embedded is not None
        runtime.chain.embedded.set_clock(lambda: ahead)
        runtime.clock_s = lambda: ahead
        ctx.trading.place_order(signers[1], Side.SELL, 2, 10**15, 3600)  # a block at that time
        with_expired = {path: timed(resident, path) for path in ("/market", "/account")}
        out = {"houses": HOUSES, "trades": TRADES, "runs": RUNS, "target_ms": 200,
               "setup_s": round(setup_s, 1), "pages": results,
               "expired_open_orders": EXPIRED, "pages_with_expired_orders": with_expired,
               "all_under_target": all(r["median_ms"] < 200 for r in results.values())}
        (ROOT / "bench" / "results").mkdir(parents=True, exist_ok=True)
        (ROOT / "bench" / "results" / "pages.json").write_text(json.dumps(out, indent=2) + "\n")
        print(json.dumps({k: v for k, v in out.items() if k != "pages"}))
        del runtime


def timed(client: Any, path: str) -> dict[str, float]:
    """Median and slowest of RUNS requests for `path` (after one to warm the caches)."""
    client.get(path)
    times = []
    for _ in range(RUNS):
        t = time.perf_counter()
        response = client.get(path)
        times.append((time.perf_counter() - t) * 1000)
        assert response.status_code == 200, (path, response.status_code)
    result = {"median_ms": round(statistics.median(times), 1), "max_ms": round(max(times), 1)}
    print(f"{path:28s} median {result['median_ms']:7.1f} ms  max {result['max_ms']:7.1f} ms")
    return result


if __name__ == "__main__":
    main()
