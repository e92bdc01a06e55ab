"""Declarative scenarios: the Neelum valley village, a seeded random village, files."""

from gridshare.sim.scenarios.files import ScenarioFileError, load_scenario
from gridshare.sim.scenarios.neelum import NEELUM_START, neelum_valley
from gridshare.sim.scenarios.scenario import Scenario
from gridshare.sim.scenarios.village import DEFAULT_START, village

__all__ = [
    "DEFAULT_START",
    "NEELUM_START",
    "Scenario",
    "ScenarioFileError",
    "load_scenario",
    "neelum_valley",
    "village",
]
