"""Times in the village's own zone: its hour, its abbreviation, its midnight (also across a
change to summer time)."""

from __future__ import annotations

import datetime as dt

import pytest

from gridshare.local_time import (
    abbreviation,
    date_and_time,
    day_and_time,
    day_start,
    offset_s,
    time_of_day,
    village_zone,
)  # fmt: skip

EPOCH = 1796027523  # 2026-11-30 08:32:03 UTC
KARACHI = village_zone("Asia/Karachi")  # UTC+5, no summer time
BERLIN = village_zone("Europe/Berlin")  # UTC+1, summer time UTC+2 from 2026-03-29 01:00 UTC


def test_times_are_shown_on_the_villages_clock_with_its_abbreviation() -> None:
    assert time_of_day(EPOCH) == "08:32:03 UTC"
    assert time_of_day(EPOCH, KARACHI) == "13:32:03 PKT"
    assert date_and_time(EPOCH, KARACHI) == "2026-11-30 13:32 PKT"
    assert day_and_time(EPOCH, KARACHI) == "30 Nov 13:32"
    assert day_and_time(EPOCH, KARACHI, [f"m{i}" for i in range(1, 13)]) == "30 m11 13:32"
    assert date_and_time(EPOCH - 9 * 3600, KARACHI) == "2026-11-30 04:32 PKT"
    assert (offset_s(EPOCH, KARACHI), abbreviation(EPOCH, KARACHI)) == (18000, "PKT")


def test_summer_time_changes_the_offset_and_the_name() -> None:
    winter = int(dt.datetime(2026, 1, 15, 12, tzinfo=dt.UTC).timestamp())
    summer = int(dt.datetime(2026, 7, 15, 12, tzinfo=dt.UTC).timestamp())
    assert (time_of_day(winter, BERLIN), offset_s(winter, BERLIN)) == ("13:00:00 CET", 3600)
    assert (time_of_day(summer, BERLIN), offset_s(summer, BERLIN)) == ("14:00:00 CEST", 7200)


def test_the_day_starts_at_the_villages_midnight() -> None:
    assert day_start(EPOCH) == int(dt.datetime(2026, 11, 30, tzinfo=dt.UTC).timestamp())
    # 13:32 PKT on the 30th: the day began at 00:00 PKT, 19:00 UTC on the 29th
    assert day_start(EPOCH, KARACHI) == int(
        dt.datetime(2026, 11, 29, 19, tzinfo=dt.UTC).timestamp()
    )
    # 02:30 PKT on the 30th is 21:30 UTC on the 29th: still the 30th in the village
    early = int(dt.datetime(2026, 11, 29, 21, 30, tzinfo=dt.UTC).timestamp())
    assert day_start(early, KARACHI) == day_start(EPOCH, KARACHI)
    # the day summer time begins is 23 hours long: its midnight is still 00:00 CET
    change_day = int(dt.datetime(2026, 3, 29, 20, tzinfo=dt.UTC).timestamp())
    assert day_start(change_day, BERLIN) == int(
        dt.datetime(2026, 3, 28, 23, tzinfo=dt.UTC).timestamp()
    )


@pytest.mark.parametrize("name", ["Mars/Olympus", "", "../etc/passwd"])
def test_an_unknown_zone_is_refused_by_name(name: str) -> None:
    with pytest.raises(ValueError, match=f"unknown time zone {name!r}"):
        village_zone(name)
