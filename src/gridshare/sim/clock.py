"""The simulation clock: simulated milliseconds advanced in steps, paced against wall time."""

from __future__ import annotations

import asyncio
import time
from datetime import datetime, timedelta


class SimClock:
    """Simulated time that runs `speed` times faster than the wall clock.

    The driver advances it in whole steps (`advance`); everything else (meters, HTTP handlers)
    reads `now_ms()`, so every reader sees the same, monotonic time.
    """

    def __init__(self, start: datetime, speed: float = 1.0) -> None:
        if speed <= 0:
            raise ValueError("speed: must be positive")
        self.start = start
        self.speed = speed
        self._ms = 0
        self._wall0 = time.monotonic()

    def now_ms(self) -> int:
        """Simulated milliseconds since the start."""
        return self._ms

    def now(self) -> datetime:
        """The simulated date and time."""
        return self.start + timedelta(milliseconds=self._ms)

    def advance(self, ms: int) -> int:
        """Move simulated time forward; returns the new time."""
        self._ms += ms
        return self._ms

    def lag_ms(self) -> float:
        """How far simulated time is behind where the wall clock says it should be."""
        return (time.monotonic() - self._wall0) * self.speed * 1000 - self._ms

    async def sleep_ms(self, ms: float) -> None:
        """Sleep for ms simulated milliseconds of wall time."""
        await asyncio.sleep(max(0.0, ms) / 1000 / self.speed)
