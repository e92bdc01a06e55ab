"""Scale: `gridshare simulate` wall time and peak RSS for 10, 100 and 1,000 houses, one day.

Each size runs `gridshare simulate` in its own process (so peak RSS is that run's alone) and
reads its wall time, CPU time and peak RSS (rusage of the child), and the size of the data
directory it leaves (the chain and the server's database: what the SD card must hold). Writes
bench/results/simulate.json after each size, each run with when it ran, the commit and the
machine's load average then (other work on the machine slows a run). Sizes that would exceed
--budget-s (estimated from the previous size, growing linearly with houses) are skipped and
recorded as such. `--merge` keeps the recorded runs of sizes not run this time.

    python bench/bench_simulate.py                 # 10, 100 (1000 skipped: over 1,800 s)
    python bench/bench_simulate.py --sizes 10 100 --budget-s 900
    python bench/bench_simulate.py --sizes 1000 --budget-s 0 --merge   # the long one alone
"""

from __future__ import annotations

import argparse
import itertools
import json
import os
import platform
import resource
import subprocess
import sys
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

RESULTS = Path(__file__).parent / "results" / "simulate.json"


def run_one(houses: int, days: int, market: str, step_s: int, poll_s: int) -> dict[str, Any]:
    """One `gridshare simulate` in a child process: wall time, peak RSS, its summary."""
    with tempfile.TemporaryDirectory() as tmp:
        out, data = Path(tmp) / "out", Path(tmp) / "data"
        cmd = [sys.executable, "-m", "gridshare.cli", "simulate", "--houses", str(houses),
               "--days", str(days), "--market", market, "--step-s", str(step_s),
               "--poll-s", str(poll_s),
               "--out", str(out), "--data", str(data), "--quiet"]
        usage = resource.getrusage(resource.RUSAGE_CHILDREN)
        before, cpu_before = usage.ru_maxrss, usage.ru_utime + usage.ru_stime
        started_at = datetime.now(UTC).isoformat(timespec="seconds")
        load = round(os.getloadavg()[0], 2)
        t0 = time.monotonic()
        proc = subprocess.run(cmd, capture_output=True, text=True)
        wall = time.monotonic() - t0
        usage = resource.getrusage(resource.RUSAGE_CHILDREN)
        peak_kb, cpu = usage.ru_maxrss, usage.ru_utime + usage.ru_stime - cpu_before
        if proc.returncode != 0:
            return {"houses": houses, "error": proc.stderr[-2000:]}
        summary = json.loads((out / "summary.json").read_text())
        data_bytes = sum(f.stat().st_size for f in data.rglob("*") if f.is_file())
    blocks = summary["chain"]["blocks"]
    return {
        "houses": houses,
        "days": days,
        "market": market,
        "step_s": step_s,
        "poll_s": poll_s,
        "measured_at": started_at,
        "commit": commit(),
        "load_average_1min_at_start": load,
        "wall_s": round(wall, 2),
        "cpu_s": round(cpu, 2),  # far below wall_s: the run waited for other work
        # ru_maxrss of children is the largest child so far: valid as sizes grow
        "peak_rss_mb": round(max(peak_kb, before) / 1024, 1),
        "trades": summary["totals"]["trades"],
        "orders_placed": summary["totals"]["orders_placed"],
        "traded_wh": summary["totals"]["traded_wh"],
        "delivered_wh": summary["totals"]["delivered_wh"],
        "deliveries_by_phase": summary["deliveries"],  # expired: refunded, never delivered
        "blocks": blocks,
        # the server's data directory at the end: chain (py-evm keeps every past state) + index
        "data_mb": round(data_bytes / 1e6, 1),
        "data_kb_per_block": round(data_bytes / 1e3 / max(blocks, 1), 1),
        # how far block time ran ahead of simulated time (runs before same-second blocks
        # shared a timestamp made at most one block per simulated second)
        "max_block_time_lead_s": summary["chain"]["max_block_time_lead_s"],
        "speedup_vs_real_time": round(days * 86_400 / wall, 1),
    }


def commit() -> str:
    """The repository's commit (with "+changes" if the tree differs from it), or "unknown"."""
    root = Path(__file__).resolve().parents[1]
    try:
        head = subprocess.run(["git", "rev-parse", "--short", "HEAD"], cwd=root, check=True,
                              capture_output=True, text=True).stdout.strip()  # fmt: skip
        dirty = subprocess.run(["git", "status", "--porcelain", "--untracked-files=no", "--",
                                ".", ":!bench/results"],  # results being written are not code
                               cwd=root, check=True, capture_output=True, text=True).stdout
    except (OSError, subprocess.CalledProcessError):
        return "unknown"
    return head + ("+changes" if dirty.strip() else "")


def write(runs: list[dict[str, Any]], merge: bool) -> None:
    """Record `runs` (with the recorded runs of other sizes, if `merge`)."""
    kept: list[dict[str, Any]] = []
    if merge and RESULTS.exists():
        sizes = {r["houses"] for r in runs}
        kept = [r for r in json.loads(RESULTS.read_text())["runs"] if r["houses"] not in sizes]
    runs = sorted(kept + runs, key=lambda r: int(r["houses"]))
    done = [r for r in runs if "wall_s" in r]
    for a, b in itertools.pairwise(done):
        b["wall_ratio_vs_previous"] = round(b["wall_s"] / a["wall_s"], 2)
        b["houses_ratio_vs_previous"] = round(b["houses"] / a["houses"], 2)
    RESULTS.parent.mkdir(parents=True, exist_ok=True)
    RESULTS.write_text(json.dumps({
        "benchmark": "gridshare simulate, one process per size",
        "machine": {"python": platform.python_version(), "platform": platform.platform(),
                    "processor": platform.processor() or platform.machine(),
                    "cores": os.cpu_count()},
        "runs": runs,
    }, indent=2) + "\n")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", type=int, nargs="+", default=[10, 100, 1000])
    parser.add_argument("--days", type=int, default=1)
    parser.add_argument("--market", default="continuous")
    parser.add_argument("--step-s", type=int, default=10)
    parser.add_argument("--poll-s", type=int, default=60,
                        help="seconds between the server's meter-poll rounds (default 60)")
    parser.add_argument("--budget-s", type=float, default=1800.0,
                        help="skip a size whose estimated wall time exceeds this (0: no limit)")
    parser.add_argument("--merge", action="store_true",
                        help="keep the recorded runs of the sizes not run now")
    args = parser.parse_args()
    runs: list[dict[str, Any]] = []
    per_house: float | None = None
    for houses in sorted(args.sizes):
        if per_house is not None and args.budget_s and per_house * houses > args.budget_s:
            est = round(per_house * houses)
            print(f"{houses:>5} houses: skipped (estimated {est} s > budget)", flush=True)
            runs.append({"houses": houses, "skipped": f"estimated {est} s > {args.budget_s} s"})
            continue
        r = run_one(houses, args.days, args.market, args.step_s, args.poll_s)
        runs.append(r)
        if "error" in r:
            print(f"{houses:>5} houses: FAILED\n{r['error']}", flush=True)
            break
        per_house = r["wall_s"] / houses
        print(f"{houses:>5} houses: {r['wall_s']:>8.1f} s  peak RSS {r['peak_rss_mb']:>7.1f} MB  "
              f"{r['trades']} trades, {r['blocks']} blocks, data {r['data_mb']} MB", flush=True)
        write(runs, args.merge)
    write(runs, args.merge)
    print(f"wrote {RESULTS}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
