"""One house's physics: PV and load meet the battery; the bus adds or takes power."""

from __future__ import annotations

from dataclasses import dataclass, field, replace

from gridshare.sim.battery import Battery, BatterySpec, new_battery
from gridshare.sim.profiles import PvSpec


@dataclass(frozen=True, slots=True)
class HouseSpec:
    """What a house is: its PV, yearly consumption, battery and line to the bus."""

    house_id: int
    pv: PvSpec = field(default_factory=PvSpec)
    annual_kwh: float = 1000.0
    battery: BatterySpec = field(default_factory=BatterySpec)
    initial_soc: float = 0.6
    line_ohm: float = 0.05
    line_max_w: float = 1000.0
    load_shift_min: int = 0


@dataclass(frozen=True, slots=True)
class HouseState:
    """A house at one instant; energies are cumulative watt-hours (floats, physics side)."""

    battery: Battery
    pv_w: float = 0.0
    load_w: float = 0.0
    bus_w: float = 0.0
    imported_wh: float = 0.0
    exported_wh: float = 0.0
    curtailed_wh: float = 0.0
    unserved_wh: float = 0.0

    @property
    def soc(self) -> float:
        return self.battery.soc

    @property
    def voltage_v(self) -> float:
        return self.battery.voltage_v


def initial_state(spec: HouseSpec) -> HouseState:
    """A house at the start of the simulation."""
    return HouseState(new_battery(spec.battery, spec.initial_soc))


def absorb_limit_w(spec: HouseSpec, state: HouseState, pv_w: float, load_w: float,
                   dt_s: float) -> float:
    """Most bus power the house can take in now (load not met by PV plus battery room)."""
    room = load_w - pv_w + state.battery.charge_limit_w(dt_s)
    return max(0.0, min(spec.line_max_w, room))


def supply_limit_w(spec: HouseSpec, state: HouseState, pv_w: float, load_w: float,
                   dt_s: float) -> float:
    """Most power the house can send to the bus now (PV surplus plus what the battery gives)."""
    spare = pv_w - load_w + state.battery.discharge_limit_w(dt_s)
    return max(0.0, min(spec.line_max_w, spare))


def step_house(state: HouseState, pv_w: float, load_w: float, bus_w: float,
               dt_s: float) -> HouseState:
    """Advance dt_s with bus_w flowing in (> 0) or out (< 0) at the meter."""
    net = pv_w - load_w + bus_w
    battery, done = state.battery.apply(net, dt_s)
    left = net - done
    hours = dt_s / 3600
    return replace(
        state,
        battery=battery,
        pv_w=pv_w,
        load_w=load_w,
        bus_w=bus_w,
        imported_wh=state.imported_wh + max(bus_w, 0.0) * hours,
        exported_wh=state.exported_wh + max(-bus_w, 0.0) * hours,
        curtailed_wh=state.curtailed_wh + max(left, 0.0) * hours,
        unserved_wh=state.unserved_wh + max(-left, 0.0) * hours,
    )
