"""Explorer page server times with 100,000 indexed transactions (target: < 200 ms per page).

Plain Python, runnable alone: `python bench/bench_explorer.py`. The index rows are synthesized
straight into an explorer index file (10,000 blocks of 10 EnergyMarket transactions by 50
households, with their OrderPlaced / DeliveryCreated / DeliverySettled events); the pages are
then served by the real explorer routes through FastAPI's TestClient, with a constant stand-in
for the live chain reads. Prints a table and writes bench/results/explorer.json.
"""

from __future__ import annotations

import json
import platform
import statistics
import tempfile
import time
from pathlib import Path
from typing import Any

from fastapi import FastAPI
from fastapi.testclient import TestClient

from gridshare.explorer import (
    BlockRecord,
    Call,
    Event,
    Explorer,
    ExplorerStore,
    IndexedBlock,
    Indexer,
    MarketAbi,
    TxRecord,
)
from gridshare.explorer.indexer import BackgroundIndexer
from gridshare.explorer.wiring import ExplorerParts
from gridshare.web.errors import install_error_handlers
from gridshare.web.routes import explorer as explorer_routes

BLOCKS, PER_BLOCK, HOUSES = 10_000, 10, 50
MARKET = "0x" + "ee" * 20
COIN = 10**18
RUNS = 15
TARGET_MS = 200
RESULTS = Path(__file__).resolve().parent / "results" / "explorer.json"


def house(i: int) -> str:
    return "0x" + f"{i + 1:040x}"


class ConstantChain:
    """Live reads answered instantly, so the figures are the explorer's own work."""

    def chain_id(self) -> int: return 1337
    def gas_price(self) -> int: return 0
    def head(self) -> int: return BLOCKS
    def wallet_balance(self, address: str) -> int: return 5 * COIN
    def market_balances(self, address: str) -> tuple[int, int, int]: return (COIN, 0, 0)


def synthesize(store: ExplorerStore) -> None:
    """BLOCKS x PER_BLOCK market transactions; every 5th order ends in a settled delivery."""
    t0 = 1_700_000_000
    genesis_events = tuple(
        Event("HouseholdRegistered", {"account": house(i), "house_id": i + 1,
                                      "meter_id": 100 + i}, 0, i, "0x" + "00" * 32, t0)
        for i in range(HOUSES))
    batch = [IndexedBlock(BlockRecord(0, "0x" + f"{0:064x}", "0x" + "00" * 32, "0x0", 0, 500,
                                      30_000_000, 0, t0, "0x" + "00" * 20, 0, 0),
                          (TxRecord("0x" + "00" * 32, 0, 0, house(0), MARKET, 0, 1, 0, 1, 1,
                                    None, "0x", 0),), genesis_events)]
    deliveries = 0
    for number in range(1, BLOCKS + 1):
        txs, events = [], []
        for idx in range(PER_BLOCK):
            order = (number - 1) * PER_BLOCK + idx + 1
            owner = house(order % HOUSES)
            tx_hash = "0x" + f"{number:032x}{idx:032x}"
            args = {"is_buy": False, "amount_wh": 5, "price_per_wh": 8 * COIN,
                    "expires_at": t0 + 10**6}
            txs.append(TxRecord(tx_hash, number, idx, owner, MARKET, 0, 300_000, 0, 120_000, 1,
                                None, "0x" + "ab" * 132, order, call=Call("place_order", args)))
            events.append(Event("OrderPlaced", {"order_id": order, "owner": owner, **args},
                                number, idx * 4, tx_hash, t0 + number))
            if order % 5 == 0:
                deliveries += 1
                buyer = house((order + 1) % HOUSES)
                common = {"delivery_id": deliveries, "buyer": buyer, "seller": owner}
                events.append(Event("DeliveryCreated", {
                    **common, "amount_wh": 5, "price_per_wh": 8 * COIN, "deadline": t0 + 3600,
                    "buy_order_id": 0, "sell_order_id": order}, number, idx * 4 + 1, tx_hash,
                    t0 + number))
                events.append(Event("DeliverySettled", {
                    **common, "delivered_wh": 4, "paid": 32 * COIN, "refunded": 8 * COIN},
                    number, idx * 4 + 2, tx_hash, t0 + number))
        block = BlockRecord(number, "0x" + f"{number:064x}", "0x" + f"{number - 1:064x}", "0x0",
                            0, 5000, 30_000_000, 1_200_000, t0 + number, "0x" + "00" * 20, 0,
                            PER_BLOCK)
        batch.append(IndexedBlock(block, tuple(txs), tuple(events)))
        if len(batch) >= 500:
            store.append(batch)
            batch = []
    store.append(batch)


def main() -> None:
    work = Path(tempfile.mkdtemp(prefix="gridshare-bench-explorer-"))
    store = ExplorerStore(work / "explorer.sqlite")
    started = time.perf_counter()
    synthesize(store)
    fill_s = time.perf_counter() - started
    explorer = Explorer(store, ConstantChain(), market=MARKET, operator=None, symbol="PKR")
    indexer = Indexer(store, None, MarketAbi([]), MARKET)  # type: ignore[arg-type]  # never run
    app = FastAPI()
    install_error_handlers(app)
    app.include_router(explorer_routes.router)
    app.state.explorer = ExplorerParts(store, indexer, BackgroundIndexer(indexer), explorer)
    mid = BLOCKS // 2
    pages = {
        "index": "/explorer",
        "block": f"/explorer/block/{mid}",
        "tx": "/explorer/tx/0x" + f"{mid:032x}{5:032x}",
        "address_house_page1": f"/explorer/address/{house(7)}",
        "address_house_page50": f"/explorer/address/{house(7)}?page=50&orders=40&deliveries=10",
        "address_market_page1": f"/explorer/address/{MARKET}",
        "address_market_page2000": f"/explorer/address/{MARKET}?page=2000",
        "order": f"/explorer/order/{mid * PER_BLOCK}",
        "delivery": "/explorer/delivery/10000",
        "search_house": "/explorer/search?q=house-07",
        "search_tx": "/explorer/search?q=0x" + f"{mid:032x}{5:032x}",
        "search_number_ambiguous": "/explorer/search?q=4000",
        "api_summary": "/api/v1/explorer/summary",
        "api_address": f"/api/v1/explorer/addresses/{house(7)}",
    }
    results: dict[str, dict[str, Any]] = {}
    with TestClient(app) as client:
        for name, path in pages.items():
            reply = client.get(path, follow_redirects=False)
            assert reply.status_code in (200, 303), (path, reply.status_code, reply.text[:300])
            times = []
            for _ in range(RUNS):
                t = time.perf_counter()
                client.get(path, follow_redirects=False)
                times.append((time.perf_counter() - t) * 1000)
            times.sort()
            results[name] = {"path": path, "p50_ms": round(statistics.median(times), 2),
                             "p95_ms": round(times[int(len(times) * 0.95) - 1], 2),
                             "max_ms": round(times[-1], 2)}
            print(f"{name:28s} p50 {results[name]['p50_ms']:8.2f} ms   "
                  f"p95 {results[name]['p95_ms']:8.2f} ms")
    store.close()
    worst = max(float(r["p95_ms"]) for r in results.values())
    report = {
        "benchmark": "explorer",
        "machine": {"cpu": platform.processor() or platform.machine(), "python":
                    platform.python_version(), "os": platform.platform()},
        "workload": f"{BLOCKS * PER_BLOCK} indexed transactions in {BLOCKS} blocks, "
                    f"{HOUSES} households, {BLOCKS * PER_BLOCK // 5} settled deliveries; "
                    f"{RUNS} warm requests per page through TestClient",
        "index_fill_s": round(fill_s, 1),
        "index_file_mb": round((work / "explorer.sqlite").stat().st_size / 2**20, 1),
        "target_ms": TARGET_MS,
        "worst_p95_ms": worst,
        "meets_target": worst < TARGET_MS,
        "pages": results,
    }
    RESULTS.parent.mkdir(parents=True, exist_ok=True)
    RESULTS.write_text(json.dumps(report, indent=2) + "\n")
    print(f"worst p95 {worst} ms (target < {TARGET_MS} ms) -> {RESULTS}")


if __name__ == "__main__":
    main()
