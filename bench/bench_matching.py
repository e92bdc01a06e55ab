"""Matching throughput of each mechanism and call-auction clearing time (issue 8).

Run: .venv/bin/python bench/bench_matching.py  — prints a table, writes bench/results/matching.json.
"""

from __future__ import annotations

import json
import os
import platform
import random
import statistics
import time
from datetime import UTC, datetime
from pathlib import Path

from gridshare.domain import Address, Order, OrderStatus, Side, Wei, Wh
from gridshare.market import (
    MECHANISMS,
    Mechanism,
    OrderBook,
    clear_auction,
    match_orders,
    mechanism_named,
)

RESTING = 10_000
INCOMING = 100_000
AUCTION_SIZES = (1_000, 10_000, 100_000)
REPEATS = 5
OWNERS = tuple(Address(f"0x{n:040x}") for n in range(1, 101))
FAR = 2**40
TARGET_CONTINUOUS_ORDERS_PER_S = 200_000
TARGET_AUCTION_10K_MS = 50.0
RESULTS = Path(__file__).resolve().parent / "results" / "matching.json"


def order(rng: random.Random, order_id: int, side: Side, low: int, high: int) -> Order:
    amount = Wh(rng.randint(1, 100))
    return Order(id=order_id, owner=rng.choice(OWNERS), side=side, amount_wh=amount,
                 remaining_wh=amount, price_per_wh=Wei(rng.randint(low, high)),
                 expires_at=FAR, status=OrderStatus.OPEN)


def resting_orders(rng: random.Random) -> list[Order]:
    """An uncrossed book: bids 900..999, asks 1001..1100 wei per Wh."""
    half = RESTING // 2
    return ([order(rng, n + 1, Side.BUY, 900, 999) for n in range(half)]
            + [order(rng, half + n + 1, Side.SELL, 1001, 1100) for n in range(half)])


def incoming_orders(rng: random.Random, first_id: int) -> list[Order]:
    """Half passive orders inside the spread's own side, half aggressive ones across it.

    An aggressive order (buy at 1100, sell at 900) sweeps about one resting order and each
    passive one rests, so the book stays near its starting size while half the arrivals trade.
    """
    orders = []
    for n in range(INCOMING):
        side = rng.choice((Side.BUY, Side.SELL))
        if rng.random() < 0.5:
            low, high = (900, 999) if side is Side.BUY else (1001, 1100)
        else:
            low = high = 1100 if side is Side.BUY else 900
        orders.append(order(rng, first_id + n, side, low, high))
    return orders


def throughput(
    mechanism: Mechanism, resting: list[Order], incoming: list[Order]
) -> dict[str, float]:
    """Orders/s submitting `incoming` to a book already holding `resting` (then one clear)."""
    book = OrderBook()
    for o in resting:
        book.add(o)
    submit = mechanism.submit
    fills = 0
    start = time.perf_counter()
    for o in incoming:
        fills += len(submit(book, o, 0))
    submitted = time.perf_counter()
    fills += len(mechanism.clear(book, 0))
    end = time.perf_counter()
    return {
        "orders_per_s": len(incoming) / (submitted - start),
        "orders_per_s_including_clear": len(incoming) / (end - start),
        "clear_ms": (end - submitted) * 1000,
        "fills": fills,
        "book_after": len(book),
    }


def auction_clearing(rng: random.Random, size: int) -> dict[str, float]:
    """Median time to clear a book of `size` orders (both sides priced 900..1100)."""
    orders = [order(rng, n + 1, rng.choice((Side.BUY, Side.SELL)), 900, 1100)
              for n in range(size)]
    clear_ms, round_ms = [], []
    fills = volume = 0
    for _ in range(REPEATS):
        book = OrderBook()
        for o in orders:
            book.add(o)
        start = time.perf_counter()
        clearing = clear_auction(book, 0)
        clear_ms.append((time.perf_counter() - start) * 1000)
        fills, volume = len(clearing.fills), clearing.volume_wh
        start = time.perf_counter()
        match_orders(orders, mechanism_named("auction"), 0)
        round_ms.append((time.perf_counter() - start) * 1000)
    return {"orders": size, "clear_ms": statistics.median(clear_ms),
            "round_from_chain_orders_ms": statistics.median(round_ms),
            "fills": fills, "volume_wh": volume}


def main() -> None:
    """Run every measurement, print a table and write the JSON record."""
    rng = random.Random(8)
    resting = resting_orders(rng)
    incoming = incoming_orders(rng, RESTING + 1)
    mechanisms = {}
    for name in MECHANISMS:
        runs = [throughput(mechanism_named(name), resting, incoming) for _ in range(REPEATS)]
        best = max(runs, key=lambda r: r["orders_per_s"])
        best["orders_per_s_median"] = statistics.median(r["orders_per_s"] for r in runs)
        mechanisms[name] = best
        print(f"{name:>10}: {best['orders_per_s_median']:>10,.0f} orders/s (median of {REPEATS}, "
              f"best {best['orders_per_s']:,.0f}) with {RESTING:,} resting; "
              f"{best['fills']:,} fills")
    auctions = [auction_clearing(rng, size) for size in AUCTION_SIZES]
    for a in auctions:
        print(f"   auction: clear {a['orders']:>7,} orders in {a['clear_ms']:8.2f} ms "
              f"(whole round from chain orders {a['round_from_chain_orders_ms']:8.2f} ms), "
              f"{a['fills']:,} fills")
    continuous = mechanisms["continuous"]["orders_per_s_median"]
    auction_10k = next(a["clear_ms"] for a in auctions if a["orders"] == 10_000)
    targets = {
        "continuous_orders_per_s": {"target": TARGET_CONTINUOUS_ORDERS_PER_S,
                                    "measured": continuous,
                                    "met": continuous >= TARGET_CONTINUOUS_ORDERS_PER_S},
        "auction_clear_10k_ms": {"target": TARGET_AUCTION_10K_MS, "measured": auction_10k,
                                 "met": auction_10k <= TARGET_AUCTION_10K_MS},
    }
    for key, t in targets.items():
        print(f"target {key}: {t['measured']:,.2f} vs {t['target']:,} -> "
              f"{'met' if t['met'] else 'MISSED'}")
    record = {
        "benchmark": "matching",
        "timestamp": datetime.now(UTC).isoformat(timespec="seconds"),
        "machine": {"cpu_count": os.cpu_count(), "python": platform.python_version(),
                    "implementation": platform.python_implementation(),
                    "platform": platform.platform(), "machine": platform.machine(),
                    "processor": platform.processor()},
        "workload": {"resting_orders": RESTING, "incoming_orders": INCOMING,
                     "resting_prices": "bids 900..999, asks 1001..1100",
                     "incoming": "random side; half passive (bids 900..999, asks 1001..1100), "
                     "half aggressive (buy at 1100, sell at 900)",
                     "amount_wh": "1..100",
                     "owners": len(OWNERS), "repeats": REPEATS},
        "mechanisms": mechanisms,
        "auction_clearing": auctions,
        "targets": targets,
    }
    RESULTS.parent.mkdir(parents=True, exist_ok=True)
    RESULTS.write_text(json.dumps(record, indent=2) + "\n")
    print(f"wrote {RESULTS}")


if __name__ == "__main__":
    main()
