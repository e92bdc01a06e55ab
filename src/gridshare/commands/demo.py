"""`gridshare demo`: the whole community on one machine (or `--walk`: one trade, step by step)."""

from __future__ import annotations

import argparse
import sys
import tempfile
from pathlib import Path

from gridshare.commands.paths import creation_problem, directory_problem
from gridshare.commands.startup import startup_failure, startup_failures
from gridshare.config import Settings

DEFAULT_DATA = Path(".gridshare/demo")


def register(subparsers: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    """Add the `demo` sub-command."""
    parser = subparsers.add_parser(
        "demo",
        help="run a ten-house community: chain, simulated meters, trading agents, web app",
        description="Deploys the EnergyMarket contract on an embedded chain, registers the ten "
        "houses of the Neelum valley scenario with simulated meters (the real firmware over "
        "HTTP) and auto-trading agents, and serves the web app, where you log in as any "
        "house. Simulated time runs --speed times faster and drives the chain's clock. "
        "Ctrl-C stops; running it again resumes the same community. --data must be a demo's "
        "directory or hold no other gridshare data. With --walk: one offer → take → metered "
        "settlement on a throw-away chain in a temporary directory, every balance printed.",
    )
    parser.add_argument(
        "--data", type=Path, default=None,
        help=f"demo data directory (default {DEFAULT_DATA}); not with --walk",
    )
    parser.add_argument("--port", type=int, default=8000, help="web app port (default 8000)")
    parser.add_argument("--meter-base-port", type=int, default=18100,
                        help="first simulated meter's port; ten in a row (default 18100)")
    parser.add_argument("--speed", type=float, default=60.0,
                        help="simulated seconds per real second (default 60)")
    parser.add_argument("--fresh", action="store_true",
                        help="delete the demo data directory and start a new community")
    parser.add_argument("--walk", action="store_true",
                        help="only walk one trade on a throw-away chain in a temporary "
                        "directory (deleted afterwards), printing every balance")
    parser.set_defaults(handler=run)


def run(args: argparse.Namespace) -> int:
    """Run the community demo until stopped, or the walk-through with --walk."""
    if args.walk:
        if args.data is not None:
            print("gridshare demo: --data: --walk always runs on a throw-away chain in a "
                  "temporary directory; leave --data out", file=sys.stderr)
            return 2
        return _walk()
    from gridshare.demo import DemoOptions, run_demo

    data = args.data or DEFAULT_DATA
    # a file in the way is named by the demo's own checks; this finds what only trying tells
    problem = None if directory_problem(data) else creation_problem(data)
    if problem is not None:
        print(f"gridshare demo: --data {data}: {problem}", file=sys.stderr)
        return 2
    return run_demo(DemoOptions(
        data_dir=data, port=args.port,
        meter_base_port=args.meter_base_port, speed=args.speed, fresh=args.fresh,
    ))


def _walk() -> int:
    """The walk-through in a temporary directory, deleted afterwards."""
    from gridshare.demo import walk
    from gridshare.runtime import build_runtime

    failures: tuple[type[BaseException], ...] = (*startup_failures(), ValueError)
    with tempfile.TemporaryDirectory(prefix="gridshare-demo-", ignore_cleanup_errors=True) as tmp:
        try:
            runtime = build_runtime(Settings(data_dir=Path(tmp)))
        except failures as exc:
            failure = startup_failure(exc, Path(tmp), None)
            print(f"gridshare demo: --walk: {failure}", file=sys.stderr)
            return 1
        try:
            return walk(runtime)
        finally:
            runtime.close()
