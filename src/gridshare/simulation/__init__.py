"""Headless community simulation: driver loop on one clock, accounting, LP optimum, report."""

from gridshare.simulation.accounting import EnergyLedger, EnergyRow
from gridshare.simulation.driver import SimulationConfig, SimulationResult, run_simulation
from gridshare.simulation.settlements import SettledTrade, SettlementLog

__all__ = [
    "EnergyLedger",
    "EnergyRow",
    "SettledTrade",
    "SettlementLog",
    "SimulationConfig",
    "SimulationResult",
    "run_simulation",
]
