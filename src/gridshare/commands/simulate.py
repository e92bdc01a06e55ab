"""`gridshare simulate`: a headless village simulation on the real contract and firmware."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path


def register(subparsers: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    """Add the `simulate` sub-command."""
    parser = subparsers.add_parser(
        "simulate",
        help="simulate a village trading for days, faster than real time; write a report",
        description="Runs the houses' physics, the meter firmware, auto-trading agents, the "
        "matcher and metered settlement on an embedded chain whose blocks follow simulated "
        "time, then writes report.html, trades.csv, energy.csv and summary.json to --out.",
    )
    parser.add_argument("--houses", type=int, default=10, help="houses (default 10)")
    parser.add_argument("--days", type=int, default=1, help="simulated days (default 1)")
    parser.add_argument("--market", choices=("bulletin", "continuous", "auction"),
                        default="continuous", help="matching mechanism (default continuous)")
    parser.add_argument("--seed", type=int, default=1, help="random seed (default 1)")
    parser.add_argument("--out", type=Path, default=Path("simulation-out"),
                        help="output directory (default ./simulation-out)")
    parser.add_argument("--scenario", type=Path, default=None,
                        help="scenario file (.json or .toml); default: Neelum valley")
    parser.add_argument("--step-s", type=int, default=10,
                        help="physics and meter sample step in seconds (default 10)")
    parser.add_argument("--poll-s", type=int, default=60,
                        help="seconds between the server's rounds of meter polls and "
                        "settlements within an interval; a multiple of --step-s (default 60)")
    parser.add_argument("--data", type=Path, default=None,
                        help="keep the chain in this directory (default: a removed temp dir)")
    parser.add_argument("--quiet", action="store_true", help="no progress bar")
    parser.set_defaults(handler=run)


def _bar(done: int, total: int, wall_s: float) -> None:
    width = 30
    filled = width * done // total
    rate = f"{done / wall_s:.1f} intervals/s" if wall_s > 0 else ""
    sys.stderr.write(f"\r[{'#' * filled}{'.' * (width - filled)}] {done}/{total} {rate}   ")
    if done == total:
        sys.stderr.write("\n")
    sys.stderr.flush()


def run(args: argparse.Namespace) -> int:
    """Run the simulation and write its outputs; 2 on bad input."""
    from gridshare.sim.scenarios import ScenarioFileError, load_scenario
    from gridshare.simulation import SimulationConfig, run_simulation
    from gridshare.simulation.report import write_outputs

    try:
        scenario = None if args.scenario is None else load_scenario(args.scenario)
        config = SimulationConfig(
            houses=args.houses if scenario is None else len(scenario.houses),
            days=args.days, market=args.market, seed=args.seed, step_s=args.step_s,
            poll_s=args.poll_s,
            scenario=scenario, data_dir=args.data,
        )
    except (ScenarioFileError, ValueError) as exc:
        print(f"gridshare simulate: {exc}", file=sys.stderr)
        return 2
    if config.data_dir is not None and (config.data_dir / "chain").exists():
        print(f"gridshare simulate: --data {config.data_dir} already holds a chain; "
              "use an empty directory", file=sys.stderr)
        return 2
    name = config.resolved_scenario().name
    print(f"simulating {name}: {config.days} day(s), {config.market} market", file=sys.stderr)
    result = run_simulation(config, None if args.quiet else _bar)
    data = write_outputs(result, args.out)
    t = data["totals"]
    com, base = data["community"]["trading"], data["community"]["no_trading"]
    print(f"{t['trades']} trades, {t['delivered_wh']} Wh delivered; unserved load "
          f"{base['unserved_mwh'] / 1e6:.2f} kWh without trading, "
          f"{com['unserved_mwh'] / 1e6:.2f} kWh with; wall {data['wall_s']} s")
    print(f"wrote {args.out / 'report.html'}, trades.csv, energy.csv, summary.json")
    return 0
