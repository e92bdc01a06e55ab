"""Times as the village reads them: on its own clock (`Settings.timezone`), with the zone's
abbreviation, so "14:05:09 PKT" and not an hour residents have to convert. Pure functions.

    zone = village_zone("Asia/Karachi")
    time_of_day(1_750_000_000, zone)    -> "20:06:40 PKT"
    date_and_time(1_750_000_000, zone)  -> "2025-06-15 20:06 PKT"
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

UTC = ZoneInfo("UTC")
MONTHS = ("January", "February", "March", "April", "May", "June", "July", "August",
          "September", "October", "November", "December")
MONTHS_SHORT = tuple(name[:3] for name in MONTHS)


def village_zone(name: str) -> ZoneInfo:
    """The IANA time zone `name` ("Asia/Karachi", "UTC"); ValueError naming it if unknown."""
    try:
        return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError):
        raise ValueError(
            f"unknown time zone {name!r}: give an IANA name such as Asia/Karachi or UTC"
        ) from None


def _moment(epoch: int, zone: dt.tzinfo) -> dt.datetime:
    return dt.datetime.fromtimestamp(int(epoch), zone)


def time_of_day(epoch: int, zone: dt.tzinfo = UTC) -> str:
    """"14:05:09 PKT"."""
    return _moment(epoch, zone).strftime("%H:%M:%S %Z")


def date_and_time(epoch: int, zone: dt.tzinfo = UTC) -> str:
    """"2026-11-30 14:05 PKT"."""
    return _moment(epoch, zone).strftime("%Y-%m-%d %H:%M %Z")


def day_and_time(
    epoch: int, zone: dt.tzinfo = UTC, months: Sequence[str] = MONTHS_SHORT
) -> str:
    """"30 Nov 13:32": a row's time in a list of this year's trades; `months` names the
    twelve months in the reader's language (strftime's %b would follow the process locale)."""
    moment = _moment(epoch, zone)
    return f"{moment.day:02d} {months[moment.month - 1]} {moment:%H:%M}"


def offset_s(epoch: int, zone: dt.tzinfo = UTC) -> int:
    """The zone's offset from UTC at `epoch`, in seconds (18000 for PKT)."""
    offset = _moment(epoch, zone).utcoffset()
    return 0 if offset is None else int(offset.total_seconds())


def abbreviation(epoch: int, zone: dt.tzinfo = UTC) -> str:
    """The zone's short name at `epoch` ("PKT", "CEST", or "+05" where it has none)."""
    return _moment(epoch, zone).strftime("%Z")


def day_start(epoch: int, zone: dt.tzinfo = UTC) -> int:
    """The Unix time of the village's midnight that began the day `epoch` falls in."""
    midnight = dt.datetime.combine(_moment(epoch, zone).date(), dt.time(), tzinfo=zone)
    return int(midnight.timestamp())  # the first midnight where a clock change repeats it
