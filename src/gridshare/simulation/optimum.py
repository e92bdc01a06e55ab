"""The welfare optimum: a linear program over the whole horizon with perfect foresight.

Welfare here is the energy value the community gets: load served plus what is left in the
batteries (valued at what it can serve later, i.e. times the discharge efficiency):

    welfare = served load + discharge_eff * (final stored - initial stored)

The LP dispatches every house's battery and the bus centrally, interval by interval (the
market interval, e.g. 15 min), with the batteries' limits and efficiencies, each line's
rating, and bus line losses as a fixed fraction of what is exported. It lets energy net
within an interval, so it is an upper bound no market can reach; solved with HiGHS.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt
from scipy.optimize import linprog
from scipy.sparse import coo_matrix

from gridshare.sim.house import HouseSpec

KINDS = 7  # import, export, charge, discharge, unserved, curtailed, stored
IMP, EXP, CH, DIS, UNS, CUR, STO = range(KINDS)
EPSILON = 1e-6  # tiny cost on bus use so the optimum does not shuffle energy for nothing


@dataclass(frozen=True, slots=True)
class Optimum:
    """The LP's result in Wh (floats: a bound, not an accounting figure)."""

    served_wh: float
    unserved_wh: float
    stored_change_wh: float
    welfare_wh: float
    traded_wh: float
    status: str


def welfare_wh(served_wh: float, stored_change_wh: float, discharge_eff: float) -> float:
    """The welfare measure above, for any run."""
    return served_wh + discharge_eff * stored_change_wh


def solve_optimum(
    specs: Sequence[HouseSpec],
    pv_wh: npt.NDArray[np.float64],
    load_wh: npt.NDArray[np.float64],
    interval_s: int,
    *,
    line_loss: float = 0.02,
) -> Optimum:
    """Best welfare for houses `specs` given per-house, per-interval PV and load (Wh)."""
    n, t = pv_wh.shape
    size = n * t
    hours = interval_s / 3600

    def var(kind: int) -> npt.NDArray[np.int64]:
        index: npt.NDArray[np.int64] = (kind * size + np.arange(size)).reshape(n, t)
        return index

    eff_c = np.array([s.battery.charge_efficiency for s in specs])
    eff_d = np.array([s.battery.discharge_efficiency for s in specs])
    init = np.array([s.battery.capacity_wh * s.initial_soc for s in specs])
    rows: list[npt.NDArray[np.int64]] = []
    cols: list[npt.NDArray[np.int64]] = []
    vals: list[npt.NDArray[np.float64]] = []

    def add(row: npt.NDArray[np.int64], col: npt.NDArray[np.int64], val: object) -> None:
        rows.append(row.ravel())
        cols.append(col.ravel())
        vals.append(np.broadcast_to(np.asarray(val, dtype=float), col.shape).ravel())

    bal = np.arange(size).reshape(n, t)
    for kind, sign in ((IMP, 1.0), (EXP, -1.0), (DIS, 1.0), (CH, -1.0), (UNS, 1.0), (CUR, -1.0)):
        add(bal, var(kind), sign)
    sto = size + bal
    add(sto, var(STO), 1.0)
    add(sto[:, 1:], var(STO)[:, :-1], -1.0)
    add(sto, var(CH), -eff_c[:, None] * np.ones((n, t)))
    add(sto, var(DIS), (1 / eff_d)[:, None] * np.ones((n, t)))
    a_eq = coo_matrix(
        (np.concatenate(vals), (np.concatenate(rows), np.concatenate(cols))),
        shape=(2 * size, KINDS * size),
    ).tocsr()
    b_store = np.zeros((n, t))
    b_store[:, 0] = init
    b_eq = np.concatenate([(load_wh - pv_wh).ravel(), b_store.ravel()])

    bus_rows = np.tile(np.arange(t), (n, 1))
    a_ub = coo_matrix(
        (np.concatenate([np.ones(size), -(1 - line_loss) * np.ones(size)]),
         (np.concatenate([bus_rows.ravel(), bus_rows.ravel()]),
          np.concatenate([var(IMP).ravel(), var(EXP).ravel()]))),
        shape=(t, KINDS * size),
    ).tocsr()

    def per_house(values: list[float]) -> npt.NDArray[np.float64]:
        grid: npt.NDArray[np.float64] = np.array(values)[:, None] * np.ones((n, t))
        return grid.ravel()

    line = per_house([s.line_max_w * hours for s in specs])
    upper = np.concatenate([
        line, line,
        per_house([s.battery.max_charge_w * hours for s in specs]),
        per_house([s.battery.max_discharge_w * hours for s in specs]),
        load_wh.ravel(), np.full(size, np.inf),
        per_house([s.battery.soc_max * s.battery.capacity_wh for s in specs]),
    ])
    lower = np.zeros(KINDS * size)
    lower[STO * size:] = per_house([s.battery.soc_min * s.battery.capacity_wh for s in specs])
    lower[STO * size:] = np.minimum(lower[STO * size:], upper[STO * size:])
    cost = np.zeros(KINDS * size)
    cost[IMP * size:(EXP + 1) * size] = EPSILON
    cost[UNS * size:(UNS + 1) * size] = 1.0
    cost[var(STO)[:, -1]] = -eff_d
    result = linprog(cost, A_ub=a_ub, b_ub=np.zeros(t), A_eq=a_eq, b_eq=b_eq,
                     bounds=np.stack([lower, upper], axis=1), method="highs")
    if result.x is None:
        return Optimum(0.0, 0.0, 0.0, 0.0, 0.0, str(result.message))
    x = result.x
    unserved = float(x[var(UNS)].sum())
    served = float(load_wh.sum()) - unserved
    change = x[var(STO)[:, -1]] - init
    welfare = served + float((eff_d * change).sum())
    return Optimum(served, unserved, float(change.sum()), welfare, float(x[var(IMP)].sum()),
                   "optimal" if result.status == 0 else str(result.message))
