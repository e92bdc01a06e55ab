"""A scenario: a named set of houses at a site, from a start time."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime

from gridshare.sim.house import HouseSpec
from gridshare.sim.profiles import Site


@dataclass(frozen=True, slots=True)
class Scenario:
    """What a simulation runs: the houses (PV kWp, battery kWh, annual load), where and when."""

    name: str
    houses: tuple[HouseSpec, ...]
    start: datetime
    site: Site = field(default_factory=Site)

    def __post_init__(self) -> None:
        if not self.houses:
            raise ValueError("houses: a scenario needs at least one house")
        ids = [h.house_id for h in self.houses]
        if len(set(ids)) != len(ids):
            raise ValueError("houses: house ids must be unique")
        if self.start.tzinfo is None:
            raise ValueError("start: must carry a time zone")
