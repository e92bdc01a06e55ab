"""Declarative village scenarios: functions that return the houses."""

from __future__ import annotations

import random
from datetime import datetime
from zoneinfo import ZoneInfo

from gridshare.sim.battery import BatterySpec
from gridshare.sim.house import HouseSpec
from gridshare.sim.profiles import PvSpec

DEFAULT_START = datetime(2025, 6, 21, 10, 0, tzinfo=ZoneInfo("Asia/Karachi"))


def village(houses: int = 10, seed: int = 1) -> list[HouseSpec]:
    """A village like the papers' ten-house community, with varied PV, load and batteries."""
    rng = random.Random(seed)
    specs = []
    for hid in range(1, houses + 1):
        specs.append(
            HouseSpec(
                house_id=hid,
                pv=PvSpec(kwp=rng.choice([0.6, 0.8, 1.0, 1.5, 2.0]),
                          tilt_deg=rng.choice([20.0, 30.0, 35.0]),
                          azimuth_deg=rng.choice([160.0, 180.0, 200.0])),
                annual_kwh=rng.choice([600.0, 800.0, 1000.0, 1300.0]),
                battery=BatterySpec(capacity_wh=rng.choice([1200.0, 2400.0, 4800.0])),
                initial_soc=rng.choice([0.4, 0.55, 0.7, 0.85]),
                line_ohm=rng.choice([0.03, 0.05, 0.08]),
                load_shift_min=rng.randrange(-45, 46),
            )
        )
    return specs
