"""Energy accounting per house and interval, in integer milliwatt-hours.

The physics integrates in floats; the ledger keeps each house's running totals and, at the end
of every interval, rounds the running totals to mWh and reports the difference from the last
interval, so rounding never accumulates. For every house and interval

    pv + imported = (load - unserved) + battery change + exported + battery loss + curtailed

holds to within the rounding of the terms (a few mWh). Battery loss is the charge/discharge
conversion loss computed from the stored energy change and the efficiencies, independently
of the bus and curtailment figures, so the balance is a real check of the physics.
"""

from __future__ import annotations

from dataclasses import dataclass

from gridshare.sim.community import Community

BALANCE_TERMS = 8  # terms rounded independently: the balance holds to +/- this many mWh


def _mwh(wh: float) -> int:
    return round(wh * 1000)


@dataclass(frozen=True, slots=True)
class EnergyRow:
    """One house over one interval (mWh), and its stored energy at the end."""

    interval: int
    house_id: int
    pv_mwh: int
    import_mwh: int
    load_mwh: int
    unserved_mwh: int
    battery_change_mwh: int
    export_mwh: int
    battery_loss_mwh: int
    curtailed_mwh: int
    stored_mwh: int
    capacity_mwh: int

    @property
    def served_mwh(self) -> int:
        return self.load_mwh - self.unserved_mwh

    @property
    def residual_mwh(self) -> int:
        """Sources minus uses: zero up to rounding when energy is conserved."""
        return (self.pv_mwh + self.import_mwh) - (
            self.served_mwh + self.battery_change_mwh + self.export_mwh
            + self.battery_loss_mwh + self.curtailed_mwh
        )


_FIELDS = ("pv", "imp", "load", "uns", "stored", "exp", "loss", "cur")


class EnergyLedger:
    """Running totals per house, fed after every physics step of `community`."""

    def __init__(self, community: Community) -> None:
        self.community = community
        self._pv: dict[int, float] = {}
        self._load: dict[int, float] = {}
        self._loss: dict[int, float] = {}
        self._stored: dict[int, float] = {}
        self._last: dict[int, dict[str, int]] = {}
        self._line_loss_last = 0
        self.line_loss_mwh: list[int] = []
        for hid, st in community.states.items():
            self._pv[hid] = self._load[hid] = self._loss[hid] = 0.0
            self._stored[hid] = st.battery.stored_wh
            self._last[hid] = self._totals(hid)

    def after_step(self, dt_ms: int) -> None:
        """Account one step the community has just taken."""
        hours = dt_ms / 3_600_000
        for hid, st in self.community.states.items():
            self._pv[hid] += st.pv_w * hours
            self._load[hid] += st.load_w * hours
            stored = st.battery.stored_wh
            change = stored - self._stored[hid]
            spec = st.battery.spec
            if change > 0:
                self._loss[hid] += change / spec.charge_efficiency - change
            else:
                self._loss[hid] += change * spec.discharge_efficiency - change
            self._stored[hid] = stored

    def _totals(self, hid: int) -> dict[str, int]:
        st = self.community.states[hid]
        return {
            "pv": _mwh(self._pv[hid]),
            "imp": _mwh(st.imported_wh),
            "load": _mwh(self._load[hid]),
            "uns": _mwh(st.unserved_wh),
            "stored": _mwh(st.battery.stored_wh),
            "exp": _mwh(st.exported_wh),
            "loss": _mwh(self._loss[hid]),
            "cur": _mwh(st.curtailed_wh),
        }

    def close_interval(self, interval: int) -> list[EnergyRow]:
        """Every house's row for the interval that just ended."""
        rows: list[EnergyRow] = []
        for hid in sorted(self.community.states):
            now = self._totals(hid)
            last = self._last[hid]
            d = {k: now[k] - last[k] for k in _FIELDS}
            cap = _mwh(self.community.specs[hid].battery.capacity_wh)
            rows.append(EnergyRow(
                interval, hid, d["pv"], d["imp"], d["load"], d["uns"], d["stored"], d["exp"],
                d["loss"], d["cur"], now["stored"], cap,
            ))
            self._last[hid] = now
        line = _mwh(self.community.loss_wh)
        self.line_loss_mwh.append(line - self._line_loss_last)
        self._line_loss_last = line
        return rows


def run_without_trading(community: Community, steps: int, dt_ms: int,
                        steps_per_interval: int) -> tuple[list[EnergyRow], list[int]]:
    """The same houses with every relay open: the no-trading baseline."""
    ledger = EnergyLedger(community)
    rows: list[EnergyRow] = []
    for n in range(steps):
        community.step(dt_ms, {})
        ledger.after_step(dt_ms)
        if (n + 1) % steps_per_interval == 0:
            rows += ledger.close_interval((n + 1) // steps_per_interval - 1)
    return rows, ledger.line_loss_mwh
