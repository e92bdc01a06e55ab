"""Page server times with 10 houses and 1,000 trades of history (target < 200 ms per page).

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

HOUSES, TRADES, RUNS = 10, 1000, 20
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
            client.get(path)  # warm the history cache
            times = []
            for _ in range(RUNS):
                t = time.perf_counter()
                response = client.get(path)
                times.append((time.perf_counter() - t) * 1000)
                assert response.status_code == 200, (path, response.status_code)
            results[path] = {"median_ms": round(statistics.median(times), 1),
                             "max_ms": round(max(times), 1)}
            print(f"{path:28s} median {results[path]['median_ms']:7.1f} ms"
                  f"  max {results[path]['max_ms']:7.1f} ms")
        out = {"houses": HOUSES, "trades": TRADES, "runs": RUNS, "target_ms": 200,
               "setup_s": round(setup_s, 1), "pages": results,
               "all_under_target": all(r["median_ms"] < 200 for r in results.values())}
        (ROOT / "bench" / "results").mkdir(parents=True, exist_ok=True)
        (ROOT / "bench" / "results" / "pages.json").write_text(json.dumps(out, indent=2) + "\n")
        print(json.dumps({k: v for k, v in out.items() if k != "pages"}))
        del runtime


if __name__ == "__main__":
    main()
