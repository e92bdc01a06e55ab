"""Run the demo community: chain, meters, agents and web app on one simulated clock.

Simulated time (the meter simulator's clock) drives the embedded chain's block timestamps
and the market engine, so order expiries, delivery deadlines and agent intervals follow it.
A fresh community starts at 10:00 in the valley, the day after the chain was created; a
resumed one continues from its chain's latest block (never behind the wall clock).
"""

from __future__ import annotations

import shutil
import signal
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path

from gridshare.chain.embedded.errors import EmbeddedChainError
from gridshare.chain.errors import ChainError
from gridshare.chain.keystore import KeystoreError
from gridshare.config import Settings
from gridshare.demo.community import DemoCommunity, DemoSetupError, is_demo_dir, prepare
from gridshare.demo.meters import MeterThread
from gridshare.runtime import Runtime, StartupError, build_runtime
from gridshare.sim import Community, MeterSim, SimSettings
from gridshare.sim.scenarios import NEELUM_START, Scenario, neelum_valley

DAY_STARTS_AT_HOUR = 10  # a fresh demo opens mid-morning, with the sun up


@dataclass(frozen=True, slots=True)
class DemoOptions:
    """The `gridshare demo` command line."""

    data_dir: Path
    port: int = 8000
    meter_base_port: int = 18100
    speed: float = 60.0
    fresh: bool = False


class _Stopped(Exception):
    """SIGINT or SIGTERM arrived (after uvicorn's graceful shutdown, if it was serving)."""


def _stop(signum: int, frame: object) -> None:
    raise _Stopped(signum)


def run_demo(options: DemoOptions) -> int:
    """Run the community until SIGINT/SIGTERM; 0 on a clean stop."""
    if options.speed <= 0:
        print("gridshare demo: --speed must be positive", file=sys.stderr)
        return 2
    if options.fresh and not _wipe(options.data_dir):
        return 2
    for stop_signal in (signal.SIGTERM, signal.SIGINT):
        signal.signal(stop_signal, _stop)
    runtime: Runtime | None = None
    meters: MeterThread | None = None
    try:
        settings = Settings(
            data_dir=options.data_dir, host="127.0.0.1", port=options.port, chain_url=None,
            market_engine=True,
        )
        resuming = is_demo_dir(options.data_dir)
        runtime = build_runtime(settings)
        scenario = neelum_valley()
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
        meters.start()
        runtime.on_close(meters.stop)  # closers run last-in first-out: after the engine
        _announce(runtime, options, scenario, start, community)
        _serve_web(runtime, settings)
    except _Stopped:
        pass
    except (DemoSetupError, StartupError, KeystoreError, ChainError, EmbeddedChainError,
            OSError) as exc:
        print(f"gridshare demo: {exc}", file=sys.stderr)
        return 1
    finally:
        for stop_signal in (signal.SIGTERM, signal.SIGINT):
            signal.signal(stop_signal, signal.SIG_IGN)  # let the clean-up finish
        if runtime is not None:
            runtime.close()
        elif meters is not None:
            meters.stop()
    print("gridshare demo: stopped (meters, market engine, web app and chain closed)", flush=True)
    return 0


def _wipe(data_dir: Path) -> bool:
    """Delete a previous demo's data directory; refuse anything else that is not empty."""
    if data_dir.exists():
        if not is_demo_dir(data_dir) and any(data_dir.iterdir()):
            print(f"gridshare demo: --fresh: {data_dir} is not a demo data directory; "
                  "refusing to delete it", file=sys.stderr)
            return False
        shutil.rmtree(data_dir)
    return True


def _start_time(runtime: Runtime, resuming: bool, scenario: Scenario) -> datetime:
    """Where simulated time starts: after the chain's latest block, never before wall time."""
    tz = NEELUM_START.tzinfo
    latest = int(runtime.chain.w3.eth.get_block("latest")["timestamp"])
    floor = datetime.fromtimestamp(max(latest + 1, int(time.time())), tz)
    if resuming:
        return floor
    morning = floor.replace(hour=DAY_STARTS_AT_HOUR, minute=0, second=0, microsecond=0)
    return morning if morning > floor else morning + timedelta(days=1)


def _meter_sim(options: DemoOptions, scenario: Scenario, start: datetime) -> MeterSim:
    """Ten meters running the firmware over the scenario's houses, from `start`."""
    speed = options.speed
    settings = SimSettings(
        houses=len(scenario.houses),
        base_port=options.meter_base_port,
        speed=speed,
        sample_ms=int(min(5000.0, max(100.0, speed * 10))),  # ~100 physics steps a second
        silence_ms=int(max(60.0, speed * 30) * 1000),  # 30 s of server silence, wall time
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

    from gridshare.web.app import create_app

    app = create_app(settings, runtime)
    config = uvicorn.Config(app, host=settings.host, port=settings.port, log_level="warning")
    uvicorn.Server(config).run()
