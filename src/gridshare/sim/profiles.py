"""Time series that drive a house: clear-sky PV (pvlib) and BDEW H25 household load (demandlib)."""

from __future__ import annotations

import warnings
from dataclasses import dataclass
from datetime import datetime, timedelta
from functools import lru_cache
from typing import Any

import numpy as np
import numpy.typing as npt
import pandas as pd


@dataclass(frozen=True, slots=True)
class Site:
    """Where the village is: the papers' site in Kashmir by default."""

    latitude: float = 34.818
    longitude: float = 74.218
    altitude_m: float = 1580.0
    tz: str = "Asia/Karachi"


@dataclass(frozen=True, slots=True)
class PvSpec:
    """A rooftop PV array: peak power, orientation and losses."""

    kwp: float = 1.0
    tilt_deg: float = 30.0
    azimuth_deg: float = 180.0
    losses_pct: float = 14.0
    temp_coeff_per_k: float = -0.004


@dataclass(frozen=True, slots=True)
class Profile:
    """Values (W) at a fixed step from a start time; wraps around after its end."""

    start: datetime
    step_s: int
    values: tuple[float, ...]

    def at(self, t_ms: int) -> float:
        """The value in force t_ms after the start."""
        return self.values[(t_ms // (self.step_s * 1000)) % len(self.values)]


def _index(start: datetime, days: int, step_s: int, tz: str) -> pd.DatetimeIndex:
    ts = pd.Timestamp(start)
    ts = ts.tz_localize(tz) if ts.tzinfo is None else ts.tz_convert(tz)
    return pd.date_range(ts, periods=days * 86400 // step_s, freq=f"{step_s}s")


def pv_profile(spec: PvSpec, site: Site, start: datetime, days: int, step_s: int = 60) -> Profile:
    """Clear-sky DC output of the array (W) for `days` from `start`."""
    return Profile(start, step_s, _pv_values(spec, site, start, days, step_s))


@lru_cache(maxsize=64)
def _pv_values(
    spec: PvSpec, site: Site, start: datetime, days: int, step_s: int
) -> tuple[float, ...]:
    import pvlib

    sky, sun = _sky(site, start, days, step_s)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return _pv_dc(pvlib, spec, sky, sun)


def _pv_dc(pvlib: Any, spec: PvSpec, sky: pd.DataFrame, sun: pd.DataFrame) -> tuple[float, ...]:
    poa = pvlib.irradiance.get_total_irradiance(
        spec.tilt_deg, spec.azimuth_deg, sun["apparent_zenith"], sun["azimuth"],
        sky["dni"], sky["ghi"], sky["dhi"],
    )["poa_global"].fillna(0.0)
    params = pvlib.temperature.TEMPERATURE_MODEL_PARAMETERS["sapm"]["open_rack_glass_polymer"]
    cell = pvlib.temperature.sapm_cell(poa, 20.0, 1.0, **params)
    dc = pvlib.pvsystem.pvwatts_dc(poa, cell, spec.kwp * 1000.0, spec.temp_coeff_per_k)
    watts: npt.NDArray[np.float64] = np.clip(
        np.asarray(dc, dtype=float) * (1 - spec.losses_pct / 100), 0.0, None
    )
    return tuple(float(w) for w in watts)


@lru_cache(maxsize=4)
def _sky(site: Site, start: datetime, days: int, step_s: int) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Clear-sky irradiance (Ineichen) and sun position at the site."""
    import pvlib

    times = _index(start, days, step_s, site.tz)
    loc = pvlib.location.Location(site.latitude, site.longitude, site.tz, site.altitude_m)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # pvlib's own pandas deprecations
        return loc.get_clearsky(times, model="ineichen"), loc.get_solarposition(times)


@lru_cache(maxsize=4)
def _h25_year(year: int) -> tuple[pd.DatetimeIndex, tuple[float, ...]]:
    """BDEW H25 for a whole year at 15 min, normalised to 1 kWh per year (values in W)."""
    from demandlib.bdew import H25

    idx = pd.date_range(f"{year}-01-01", f"{year}-12-31 23:45", freq="15min")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # demandlib's own pandas deprecations
        raw = np.asarray(H25(idx), dtype=float)
    wh_per_year = raw.sum() * 0.25
    return idx, tuple(float(v) for v in raw * 1000.0 / wh_per_year)


def load_profile(
    annual_kwh: float, start: datetime, days: int, step_s: int = 60, shift_min: int = 0
) -> Profile:
    """Household load (W) from BDEW H25 scaled to annual_kwh, optionally shifted in time."""
    local = start.replace(tzinfo=None) + timedelta(minutes=shift_min)
    idx, per_kwh = _h25_year(local.year)
    series = pd.Series(per_kwh, index=idx)
    times = pd.date_range(local, periods=days * 86400 // step_s, freq=f"{step_s}s")
    slot = times.floor("15min")
    # past the end of the year, wrap to the start of the same year
    slot = slot.map(lambda t: t if t.year == local.year else t.replace(year=local.year))
    values = series.reindex(slot).to_numpy() * annual_kwh
    return Profile(start, step_s, tuple(float(v) for v in values))
