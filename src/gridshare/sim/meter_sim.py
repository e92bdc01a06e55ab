"""N simulated meters: the real firmware over simulated hardware, served over real HTTP."""

from __future__ import annotations

import asyncio
import math
import random
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any

from gridshare.meters.directory import MeterEntry, load_directory, save_directory
from gridshare.meters.keys import MeterKey
from gridshare.sim import firmware
from gridshare.sim.clock import SimClock
from gridshare.sim.community import Community, HouseView, Reading
from gridshare.sim.firmware import FirmwareMeter
from gridshare.sim.hardware import SimHardware
from gridshare.sim.house import HouseSpec
from gridshare.sim.scenarios.village import DEFAULT_START, village

DIRECTORY_FILE = "meters.json"


class SimSettingsError(ValueError):
    """A setting the simulator cannot run with: `field` names it, `rule` says what it must be."""

    def __init__(self, field: str, rule: str) -> None:
        super().__init__(f"{field}: {rule}")
        self.field = field
        self.rule = rule


PORT_MAX = 65535


@dataclass(frozen=True, slots=True)
class SimSettings:
    """How to run the simulated meters; every value is checked when the settings are made."""

    houses: int = 10
    base_port: int = 8100
    host: str = "127.0.0.1"
    speed: float = 1.0
    sample_ms: int = 100
    silence_ms: int = 60_000
    data_dir: Path | None = None
    seed: int = 1
    start: datetime = DEFAULT_START

    def __post_init__(self) -> None:
        _check_houses(self.houses)
        _check_ports(self.base_port, self.houses)
        _check_positive("speed", self.speed)
        _check_positive("sample_ms", self.sample_ms)
        _check_positive("silence_ms", self.silence_ms)
        if not self.host.strip():
            raise SimSettingsError("host", "must name an address to serve on, e.g. 127.0.0.1 "
                                           "(0.0.0.0 for every interface)")
        if self.data_dir is not None and self.data_dir.exists() and not self.data_dir.is_dir():
            raise SimSettingsError("data_dir", f"{self.data_dir} is a file, not a directory")


def _check_houses(houses: int) -> None:
    if houses < 1:
        raise SimSettingsError("houses", "must be at least 1")


def _check_ports(base_port: int, houses: int) -> None:
    last = PORT_MAX - houses + 1
    if not 1 <= base_port <= last:
        raise SimSettingsError("base_port", f"must be 1 to {last} so that all {houses} "
                                            f"meters get a port (meter N listens on base port "
                                            f"+ N - 1, at most {PORT_MAX})")


def _check_positive(field: str, value: float) -> None:
    if not (math.isfinite(value) and value > 0):
        raise SimSettingsError(field, "must be a finite number greater than 0")


@dataclass(frozen=True, slots=True)
class SimMeter:
    """One simulated meter: its directory entry, firmware instance, hardware and app."""

    entry: MeterEntry
    meter: FirmwareMeter
    hardware: SimHardware
    calibration: object
    app: Any = field(repr=False)


def _known_entries(settings: SimSettings) -> dict[int, MeterEntry]:
    """The meters already recorded in the data dir's directory, by meter id."""
    if settings.data_dir is None:
        return {}
    path = settings.data_dir / DIRECTORY_FILE
    if not path.exists():
        return {}
    try:
        return {e.meter_id: e for e in load_directory(path)}
    except (OSError, ValueError, KeyError, TypeError) as exc:
        raise SimSettingsError("data_dir", f"cannot read the keys in {path} ({exc}); fix or "
                                           "move the file first") from exc


def _keys(settings: SimSettings, known: dict[int, MeterEntry]) -> dict[int, MeterKey]:
    """Each simulated meter's recorded key when the directory has one, else a fresh one."""
    return {
        mid: known[mid].key if mid in known else MeterKey.generate(mid)
        for mid in range(1, settings.houses + 1)
    }


class MeterSim:
    """The village's meters, stepped in lockstep with the house physics."""

    def __init__(
        self,
        settings: SimSettings,
        specs: Sequence[HouseSpec] | None = None,
        community: Community | None = None,
    ) -> None:
        self.settings = settings
        self.clock = SimClock(settings.start, settings.speed)
        specs = list(specs) if specs is not None else village(settings.houses, settings.seed)
        self.community = community or Community(specs, settings.start)
        known = _known_entries(settings)
        if settings.data_dir is not None:
            settings.data_dir.mkdir(parents=True, exist_ok=True)
        keys = _keys(settings, known)
        rng = random.Random(settings.seed)
        self.meters: list[SimMeter] = []
        authority = f"[{settings.host}]" if ":" in settings.host else settings.host  # IPv6
        for i, spec in enumerate(sorted(self.community.specs.values(), key=lambda s: s.house_id)):
            meter_id = i + 1
            port = settings.base_port + i
            state = None
            if settings.data_dir is not None:
                state = settings.data_dir / f"meter-{meter_id}.json"
            meter = firmware.new_meter(
                meter_id, keys[meter_id].key, state, silence_ms=settings.silence_ms
            )
            cal = firmware.calibration()
            hid = spec.house_id
            hw = SimHardware(cal, self._reader(hid), rng=random.Random(rng.random()))
            app = firmware.create_app(meter, self.clock, f"House {hid}")
            self._add_sim_routes(app, hid)
            entry = MeterEntry(meter_id, hid, f"http://{authority}:{port}", keys[meter_id])
            self.meters.append(SimMeter(entry, meter, hw, cal, app))
        if settings.data_dir is not None:  # meters not run this time keep their keys
            kept = {**known, **{e.meter_id: e for e in self.entries}}
            save_directory(settings.data_dir / DIRECTORY_FILE, [kept[i] for i in sorted(kept)])
        self._stopping = asyncio.Event()

    def _reader(self, house_id: int) -> Callable[[], Reading]:
        return lambda: self.community.readings[house_id]

    @property
    def entries(self) -> list[MeterEntry]:
        """Meter ids, house ids, URLs and keys (what the server needs to talk to them)."""
        return [m.entry for m in self.meters]

    def house(self, house_id: int) -> HouseView:
        """A house's physical state (SoC, PV, load, bus power, energy totals)."""
        return self.community.view(house_id)

    def _add_sim_routes(self, app: Any, house_id: int) -> None:
        @app.get("/sim/house")  # type: ignore[untyped-decorator]
        async def house(request: Any) -> dict[str, Any]:
            return {k: v for k, v in asdict(self.house(house_id)).items()}

        @app.get("/sim/clock")  # type: ignore[untyped-decorator]
        async def clock(request: Any) -> dict[str, Any]:
            return {
                "sim_ms": self.clock.now_ms(),
                "sim_time": self.clock.now().isoformat(),
                "speed": self.clock.speed,
            }

    def step(self) -> None:
        """Advance one sample period: physics over it, then every meter samples."""
        dt = self.settings.sample_ms
        now = self.clock.advance(dt)
        relays = {m.entry.house_id: m.hardware.relay for m in self.meters}
        self.community.step(dt, relays)
        for m in self.meters:
            firmware.step(m.meter, m.hardware, m.calibration, now)

    def run_for(self, sim_ms: int) -> None:
        """Step for sim_ms of simulated time, as fast as possible (no HTTP)."""
        for _ in range(sim_ms // self.settings.sample_ms):
            self.step()

    async def _drive(self) -> None:
        dt = self.settings.sample_ms
        while not self._stopping.is_set():
            n = 0
            while self.clock.lag_ms() >= dt and n < 50:
                self.step()
                n += 1
            await asyncio.sleep(0 if n == 50 else min(dt / 1000 / self.settings.speed, 0.02))

    async def serve(self, on_ready: Callable[[MeterSim], None] | None = None) -> None:
        """Serve every meter over HTTP and run the simulation until `stop()`."""
        servers = [
            asyncio.create_task(m.app.start_server(host=self.settings.host, port=port))
            for m, port in zip(self.meters, self._ports(), strict=True)
        ]
        driver = asyncio.create_task(self._drive())
        try:
            while any(getattr(m.app, "server", None) is None for m in self.meters):
                for task in servers:
                    if task.done():
                        task.result()  # re-raise a bind failure
                await asyncio.sleep(0.01)
            if on_ready is not None:
                on_ready(self)
            await self._stopping.wait()
        finally:
            self._stopping.set()
            for m, task in zip(self.meters, servers, strict=True):
                if getattr(m.app, "server", None) is not None:
                    m.app.shutdown()
                else:  # not listening yet (another meter's bind failed first): it never will
                    task.cancel()
            driver.cancel()
            await asyncio.gather(driver, *servers, return_exceptions=True)

    def _ports(self) -> list[int]:
        return [self.settings.base_port + i for i in range(len(self.meters))]

    def stop(self) -> None:
        """Ask `serve()` to shut the servers down and return."""
        self._stopping.set()
