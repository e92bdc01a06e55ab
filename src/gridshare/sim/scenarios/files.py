"""Scenarios from JSON or TOML files: the same fields as the Python dataclasses.

    name = "My village"
    start = "2025-06-21T00:00:00+05:00"
    [site]                      # optional: latitude, longitude, altitude_m, tz
    [[houses]]
    house_id = 1
    pv_kwp = 1.5                # 0 for a house without PV
    battery_kwh = 2.4
    annual_kwh = 900
    initial_soc = 0.6           # optional, like every HouseSpec field below; 0 to 1
    line_ohm = 0.05
    line_max_w = 1000
    load_shift_min = 0
    tilt_deg = 30
    azimuth_deg = 180
"""

from __future__ import annotations

import json
import math
import tomllib
from collections.abc import Mapping
from datetime import datetime
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from gridshare.sim.battery import BatterySpec
from gridshare.sim.house import HouseSpec
from gridshare.sim.profiles import PvSpec, Site
from gridshare.sim.scenarios.neelum import NEELUM_START
from gridshare.sim.scenarios.scenario import Scenario

_HOUSE_KEYS = {
    "house_id", "pv_kwp", "battery_kwh", "annual_kwh", "initial_soc", "line_ohm",
    "line_max_w", "load_shift_min", "tilt_deg", "azimuth_deg",
}


_FORMATS = {".json": "JSON", ".toml": "TOML"}


class ScenarioFileError(ValueError):
    """A scenario file that cannot be used; the message names the file and the field."""


def load_scenario(path: Path) -> Scenario:
    """Read a scenario from a .json or .toml file (the name's ending says which)."""
    kind = _FORMATS.get(path.suffix.lower())
    if kind is None:
        raise ScenarioFileError(f"{path}: a scenario file must end in .json or .toml")
    try:
        text = path.read_text()
    except OSError as exc:
        raise ScenarioFileError(f"{path}: {exc.strerror or exc}") from exc
    except UnicodeDecodeError as exc:
        raise ScenarioFileError(f"{path}: not valid {kind}: not UTF-8 text") from exc
    try:
        data: Any = tomllib.loads(text) if kind == "TOML" else json.loads(text)
    except (tomllib.TOMLDecodeError, json.JSONDecodeError) as exc:
        raise ScenarioFileError(f"{path}: not valid {kind}: {exc}") from exc
    try:
        return scenario_from_mapping(data, default_name=path.stem)
    except (TypeError, ValueError) as exc:
        raise ScenarioFileError(f"{path}: {exc}") from exc


def scenario_from_mapping(data: Any, default_name: str = "scenario") -> Scenario:
    """A Scenario from parsed JSON/TOML data; ValueError names the field at fault."""
    if not isinstance(data, Mapping):
        raise ValueError("the file must hold a table/object at the top")
    houses = data.get("houses")
    if not isinstance(houses, list) or not houses:
        raise ValueError("houses: must be a non-empty list")
    start = NEELUM_START
    if "start" in data:
        try:
            start = datetime.fromisoformat(str(data["start"]))
        except ValueError:
            raise ValueError("start: must be an ISO 8601 date and time") from None
    site = _site(data["site"]) if "site" in data else Site()
    specs = tuple(_house(h, n) for n, h in enumerate(houses, start=1))
    first: dict[int, int] = {}
    for n, spec in enumerate(specs, start=1):
        earlier = first.setdefault(spec.house_id, n)
        if earlier != n:
            raise ValueError(f"houses[{n}].house_id: {spec.house_id} is already"
                             f" houses[{earlier}]'s; each house needs its own")
    return Scenario(str(data.get("name", default_name)), specs, start, site)


def _site(raw: Any) -> Site:
    if not isinstance(raw, Mapping):
        raise ValueError("site: must be a table/object")
    unknown = set(raw) - {"latitude", "longitude", "altitude_m", "tz"}
    if unknown:
        raise ValueError(f"site: unknown field(s) {', '.join(sorted(unknown))}")
    for key, low, high in (("latitude", -90, 90), ("longitude", -180, 180)):
        value = raw.get(key, 0)
        if (isinstance(value, bool) or not isinstance(value, int | float)
                or not math.isfinite(value) or not low <= value <= high):
            raise ValueError(f"site.{key}: must be a number from {low} to {high}")
    default = Site()
    tz = raw.get("tz", default.tz)
    try:
        ZoneInfo(str(tz))
    except (ValueError, ZoneInfoNotFoundError):
        raise ValueError(f"site.tz: unknown time zone {tz!r}") from None
    return Site(
        latitude=float(raw.get("latitude", default.latitude)),
        longitude=float(raw.get("longitude", default.longitude)),
        altitude_m=_num(raw, "altitude_m", default.altitude_m, "site"),
        tz=str(tz),
    )


def _num(raw: Mapping[str, Any], key: str, default: float, where: str) -> float:
    """A finite number >= 0 (JSON's NaN and Infinity, TOML's nan and inf are refused)."""
    value = raw.get(key, default)
    if (isinstance(value, bool) or not isinstance(value, int | float)
            or not math.isfinite(value) or value < 0):
        raise ValueError(f"{where}.{key}: must be a finite number >= 0")
    return float(value)


def _share(raw: Mapping[str, Any], key: str, default: float, where: str) -> float:
    """A share from 0 to 1, such as the battery's state of charge."""
    value = _num(raw, key, default, where)
    if value > 1:
        raise ValueError(f"{where}.{key}: must be from 0 to 1 (a share of the battery)")
    return value


def _house(raw: Any, n: int) -> HouseSpec:
    where = f"houses[{n}]"
    if not isinstance(raw, Mapping):
        raise ValueError(f"{where}: must be a table/object")
    unknown = set(raw) - _HOUSE_KEYS
    if unknown:
        raise ValueError(f"{where}: unknown field(s) {', '.join(sorted(unknown))}")
    hid = raw.get("house_id", n)
    if not isinstance(hid, int) or isinstance(hid, bool) or hid < 1:
        raise ValueError(f"{where}.house_id: must be an integer >= 1")
    battery_kwh = _num(raw, "battery_kwh", 2.4, where)
    if battery_kwh <= 0:
        raise ValueError(f"{where}.battery_kwh: must be > 0")
    return HouseSpec(
        house_id=hid,
        pv=PvSpec(kwp=_num(raw, "pv_kwp", 1.0, where),
                  tilt_deg=_num(raw, "tilt_deg", 30.0, where),
                  azimuth_deg=_num(raw, "azimuth_deg", 180.0, where)),
        annual_kwh=_num(raw, "annual_kwh", 1000.0, where),
        battery=BatterySpec(capacity_wh=battery_kwh * 1000.0),
        initial_soc=_share(raw, "initial_soc", 0.6, where),
        line_ohm=_num(raw, "line_ohm", 0.05, where),
        line_max_w=_num(raw, "line_max_w", 1000.0, where),
        load_shift_min=_shift(raw, where),
    )


def _shift(raw: Mapping[str, Any], where: str) -> int:
    value = raw.get("load_shift_min", 0)
    if isinstance(value, bool) or not isinstance(value, int) or abs(value) > 720:
        raise ValueError(f"{where}.load_shift_min: must be an integer from -720 to 720")
    return value
