"""Meter readings for the pages: asked of the meters over signed HTTP, cached briefly."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor

from gridshare.meters import ClockCounter, CommandCounter, MeterClient, MeterError, MeterRejected
from gridshare.meters.problems import MeterProblem, meter_problem
from gridshare.storage.households import HouseholdRecord
from gridshare.web.schemas import MeterReading

# What a resident can do about a meter that gave no reading (/meter), by what went wrong;
# the operator's sentences, naming what to check, are in routes/pages_operator.py (METER_SAYS)
WRONG_KEY = ("The meter answered but does not accept the server's key: ask the operator to "
             "check the meter key registered for this house.")
BAD_SIGNATURE = ("The meter answered, but its report is not signed with the key registered for "
                 "this house: ask the operator to check the meter key.")
OTHER_METER = ("Another meter answered at this meter's address: ask the operator to check the "
               "meter address registered for this house.")
OTHER_METER_ID = ("The meter answered but says the server's commands are for another meter: ask "
                  "the operator to check the meter id registered for this house.")
COUNTER_BEHIND = ("The meter answered but refuses the server's command counter: ask the operator "
                  "to check the server's clock and the meter's counters (docs/meters.md).")
LOCKED = ("The meter answered but obeys no command, as its saved counters cannot be read: ask "
          "the operator to put them back (docs/meters.md).")
ERROR_STATUS = "The meter answered with an error (HTTP {status}): ask the operator to check it."
UNREADABLE = ("The meter answered, but not with a report the server can read: ask the operator "
              "to check it.")
BAD_ADDRESS = ("The meter address registered for this house is not a valid URL, so the server "
               "cannot ask the meter: tell the operator.")
SILENT = "The meter did not answer: check that it has power and is on the village Wi-Fi."

# The same, in a few words for the community's table: every resident sees every house's, so
# they say who acts, and nothing the meter itself sent (anyone on the Wi-Fi can answer at a
# meter's address) nor the house's address or key.
METER_STATES: dict[MeterProblem, str] = {
    "not_answering": "Meter not answering",
    "refuses_key": "Meter refuses the server (operator: check its key)",
    "other_meter_id": "Meter refuses the server (operator: check its meter id)",
    "counter_behind": "Meter refuses the server (operator: check the server's clock)",
    "locked": "Meter obeys no command (operator: put its counters back)",
    "bad_address": "Meter address not valid (operator: correct it)",
    "error_status": "Meter answers with an error (operator: check it)",
    "bad_signature": "Meter's answer has the wrong signature (operator: check its key)",
    "other_meter": "Another meter answers at its address (operator: check the address)",
    "unreadable": "Meter's answer cannot be read (operator: check it)",
}


# the resident's sentence for each (ERROR_STATUS gets the status in)
RESIDENT_SENTENCES: dict[MeterProblem, str] = {
    "not_answering": SILENT, "refuses_key": WRONG_KEY, "other_meter_id": OTHER_METER_ID,
    "counter_behind": COUNTER_BEHIND, "locked": LOCKED, "bad_address": BAD_ADDRESS,
    "error_status": ERROR_STATUS, "bad_signature": BAD_SIGNATURE, "other_meter": OTHER_METER,
    "unreadable": UNREADABLE,
}


def meter_trouble(exc: MeterError) -> str:
    """What a resident can do about a meter that gave no reading, in words."""
    said = RESIDENT_SENTENCES[meter_problem(exc)]
    return said.format(status=exc.status) if isinstance(exc, MeterRejected) else said


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
            reading.problem, reading.error = meter_problem(exc), meter_trouble(exc)
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
