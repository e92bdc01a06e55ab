"""Builders for simulator tests: flat-profile houses and server-signed commands."""

from __future__ import annotations

from gridshare.meters.wire import sign
from gridshare.sim.battery import BatterySpec
from gridshare.sim.community import Community
from gridshare.sim.house import HouseSpec
from gridshare.sim.meter_sim import MeterSim, SimSettings
from gridshare.sim.profiles import Profile
from gridshare.sim.scenarios.village import DEFAULT_START

SERVER_T0 = 1_750_000_000_000


def flat(watts: float) -> Profile:
    """A profile that is `watts` at all times."""
    return Profile(DEFAULT_START, 60, (watts,))


def pair_sim(power_w: float, line_ohm: float = 0.05, silence_ms: int = 600_000) -> MeterSim:
    """Two houses without PV or load: house 1 can export, house 2 imports at power_w."""
    big = BatterySpec(capacity_wh=20_000, max_charge_w=3000, max_discharge_w=3000)
    specs = [
        HouseSpec(1, battery=big, initial_soc=0.9, line_ohm=line_ohm, line_max_w=3000),
        HouseSpec(2, battery=big, initial_soc=0.3, line_ohm=line_ohm, line_max_w=power_w),
    ]
    none = (flat(0), flat(0))
    community = Community(specs, DEFAULT_START, profiles={1: none, 2: none})
    settings = SimSettings(houses=2, silence_ms=silence_ms)
    return MeterSim(settings, specs, community)


def command(
    sim: MeterSim, meter_id: int, counter: int, action: str, **fields: object
) -> dict[str, object]:
    """A command signed by the server side (CPython hmac), as the client would send it."""
    entry = sim.entries[meter_id - 1]
    msg: dict[str, object] = {
        "type": "cmd",
        "meter": meter_id,
        "counter": counter,
        "time": SERVER_T0 + sim.clock.now_ms(),
        "action": action,
        **fields,
    }
    msg["sig"] = sign(entry.key.key, msg)
    return msg


def send(
    sim: MeterSim,
    meter_id: int,
    counter: int,
    action: str,
    path_id: int | None = None,
    **fields: object,
) -> tuple[int, dict[str, object]]:
    """Deliver a signed command straight to a simulated meter's firmware."""
    meter = sim.meters[meter_id - 1].meter
    msg = command(sim, meter_id, counter, action, **fields)
    code, body = meter.command(msg, action, sim.clock.now_ms(), path_id)  # type: ignore[attr-defined]
    return int(code), dict(body)
