"""The LP optimum moves surplus to a house in deficit and bounds any market from above."""

from __future__ import annotations

import numpy as np

from gridshare.sim.battery import BatterySpec
from gridshare.sim.house import HouseSpec
from gridshare.simulation.optimum import solve_optimum


def test_optimum_serves_a_neighbours_deficit_from_surplus() -> None:
    specs = [
        HouseSpec(1, battery=BatterySpec(capacity_wh=1000.0), initial_soc=0.2),
        HouseSpec(2, battery=BatterySpec(capacity_wh=1000.0), initial_soc=0.2),
    ]
    pv = np.array([[500.0, 500.0], [0.0, 0.0]])
    load = np.array([[100.0, 100.0], [200.0, 200.0]])
    opt = solve_optimum(specs, pv, load, 3600, line_loss=0.05)
    assert opt.status == "optimal"
    assert opt.unserved_wh < 1e-6  # house 2's 400 Wh all came over the bus
    assert opt.traded_wh >= 400 - 1e-6
    alone = float(load[0].sum())  # without a bus only house 1 is served
    assert opt.served_wh > alone
