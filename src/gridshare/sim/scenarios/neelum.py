"""The default scenario: ten houses in the Neelum valley (the papers' site), some without PV."""

from __future__ import annotations

import random
from datetime import datetime
from zoneinfo import ZoneInfo

from gridshare.sim.battery import BatterySpec
from gridshare.sim.house import HouseSpec
from gridshare.sim.profiles import PvSpec, Site
from gridshare.sim.scenarios.scenario import Scenario

NEELUM_START = datetime(2025, 6, 21, 0, 0, tzinfo=ZoneInfo("Asia/Karachi"))

# (PV kWp, battery kWh, annual load kWh): six houses with PV, four without
_TEN: tuple[tuple[float, float, float], ...] = (
    (2.0, 4.8, 1100.0),
    (1.5, 2.4, 900.0),
    (0.0, 1.2, 700.0),
    (1.0, 2.4, 800.0),
    (0.0, 1.2, 600.0),
    (2.0, 2.4, 1300.0),
    (0.0, 2.4, 1000.0),
    (1.5, 4.8, 1000.0),
    (0.0, 1.2, 800.0),
    (0.8, 1.2, 600.0),
)


def neelum_valley(houses: int = 10, seed: int = 1) -> Scenario:
    """Neelum valley, 10 houses: the ten above; more houses repeat them with seeded variation."""
    rng = random.Random(seed)
    specs: list[HouseSpec] = []
    for hid in range(1, houses + 1):
        kwp, kwh, load = _TEN[(hid - 1) % len(_TEN)]
        if hid > len(_TEN):
            kwp = kwp * rng.choice([0.8, 1.0, 1.2]) if kwp else 0.0
            load *= rng.choice([0.85, 1.0, 1.15])
        specs.append(
            HouseSpec(
                house_id=hid,
                pv=PvSpec(kwp=round(kwp, 2), tilt_deg=30.0,
                          azimuth_deg=rng.choice([160.0, 180.0, 200.0])),
                annual_kwh=round(load, 1),
                battery=BatterySpec(capacity_wh=kwh * 1000.0),
                initial_soc=rng.choice([0.45, 0.55, 0.65]),
                line_ohm=rng.choice([0.03, 0.05, 0.08]),
                load_shift_min=rng.randrange(-45, 46),
            )
        )
    name = "Neelum valley, 10 houses" if houses == 10 else f"Neelum valley, {houses} houses"
    return Scenario(name, tuple(specs), NEELUM_START, Site())
