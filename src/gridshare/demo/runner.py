"""Run the demo community: chain, meters, agents and web app on one simulated clock.

Simulated time (the meter simulator's clock) drives the embedded chain's block timestamps
and the market engine, so order expiries, delivery deadlines and agent intervals follow it.
A fresh community starts at 10:00 in the valley, the day after the chain was created; a
resumed one continues from its chain's latest block (never behind the wall clock).
"""

from __future__ import annotations

import logging
import shutil
import signal
import sys
import time
from collections.abc import Callable
from datetime import datetime, timedelta
from pathlib import Path

from pydantic import ValidationError

from gridshare.chain.embedded.errors import EmbeddedChainError
from gridshare.chain.errors import ChainError
from gridshare.chain.keystore import KeystoreError
from gridshare.commands.startup import log_to_stderr
from gridshare.config import Settings
from gridshare.demo.community import DemoCommunity, DemoSetupError, claim, is_demo_dir, prepare
from gridshare.demo.meters import MeterThread
from gridshare.demo.options import DemoOptions, option_problems
from gridshare.runtime import Runtime, StartupError, build_runtime
from gridshare.sim import Community, MeterSim, SimSettings
from gridshare.sim.scenarios import NEELUM_START, Scenario, neelum_valley

DAY_STARTS_AT_HOUR = 10  # a fresh demo opens mid-morning, with the sun up
# what set-up may raise, reported as one line (a bug in serving keeps its traceback)
SETUP_ERRORS = (DemoSetupError, StartupError, KeystoreError, ChainError, EmbeddedChainError,
                OSError, ValueError)  # ValueError: also pydantic's ValidationError


class _Stopped(Exception):
    """SIGINT or SIGTERM arrived (after uvicorn's graceful shutdown, if it was serving)."""


def _stop(signum: int, frame: object) -> None:
    raise _Stopped(signum)


def run_demo(options: DemoOptions) -> int:
    """Run the community until SIGINT/SIGTERM; 0 on a clean stop, 2 on bad options."""
    scenario = neelum_valley()
    problems = option_problems(options, len(scenario.houses))
    if problems:
        return _refuse(problems)
    try:
        settings = Settings(
            data_dir=options.data_dir, host="127.0.0.1", port=options.port, chain_url=None,
            market_engine=True, timezone=str(scenario.start.tzinfo),  # the valley's clock
            meter_silence_s=meter_silence_s(options.speed),  # as the simulated meters have it
        )
    except ValidationError as exc:  # GRIDSHARE_* environment variables the demo cannot use
        return _refuse([_one_line(exc)])
    if options.fresh and not _may_wipe(options.data_dir):
        return _refuse([f"--fresh: {options.data_dir} is not a demo data directory; "
                        "refusing to delete it"])
    for stop_signal in (signal.SIGTERM, signal.SIGINT):
        signal.signal(stop_signal, _stop)
    runtime: Runtime | None = None
    meters: MeterThread | None = None
    try:
        try:
            if options.fresh and options.data_dir.exists():
                shutil.rmtree(options.data_dir)
            resuming = claim(options.data_dir, name=scenario.name)
            runtime = build_runtime(settings)
            start = _start_time(runtime, resuming, scenario)
            sim = _meter_sim(options, scenario, start)
            clock_s = _sim_seconds(sim, start)
            assert runtime.chain.embedded is not None
            runtime.chain.embedded.set_clock(clock_s)
            pv_houses = {h.house_id for h in scenario.houses if h.pv.kwp > 0}
            community = prepare(runtime, sim.entries, pv_houses, name=scenario.name)
            # the market engine (started by the web app) trades with these keys on this clock
            runtime.key_provider = community.keys
            runtime.clock_s = clock_s
            meters = MeterThread(sim)
            runtime.on_close(meters.stop)  # closers run last-in first-out: after the engine
            meters.start()
        except SETUP_ERRORS as exc:
            print(f"gridshare demo: {_one_line(exc)}", file=sys.stderr)
            return 1
        _announce(runtime, options, scenario, start, community)
        log_to_stderr(logging.WARNING)  # problems (a meter not answering...), not every trade
        _serve_web(runtime, settings)
    except _Stopped:
        pass
    finally:
        for stop_signal in (signal.SIGTERM, signal.SIGINT):
            signal.signal(stop_signal, signal.SIG_IGN)  # let the clean-up finish
        if runtime is not None:
            runtime.close()
        elif meters is not None:
            meters.stop()
    print("gridshare demo: stopped (meters, market engine, web app and chain closed)", flush=True)
    return 0


def _refuse(problems: list[str]) -> int:
    """Each problem on its own line; 2, the exit code of a bad command line."""
    for problem in problems:
        print(f"gridshare demo: {problem}", file=sys.stderr)
    return 2


def _one_line(exc: BaseException) -> str:
    """An exception's message on one line (a ValidationError names each field)."""
    if isinstance(exc, ValidationError):
        return "; ".join(
            f"{'.'.join(str(p) for p in error['loc']) or 'settings'}: {error['msg']}"
            for error in exc.errors()
        )
    return " ".join(str(exc).split()) or type(exc).__name__


def _may_wipe(data_dir: Path) -> bool:
    """--fresh deletes a previous demo's data directory, or an empty one; nothing else."""
    try:
        return not data_dir.is_dir() or is_demo_dir(data_dir) or not any(data_dir.iterdir())
    except OSError:  # unreadable: not known to be the demo's
        return False


def _start_time(runtime: Runtime, resuming: bool, scenario: Scenario) -> datetime:
    """Where simulated time starts: after the chain's latest block, never before wall time."""
    tz = NEELUM_START.tzinfo
    latest = int(runtime.chain.w3.eth.get_block("latest")["timestamp"])
    floor = datetime.fromtimestamp(max(latest + 1, int(time.time())), tz)
    if resuming:
        return floor
    morning = floor.replace(hour=DAY_STARTS_AT_HOUR, minute=0, second=0, microsecond=0)
    return morning if morning > floor else morning + timedelta(days=1)


def meter_silence_s(speed: float) -> int:
    """The demo meters' silence limit in simulated seconds: 30 s of server silence, wall
    time (at least the firmware's 60 s)."""
    return int(max(60.0, speed * 30))


def _meter_sim(options: DemoOptions, scenario: Scenario, start: datetime) -> MeterSim:
    """Ten meters running the firmware over the scenario's houses, from `start`."""
    speed = options.speed
    settings = SimSettings(
        houses=len(scenario.houses),
        base_port=options.meter_base_port,
        speed=speed,
        sample_ms=int(min(5000.0, max(100.0, speed * 10))),  # ~100 physics steps a second
        silence_ms=meter_silence_s(speed) * 1000,
        data_dir=options.data_dir / "meters",
        start=start,
    )
    community = Community(scenario.houses, start, site=scenario.site)
    return MeterSim(settings, scenario.houses, community)


def _sim_seconds(sim: MeterSim, start: datetime) -> Callable[[], float]:
    """The one clock: Unix seconds of simulated time."""
    origin = start.timestamp()
    return lambda: origin + sim.clock.now_ms() / 1000


def _announce(
    runtime: Runtime,
    options: DemoOptions,
    scenario: Scenario,
    start: datetime,
    community: DemoCommunity,
) -> None:
    url = f"http://127.0.0.1:{options.port}"
    print(f"gridshare demo — {scenario.name}: embedded chain {runtime.settings.chain_id}, "
          f"market {runtime.market.address}")
    print(f"  data in {options.data_dir}; simulated time from {start:%Y-%m-%d %H:%M %Z}, "
          f"{options.speed:g}x faster than real time")
    print(f"  meters: http://127.0.0.1:{options.meter_base_port}..{options.meter_base_port + 9}")
    if community.new_logins:
        print("\nResident logins (shown only this once; the server keeps only password hashes):")
        for login in community.new_logins:
            pv = "with PV" if login.has_pv else "no PV"
            print(f"  {login.username}  password: {login.password}   ({pv})")
    else:
        print("\nResident logins house-01 .. house-10: their passwords were printed when this "
              "community was created; `gridshare demo --fresh` starts over with new ones.")
    print(f"\nOpen {url} and log in as any house; every house's agent trades too.")
    print("Ctrl-C stops; `gridshare demo` again resumes this community.", flush=True)


def _serve_web(runtime: Runtime, settings: Settings) -> None:
    """The web app (the same `create_app` as `gridshare serve`) until a stop signal."""
    import uvicorn

    from gridshare.web.app import GRACEFUL_SHUTDOWN_S, create_app
    from gridshare.web.http_protocol import HTTP_PROTOCOL

    app = create_app(settings, runtime)
    config = uvicorn.Config(app, host=settings.host, port=settings.port, log_level="warning",
                            http=HTTP_PROTOCOL, timeout_graceful_shutdown=GRACEFUL_SHUTDOWN_S)
    uvicorn.Server(config).run()
