"""`gridshare simulate`: a headless village simulation on the real contract and firmware."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import TYPE_CHECKING, TextIO

from gridshare.commands.paths import directory_problem

if TYPE_CHECKING:
    from gridshare.simulation.driver import Progress

# the simulation's modules load for seconds: they are imported when the command runs
MARKET_INTERVAL_S = 900  # SimulationConfig.interval_s
MAX_DAYS = 366
"""A year: the load profile wraps within its calendar year and the clear-sky sun repeats with
the seasons, so longer runs add only time and disk."""
MAX_HOUSES = 1_000
"""The largest village measured (docs/simulation.md: a day takes about 1.5 h and 480 MB)."""
MAX_HOUSE_DAYS = 10_000
"""Houses x days: each house-day costs about 5 s of CPU, 1.4 MB of chain and 0.1 MB of
memory (docs/simulation.md, "Speed"), so this is about 14 h and 14 GB."""
DEFAULT_HOUSES = 10
PROGRESS_LINES = 10
"""Without a terminal (logs, CI), progress is a plain line every tenth of the run."""


def register(subparsers: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    """Add the `simulate` sub-command."""
    parser = subparsers.add_parser(
        "simulate",
        help="simulate a village trading for days, faster than real time; write a report",
        description="Runs the houses' physics, the meter firmware, auto-trading agents, the "
        "matcher and metered settlement on an embedded chain whose blocks follow simulated "
        "time, then writes report.html, trades.csv, energy.csv and summary.json to --out. "
        f"A run is at most {MAX_HOUSE_DAYS:,} house-days (houses x days): each costs about "
        "5 s of CPU and 1.4 MB of chain.",
    )
    parser.add_argument(
        "--houses", type=int, default=None,
        help=f"houses of the default Neelum valley village, 1 to {MAX_HOUSES:,} (default "
        f"{DEFAULT_HOUSES}; a 1,000-house day takes about 1.5 h); not with --scenario, whose "
        "file lists the houses",
    )
    parser.add_argument(
        "--days", type=int, default=1,
        help=f"simulated days, 1 to {MAX_DAYS} (default 1): a year, after which the load "
        "profile and the clear-sky sun only repeat",
    )
    parser.add_argument("--market", choices=("bulletin", "continuous", "auction"),
                        default="continuous", help="matching mechanism (default continuous)")
    parser.add_argument("--seed", type=int, default=1, help="random seed (default 1)")
    parser.add_argument("--out", type=Path, default=Path("simulation-out"),
                        help="output directory (default ./simulation-out)")
    parser.add_argument("--scenario", type=Path, default=None,
                        help="scenario file (.json or .toml) listing the houses; "
                        "default: Neelum valley")
    parser.add_argument("--step-s", type=int, default=10,
                        help="physics and meter sample step in seconds; a whole divisor of "
                        f"the {MARKET_INTERVAL_S} s market interval (default 10)")
    parser.add_argument("--poll-s", type=int, default=60,
                        help="seconds between the server's rounds of meter polls and "
                        "settlements within an interval; a multiple of --step-s (default 60)")
    parser.add_argument("--data", type=Path, default=None,
                        help="keep the chain in this directory (default: a removed temp dir)")
    parser.add_argument("--quiet", action="store_true",
                        help="nothing on stderr but errors (otherwise the run's name, then a "
                        "progress bar on a terminal, a line every tenth of the run elsewhere)")
    parser.set_defaults(handler=run)


def _bar(done: int, total: int, wall_s: float) -> None:
    width = 30
    filled = width * done // total
    rate = f"{done / wall_s:.1f} intervals/s" if wall_s > 0 else ""
    sys.stderr.write(f"\r[{'#' * filled}{'.' * (width - filled)}] {done}/{total} {rate}   ")
    if done == total:
        sys.stderr.write("\n")
    sys.stderr.flush()


def _lines(done: int, total: int, wall_s: float) -> None:
    """Progress for logs: one line at every tenth of the run, not one per interval."""
    if done * PROGRESS_LINES // total == (done - 1) * PROGRESS_LINES // total:
        return
    rate = f", {done / wall_s:.1f} intervals/s" if wall_s > 0 else ""
    print(f"{done}/{total} intervals{rate}", file=sys.stderr, flush=True)


def _progress(quiet: bool, stream: TextIO) -> Progress | None:
    if quiet:
        return None
    return _bar if stream.isatty() else _lines


def _size_problem(args: argparse.Namespace, houses: int) -> str | None:
    """The run's size against its limits, naming the options as typed."""
    source = "--houses" if args.scenario is None else f"--scenario {args.scenario}"
    if not 1 <= houses <= MAX_HOUSES:
        return f"{source}: {houses} houses; must be from 1 to {MAX_HOUSES:,}"
    if not 1 <= args.days <= MAX_DAYS:
        return (f"--days: must be from 1 to {MAX_DAYS} (a year; the load profile and "
                "the clear-sky sun only repeat after that)")
    if houses * args.days > MAX_HOUSE_DAYS:
        return (f"{source} and --days: {houses:,} houses x {args.days} days is more than "
                f"{MAX_HOUSE_DAYS:,} house-days (each about 5 s of CPU and 1.4 MB of chain)")
    return None


def _combination_problem(args: argparse.Namespace) -> str | None:
    if args.houses is not None and args.scenario is not None:
        return "--houses: not with --scenario; the scenario file lists the houses"
    return None


def _step_problem(args: argparse.Namespace) -> str | None:
    if args.step_s < 1 or MARKET_INTERVAL_S % args.step_s:
        return (f"--step-s: must be a whole divisor of the {MARKET_INTERVAL_S} s market "
                "interval, such as 1, 5, 10, 30 or 60")
    if args.poll_s < args.step_s or args.poll_s % args.step_s:
        return f"--poll-s: must be a multiple of --step-s ({args.step_s})"
    return None


def _paths_problem(args: argparse.Namespace) -> str | None:
    for option, path in (("--out", args.out), ("--data", args.data)):
        problem = None if path is None else directory_problem(path)
        if problem is not None:
            return f"{option} {path}: {problem}"
    if args.data is not None and (args.data / "chain").exists():
        return f"--data {args.data}: already holds a chain; use an empty directory"
    return None


def _fail(message: str) -> int:
    print(f"gridshare simulate: {message}", file=sys.stderr)
    return 2


def run(args: argparse.Namespace) -> int:
    """Run the simulation and write its outputs; 2 on bad input, before simulating."""
    problem = _combination_problem(args) or _step_problem(args) or _paths_problem(args)
    if problem is not None:
        return _fail(problem)
    scenario = None
    if args.scenario is not None:
        from gridshare.sim.scenarios import ScenarioFileError, load_scenario

        try:
            scenario = load_scenario(args.scenario)
        except ScenarioFileError as exc:
            return _fail(f"--scenario {exc}")
    houses = DEFAULT_HOUSES if args.houses is None else args.houses
    if scenario is not None:
        houses = len(scenario.houses)
    problem = _size_problem(args, houses)
    if problem is not None:
        return _fail(problem)
    # the simulation's modules take seconds to load: only now that the options are good
    from gridshare.simulation import SimulationConfig, run_simulation
    from gridshare.simulation.report import write_outputs

    config = SimulationConfig(
        houses=houses, days=args.days, market=args.market, seed=args.seed,
        step_s=args.step_s, poll_s=args.poll_s, scenario=scenario, data_dir=args.data,
    )
    name = config.resolved_scenario().name
    if not args.quiet:
        print(f"simulating {name}: {config.days} day(s), {config.market} market",
              file=sys.stderr)
    result = run_simulation(config, _progress(args.quiet, sys.stderr))
    try:
        data = write_outputs(result, args.out)
    except OSError as exc:
        print(f"gridshare simulate: --out {args.out}: could not write the report: {exc}",
              file=sys.stderr)
        return 1
    t = data["totals"]
    com, base = data["community"]["trading"], data["community"]["no_trading"]
    print(f"{t['trades']} trades, {t['delivered_wh']} Wh delivered; unserved load "
          f"{base['unserved_mwh'] / 1e6:.2f} kWh without trading, "
          f"{com['unserved_mwh'] / 1e6:.2f} kWh with; wall {data['wall_s']} s")
    print(f"wrote {args.out / 'report.html'}, trades.csv, energy.csv, summary.json")
    return 0
