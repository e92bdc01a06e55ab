"""Disk: how much the chain grows per simulated day, and what `gridshare prune-chain` gives back.

For each size, one `gridshare simulate` day keeps its data directory; then
`gridshare prune-chain --keep-blocks K --vacuum` runs on it. Prints and writes
bench/results/disk.json: the chain file before and after, per block, and the prune's time.

    python bench/bench_disk.py                       # 10 houses
    python bench/bench_disk.py --sizes 10 100
"""

from __future__ import annotations

import argparse
import json
import platform
import subprocess
import sys
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from bench.bench_simulate import commit  # noqa: E402

RESULTS = ROOT / "bench" / "results" / "disk.json"


def chain_bytes(data: Path) -> int:
    return sum(f.stat().st_size for f in (data / "chain").iterdir() if f.is_file())


def gridshare(*args: str) -> str:
    """Run the console script in a child process; its stdout."""
    proc = subprocess.run([sys.executable, "-m", "gridshare.cli", *args],
                          capture_output=True, text=True, check=False)  # fmt: skip
    if proc.returncode != 0:
        raise SystemExit(f"gridshare {' '.join(args)} failed:\n{proc.stderr[-2000:]}")
    return proc.stdout


def run_one(houses: int, keep_blocks: int) -> dict[str, Any]:
    with tempfile.TemporaryDirectory() as tmp:
        data, out = Path(tmp) / "data", Path(tmp) / "out"
        gridshare("simulate", "--houses", str(houses), "--data", str(data), "--out", str(out),
                  "--quiet")  # fmt: skip
        blocks = int(json.loads((out / "summary.json").read_text())["chain"]["blocks"])
        before = chain_bytes(data)
        started = time.monotonic()
        report = gridshare("prune-chain", "--data", str(data), "--keep-blocks", str(keep_blocks),
                           "--vacuum")  # fmt: skip
        prune_s = time.monotonic() - started
        after = chain_bytes(data)
    return {
        "houses": houses,
        "days": 1,
        "measured_at": datetime.now(UTC).isoformat(timespec="seconds"),
        "commit": commit(),
        "blocks": blocks,
        "keep_blocks": keep_blocks,
        "chain_mb_before": round(before / 1e6, 1),
        "chain_mb_after_prune": round(after / 1e6, 1),
        "kb_per_block_before": round(before / 1e3 / blocks, 1),
        "kb_per_block_after": round(after / 1e3 / blocks, 1),
        "prune_and_vacuum_s": round(prune_s, 1),  # with the child's start-up (~1 s)
        "prune_report": report.strip().splitlines(),
    }


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", type=int, nargs="+", default=[10])
    parser.add_argument("--keep-blocks", type=int, default=128)
    args = parser.parse_args()
    runs = []
    for houses in args.sizes:
        run = run_one(houses, args.keep_blocks)
        runs.append(run)
        print(f"{houses:>5} houses, 1 day, {run['blocks']} blocks: chain "
              f"{run['chain_mb_before']} MB -> {run['chain_mb_after_prune']} MB after prune-chain "
              f"--keep-blocks {args.keep_blocks} --vacuum ({run['prune_and_vacuum_s']} s)",
              flush=True)  # fmt: skip
    RESULTS.parent.mkdir(parents=True, exist_ok=True)
    RESULTS.write_text(json.dumps({
        "benchmark": "chain disk growth per simulated day, before and after prune-chain",
        "machine": {"python": platform.python_version(), "platform": platform.platform()},
        "runs": runs,
    }, indent=2) + "\n")
    print(f"wrote {RESULTS}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
