"""A village of houses on one DC bus, stepped in simulated time."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime

from gridshare.sim.bus import Connection, solve
from gridshare.sim.house import (
    HouseSpec,
    HouseState,
    absorb_limit_w,
    initial_state,
    step_house,
    supply_limit_w,
)
from gridshare.sim.profiles import Profile, Site, load_profile, pv_profile


@dataclass(frozen=True, slots=True)
class Relay:
    """A meter's relay as the physics sees it."""

    closed: bool
    exporting: bool


@dataclass(frozen=True, slots=True)
class Reading:
    """What the sensors at a house's meter see: bus-side voltage and current into the house."""

    voltage_v: float
    current_a: float


@dataclass(frozen=True, slots=True)
class HouseView:
    """A house's physical state for dashboards and tests."""

    house_id: int
    soc: float
    stored_wh: float
    pv_w: float
    load_w: float
    bus_w: float
    voltage_v: float
    imported_wh: float
    exported_wh: float
    curtailed_wh: float
    unserved_wh: float


class Community:
    """Houses, their PV and load profiles, and the bus between them."""

    def __init__(
        self,
        specs: Sequence[HouseSpec],
        start: datetime,
        *,
        site: Site | None = None,
        days: int = 2,
        profiles: Mapping[int, tuple[Profile, Profile]] | None = None,
    ) -> None:
        self.specs = {s.house_id: s for s in specs}
        self.start = start
        site = site or Site()
        self.profiles: dict[int, tuple[Profile, Profile]] = dict(profiles or {})
        for s in specs:
            if s.house_id not in self.profiles:
                self.profiles[s.house_id] = (
                    pv_profile(s.pv, site, start, days),
                    load_profile(s.annual_kwh, start, days, shift_min=s.load_shift_min),
                )
        self.states: dict[int, HouseState] = {s.house_id: initial_state(s) for s in specs}
        self.readings: dict[int, Reading] = {
            hid: Reading(st.voltage_v, 0.0) for hid, st in self.states.items()
        }
        self.t_ms = 0
        self.loss_wh = 0.0

    def step(self, dt_ms: int, relays: Mapping[int, Relay]) -> None:
        """Advance dt_ms with the given relay states; updates states and sensor readings."""
        dt_s = dt_ms / 1000
        inputs: dict[int, tuple[float, float]] = {}
        connections = []
        for hid, spec in self.specs.items():
            pv, load = self.profiles[hid]
            pv_w, load_w = pv.at(self.t_ms), load.at(self.t_ms)
            inputs[hid] = (pv_w, load_w)
            relay = relays.get(hid)
            if relay is None or not relay.closed:
                continue
            state = self.states[hid]
            limit = supply_limit_w if relay.exporting else absorb_limit_w
            connections.append(
                Connection(hid, relay.exporting, state.voltage_v, spec.line_ohm,
                           limit(spec, state, pv_w, load_w, dt_s))
            )
        result = solve(connections)
        flows = {f.house_id: f for f in result.flows}
        for hid, state in self.states.items():
            flow = flows.get(hid)
            bus_w = 0.0 if flow is None else flow.power_w
            self.readings[hid] = Reading(state.voltage_v, 0.0 if flow is None else flow.current_a)
            pv_w, load_w = inputs[hid]
            self.states[hid] = step_house(state, pv_w, load_w, bus_w, dt_s)
        self.loss_wh += result.loss_w * dt_s / 3600
        self.t_ms += dt_ms

    def view(self, house_id: int) -> HouseView:
        """One house's state now."""
        s = self.states[house_id]
        return HouseView(
            house_id=house_id,
            soc=s.soc,
            stored_wh=s.battery.stored_wh,
            pv_w=s.pv_w,
            load_w=s.load_w,
            bus_w=s.bus_w,
            voltage_v=s.voltage_v,
            imported_wh=s.imported_wh,
            exported_wh=s.exported_wh,
            curtailed_wh=s.curtailed_wh,
            unserved_wh=s.unserved_wh,
        )
