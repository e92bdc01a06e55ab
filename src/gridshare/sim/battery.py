"""A house battery: capacity, state-of-charge limits, efficiencies and power limits."""

from __future__ import annotations

from dataclasses import dataclass, replace


@dataclass(frozen=True, slots=True)
class BatterySpec:
    """What the battery is."""

    capacity_wh: float = 2400.0
    soc_min: float = 0.2
    soc_max: float = 0.95
    charge_efficiency: float = 0.95
    discharge_efficiency: float = 0.95
    max_charge_w: float = 1200.0
    max_discharge_w: float = 1200.0
    nominal_v: float = 48.0

    def __post_init__(self) -> None:
        if not (0 <= self.soc_min < self.soc_max <= 1):
            raise ValueError("soc_min/soc_max: need 0 <= soc_min < soc_max <= 1")
        if self.capacity_wh <= 0:
            raise ValueError("capacity_wh: must be positive")
        if not (0 < self.charge_efficiency <= 1 and 0 < self.discharge_efficiency <= 1):
            raise ValueError("efficiencies: must be in (0, 1]")


@dataclass(frozen=True, slots=True)
class Battery:
    """A battery and its stored energy."""

    spec: BatterySpec
    stored_wh: float

    @property
    def soc(self) -> float:
        return self.stored_wh / self.spec.capacity_wh

    @property
    def voltage_v(self) -> float:
        """Terminal voltage: a linear open-circuit curve from 0.96 to 1.08 of nominal."""
        return self.spec.nominal_v * (0.96 + 0.12 * self.soc)

    def charge_limit_w(self, dt_s: float) -> float:
        """Most power (at the terminals) it can take for dt_s."""
        room_wh = max(0.0, self.spec.soc_max * self.spec.capacity_wh - self.stored_wh)
        return min(self.spec.max_charge_w, room_wh * 3600 / dt_s / self.spec.charge_efficiency)

    def discharge_limit_w(self, dt_s: float) -> float:
        """Most power (at the terminals) it can give for dt_s."""
        avail_wh = max(0.0, self.stored_wh - self.spec.soc_min * self.spec.capacity_wh)
        return min(
            self.spec.max_discharge_w, avail_wh * 3600 / dt_s * self.spec.discharge_efficiency
        )

    def apply(self, power_w: float, dt_s: float) -> tuple[Battery, float]:
        """Charge (power > 0) or discharge (< 0) within limits; returns (battery, power done)."""
        if power_w >= 0:
            done = min(power_w, self.charge_limit_w(dt_s))
            stored = self.stored_wh + done * dt_s / 3600 * self.spec.charge_efficiency
        else:
            done = -min(-power_w, self.discharge_limit_w(dt_s))
            stored = self.stored_wh + done * dt_s / 3600 / self.spec.discharge_efficiency
        return replace(self, stored_wh=stored), done


def new_battery(spec: BatterySpec, soc: float) -> Battery:
    """A battery at a given state of charge."""
    return Battery(spec, spec.capacity_wh * soc)
