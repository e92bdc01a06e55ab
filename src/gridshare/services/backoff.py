"""Which meters to leave alone for a while: a meter that fails is tried less and less often.

The orchestrator talks to each meter of a running or waiting delivery on every tick (five
times a second). A meter that is off the network would be hammered at that rate, each try a
failed connection and a log line; so would one that answers wrongly every time (a bad
signature, garbage, 404 for a delivery it lost in a reboot, HTTP 500). After any failure the
meter is skipped for a wait that doubles with each further failure (0.5 s, 1 s, ... up to
8 s), so the log gets one line per wait, and it is forgotten on the first good answer. While a
meter is left alone it counts as not answering: its deliveries wait, and one whose deadline has
passed is decided as for a silent meter (its fail-safe has acted by then).

What the last failure was is kept with the count (`troubles`), for the operator page: a meter
that refuses every command (a wrong key, a counter file it cannot read, a server clock set
back) is otherwise only in the server's log, its deliveries "pending" with no word why. It is
kept as the meter's problem (a code the page words for the operator) and in the engine's words
(for the technically minded)."""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, field

from gridshare.meters import MeterProblem

FIRST_WAIT_S = 0.5
MAX_WAIT_S = 8.0


@dataclass(frozen=True, slots=True)
class MeterTrouble:
    """A meter that failed its last tries: how many in a row, and what the last one was (in the
    engine's words, and as the meter's problem; None when the server itself failed)."""

    failures: int
    reason: str
    problem: MeterProblem | None = None


@dataclass
class MeterBackoff:
    """Per-meter waits after failed tries, on `clock` (seconds; monotonic by default)."""

    clock: Callable[[], float] = time.monotonic
    first_wait_s: float = FIRST_WAIT_S
    max_wait_s: float = MAX_WAIT_S
    _failures: dict[int, tuple[float, MeterTrouble]] = field(default_factory=dict, init=False)
    """meter id -> (time before which it is not tried, its trouble)"""

    def ready(self, meter_id: int) -> bool:
        """Whether the meter may be tried now."""
        entry = self._failures.get(meter_id)
        return entry is None or self.clock() >= entry[0]

    def failed(self, meter_id: int, reason: str = "", problem: MeterProblem | None = None) -> float:
        """Record a failed try (and why: in words, and the meter's problem if it was the
        meter's); returns how long the meter is now left alone (s)."""
        count = self._failures[meter_id][1].failures + 1 if meter_id in self._failures else 1
        wait = min(self.max_wait_s, self.first_wait_s * 2.0 ** (count - 1))
        self._failures[meter_id] = (self.clock() + wait, MeterTrouble(count, reason, problem))
        return wait

    def answered(self, meter_id: int) -> None:
        """The meter answered: try it freely again."""
        self._failures.pop(meter_id, None)

    def troubles(self) -> dict[int, MeterTrouble]:
        """The meters whose last try failed, by meter id."""
        return {meter: trouble for meter, (_, trouble) in list(self._failures.items())}
