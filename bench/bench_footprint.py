"""Footprint: memory and idle CPU of a 10-house community after a simulated week.

Run alone:  .venv/bin/python bench/bench_footprint.py [--speed 2400] [--days 7] [--idle 60]
Prints the figures and writes bench/results/footprint.json (goal in the performance issue:
a 10-house server within 200 MB of RSS).

1. `gridshare demo --fresh` (ten Neelum valley houses, their simulated meters running the
   firmware, an agent per house, the web app, the market engine) runs until its chain's
   clock has advanced `--days` simulated days; the process's RSS is sampled throughout.
   This process holds the server AND the ten meter simulators with their house physics.
2. The demo is stopped (SIGINT) and `gridshare serve` opens the same data directory: the
   village server alone, with the week's history, no meters reachable. After a warm-up,
   its RSS and CPU use are measured over `--idle` seconds with no requests.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import httpx

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from bench.bench_chain import machine  # noqa: E402
from tests.support.nodes import free_port  # noqa: E402

RESULTS = ROOT / "bench" / "results" / "footprint.json"
DAY_S = 86_400
WARMUP_S = 20


def memory_kb(pid: int) -> dict[str, int]:
    """VmRSS (now) and VmHWM (peak) of a process, in kB."""
    fields = {}
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        name, _, value = line.partition(":")
        if name in ("VmRSS", "VmHWM"):
            fields[name] = int(value.split()[0])
    return fields


def cpu_seconds(pid: int) -> float:
    """User + system CPU time the process has used."""
    stat = Path(f"/proc/{pid}/stat").read_text()
    fields = stat[stat.rindex(")") + 2 :].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def head(url: str) -> tuple[int, int]:
    """(number, timestamp) of the chain's latest block, over /rpc."""
    payload = {"jsonrpc": "2.0", "id": 1, "method": "eth_getBlockByNumber",
               "params": ["latest", False]}  # fmt: skip
    block = httpx.post(f"{url}/rpc", json=payload, timeout=30).json()["result"]
    return int(block["number"], 16), int(block["timestamp"], 16)


def wait_for(url: str, process: subprocess.Popen[bytes], timeout: float = 120) -> None:
    """Until /api/v1/health answers (or the process dies)."""
    end = time.monotonic() + timeout
    while time.monotonic() < end:
        if process.poll() is not None:
            raise SystemExit(f"{process.args} exited with {process.returncode}")
        try:
            if httpx.get(f"{url}/api/v1/health", timeout=5).status_code == 200:
                return
        except httpx.HTTPError:
            pass
        time.sleep(0.5)
    raise SystemExit(f"{url} did not answer within {timeout} s")


def stop(process: subprocess.Popen[bytes], signum: int) -> None:
    process.send_signal(signum)
    try:
        process.wait(timeout=60)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait()


def environment() -> dict[str, str]:
    return {k: v for k, v in os.environ.items() if not k.startswith("GRIDSHARE_")}


def run_demo(data: Path, days: float, speed: float) -> dict[str, Any]:
    """The community for `days` simulated days; RSS samples and what the chain holds."""
    port, meters = free_port(), free_port()
    url = f"http://127.0.0.1:{port}"
    command = [sys.executable, "-m", "gridshare.cli", "demo", "--fresh", "--data", str(data),
               "--port", str(port), "--meter-base-port", str(meters), "--speed", str(speed)]
    log = (data.parent / "demo.log").open("wb")
    process = subprocess.Popen(command, stdout=log, stderr=subprocess.STDOUT,
                               stdin=subprocess.DEVNULL, env=environment())  # fmt: skip
    try:
        wait_for(url, process)
        started = time.monotonic()
        first_block, first_time = head(url)
        samples = []
        while True:
            number, timestamp = head(url)
            rss = memory_kb(process.pid)["VmRSS"]
            simulated_days = (timestamp - first_time) / DAY_S
            samples.append({"simulated_days": round(simulated_days, 3), "block": number,
                            "rss_mb": round(rss / 1024, 1)})  # fmt: skip
            if simulated_days >= days:
                break
            time.sleep(5)
        peak = memory_kb(process.pid)["VmHWM"]
        wall = time.monotonic() - started
    finally:
        stop(process, signal.SIGINT)
        log.close()
    return {
        "simulated_days": days,
        "speed": speed,
        "wall_s": round(wall, 1),
        "blocks": samples[-1]["block"] - first_block,
        "rss_mb_at_end": samples[-1]["rss_mb"],
        "peak_rss_mb": round(peak / 1024, 1),
        "samples": samples[:: max(1, len(samples) // 20)],
    }


def run_server(data: Path, idle_s: float) -> dict[str, Any]:
    """`gridshare serve` on the week's data directory: RSS and CPU while nobody uses it."""
    port = free_port()
    url = f"http://127.0.0.1:{port}"
    command = [sys.executable, "-m", "gridshare.cli", "serve", "--data", str(data),
               "--host", "127.0.0.1", "--port", str(port)]  # fmt: skip
    log = (data.parent / "serve.log").open("wb")
    process = subprocess.Popen(command, stdout=log, stderr=subprocess.STDOUT,
                               stdin=subprocess.DEVNULL, env=environment())  # fmt: skip
    try:
        wait_for(url, process)
        time.sleep(WARMUP_S)  # start-up work (recovery, the engine's first rounds) settles
        cpu_before, wall_before = cpu_seconds(process.pid), time.monotonic()
        time.sleep(idle_s)
        cpu = cpu_seconds(process.pid) - cpu_before
        wall = time.monotonic() - wall_before
        memory = memory_kb(process.pid)
    finally:
        stop(process, signal.SIGTERM)
        log.close()
    return {
        "idle_s": round(wall, 1),
        "rss_mb": round(memory["VmRSS"] / 1024, 1),
        "peak_rss_mb": round(memory["VmHWM"] / 1024, 1),
        "idle_cpu_percent_of_one_core": round(100 * cpu / wall, 2),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--days", type=float, default=7.0, help="simulated days (default 7)")
    parser.add_argument("--speed", type=float, default=300.0,
                        help="demo clock speed-up (default 300: a week in ~34 min; faster "
                        "runs trade less than a real week, the agents outrun the chain)")
    parser.add_argument("--idle", type=float, default=60.0,
                        help="seconds the idle server is measured (default 60)")
    parser.add_argument("--quick", action="store_true", help="half a day, nothing recorded")
    parser.add_argument("--keep", type=Path, default=None,
                        help="run in this (new) directory and keep it, to look at afterwards")
    args = parser.parse_args()
    days = 0.5 if args.quick else args.days
    if args.keep is not None:
        args.keep.mkdir(parents=True)
    scratch = args.keep or Path(tempfile.mkdtemp(prefix="gridshare-bench-footprint-"))
    try:
        demo = run_demo(scratch / "demo", days, args.speed)
        print(f"demo (server + 10 meter simulators), {days} simulated days in "
              f"{demo['wall_s']} s, {demo['blocks']} blocks: RSS {demo['rss_mb_at_end']} MB "
              f"at the end, peak {demo['peak_rss_mb']} MB", flush=True)
        server = run_server(scratch / "demo", 10.0 if args.quick else args.idle)
        print(f"gridshare serve on that data, idle {server['idle_s']} s: RSS "
              f"{server['rss_mb']} MB (peak {server['peak_rss_mb']} MB), CPU "
              f"{server['idle_cpu_percent_of_one_core']} % of one core")
    finally:
        if args.keep is None:
            shutil.rmtree(scratch, ignore_errors=True)
    if not args.quick:
        report = {
            "benchmark": "footprint",
            "machine": machine(),
            "goal_server_rss_mb": 200,
            "community": "Neelum valley, 10 houses (gridshare demo)",
            "demo": demo,
            "server": server,
        }
        RESULTS.parent.mkdir(parents=True, exist_ok=True)
        RESULTS.write_text(json.dumps(report, indent=2) + "\n")
        print(f"written to {RESULTS.relative_to(ROOT)}")


if __name__ == "__main__":
    main()
