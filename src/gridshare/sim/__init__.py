"""House physics (PV, load, battery, DC bus) and the meter simulator running the real firmware."""

from gridshare.sim.battery import Battery, BatterySpec
from gridshare.sim.bus import BusResult, Connection, Flow, solve
from gridshare.sim.clock import SimClock
from gridshare.sim.community import Community, HouseView, Reading, Relay
from gridshare.sim.hardware import SimHardware
from gridshare.sim.house import HouseSpec, HouseState
from gridshare.sim.meter_sim import MeterSim, SimMeter, SimSettings
from gridshare.sim.profiles import Profile, PvSpec, Site, load_profile, pv_profile
from gridshare.sim.scenarios.village import DEFAULT_START, village

__all__ = [
    "DEFAULT_START",
    "Battery",
    "BatterySpec",
    "BusResult",
    "Community",
    "Connection",
    "Flow",
    "HouseSpec",
    "HouseState",
    "HouseView",
    "MeterSim",
    "Profile",
    "PvSpec",
    "Reading",
    "Relay",
    "SimClock",
    "SimHardware",
    "SimMeter",
    "SimSettings",
    "Site",
    "load_profile",
    "pv_profile",
    "solve",
    "village",
]
