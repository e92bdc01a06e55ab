"""Headless community simulation: driver loop on one clock, accounting, LP optimum, report."""

from gridshare.simulation.accounting import EnergyLedger, EnergyRow
from gridshare.simulation.driver import SimulationConfig, SimulationResult, run_simulation
from gridshare.simulation.orchestrator import Deliveries, MeterOrchestrator, SettledTrade

__all__ = [
    "Deliveries",
    "EnergyLedger",
    "EnergyRow",
    "MeterOrchestrator",
    "SettledTrade",
    "SimulationConfig",
    "SimulationResult",
    "run_simulation",
]
