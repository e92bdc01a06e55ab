"""Meter readings for the pages: asked of the meters over signed HTTP, cached briefly."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor

from gridshare.meters import (
    ClockCounter,
    CommandCounter,
    MeterAddressInvalid,
    MeterClient,
    MeterError,
    MeterRejected,
    MeterUnreachable,
    ReportInvalid,
)
from gridshare.storage.households import HouseholdRecord
from gridshare.web.schemas import MeterReading

WRONG_KEY = ("The meter answered but does not accept the server's key: ask the operator to "
             "check the meter key registered for this house.")
BAD_SIGNATURE = ("The meter answered, but its report is not signed with the key registered for "
                 "this house: ask the operator to check the meter key.")
OTHER_METER = ("Another meter answered at this meter's address: ask the operator to check the "
               "meter address registered for this house.")
OTHER_METER_ID = ("The meter answered but says the server's commands are for another meter: ask "
                  "the operator to check the meter id registered for this house.")
COUNTER_BEHIND = ("The meter answered but refuses the server's command counter: ask the operator "
                  "to put its counters back (docs/meters.md).")
UNREADABLE = ("The meter answered, but not with a report the server can read: ask the operator "
              "to check it.")
BAD_ADDRESS = ("The meter address registered for this house is not a valid URL, so the server "
               "cannot ask the meter: tell the operator.")
SILENT = "The meter did not answer: check that it has power and is on the village Wi-Fi."


def meter_trouble(exc: MeterError) -> str:
    """What a resident can do about a meter that gave no reading, in words."""
    if isinstance(exc, MeterAddressInvalid):
        return BAD_ADDRESS
    if isinstance(exc, MeterUnreachable):
        return SILENT
    if isinstance(exc, MeterRejected) and exc.status == 403 and exc.message.startswith("meter:"):
        return OTHER_METER_ID
    if isinstance(exc, MeterRejected) and exc.status == 401 and exc.message.startswith("counter:"):
        return COUNTER_BEHIND
    if isinstance(exc, MeterRejected) and exc.status in (401, 403):
        return WRONG_KEY
    if isinstance(exc, MeterRejected):
        return (f"The meter answered with an error (HTTP {exc.status}): ask the operator to "
                "check it.")
    if isinstance(exc, ReportInvalid) and exc.field == "sig":
        return BAD_SIGNATURE
    if isinstance(exc, ReportInvalid) and exc.field == "meter":
        return OTHER_METER
    return UNREADABLE


def meter_reading(
    record: HouseholdRecord, timeout: float = 1.5, counter: CommandCounter | None = None
) -> MeterReading:
    """Live readings from the household's meter (and the simulator's house model, if any).

    `counter`: the server's command counter (a signed status read spends one)."""
    reading = MeterReading(house_id=record.house_id, reachable=False)
    with MeterClient(record.meter_url, record.meter.key, timeout=timeout,
                     counter=counter) as client:
        try:
            status = client.status()
        except MeterError as exc:
            reading.error = meter_trouble(exc)
            return reading
        reading.reachable = True
        reading.voltage_mv, reading.current_ma = status.voltage_mv, status.current_ma
        reading.power_mw, reading.relay_closed = status.power_mw, status.relay_closed
        reading.last_contact = int(time.time())
        try:  # the simulator's physical model; a real meter has no /sim endpoints
            data = client.get_json("/sim/house")
            reading.soc_permille = round(float(data["soc"]) * 1000)
            reading.pv_w, reading.load_w = round(data["pv_w"]), round(data["load_w"])
        except (MeterError, ValueError, KeyError, TypeError, OverflowError):
            pass
    return reading


class ReadingCache:
    """Recent meter readings, so page views do not each ask every meter (cheap for both)."""

    def __init__(
        self, max_age_s: float = 3.0, clock: Callable[[], float] = time.monotonic,
        counter: CommandCounter | None = None,
    ) -> None:
        self.max_age_s = max_age_s
        self._clock = clock
        self._counter = counter or ClockCounter()
        self._readings: dict[int, tuple[float, MeterReading]] = {}
        self._lock = threading.Lock()

    def get(self, record: HouseholdRecord, timeout: float = 1.5) -> MeterReading:
        """The household's reading, asking its meter only if the last one is too old."""
        with self._lock:
            cached = self._readings.get(record.house_id)
        if cached is not None and self._clock() - cached[0] < self.max_age_s:
            return cached[1]
        return self.fresh(record, timeout)

    def fresh(self, record: HouseholdRecord, timeout: float = 1.5) -> MeterReading:
        """The household's reading asked of its meter now (its address or key just changed)."""
        reading = meter_reading(record, timeout, self._counter)
        with self._lock:
            self._readings[record.house_id] = (self._clock(), reading)
        return reading

    def many(self, records: list[HouseholdRecord], timeout: float = 1.0) -> list[MeterReading]:
        """Readings of several households, stale ones fetched from their meters in parallel."""
        if not records:
            return []
        with ThreadPoolExecutor(max_workers=min(16, len(records))) as pool:
            return list(pool.map(lambda r: self.get(r, timeout), records))
