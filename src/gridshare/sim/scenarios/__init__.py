"""Declarative scenarios: the default Neelum valley village, and scenarios read from files."""

from gridshare.sim.scenarios.files import ScenarioFileError, load_scenario
from gridshare.sim.scenarios.neelum import NEELUM_START, neelum_valley
from gridshare.sim.scenarios.scenario import Scenario

__all__ = ["NEELUM_START", "Scenario", "ScenarioFileError", "load_scenario", "neelum_valley"]
