"""Block timestamps the caller can drive (the simulator's clock sets block time)."""

from __future__ import annotations

import time
from collections.abc import Callable

Clock = Callable[[], float]


class BlockClock:
    """Chooses each new block's timestamp: the clock's second, never before its parent.

    The timestamp is `clock() + offset` (the offset grows with `increase_time`), unless
    `set_next_timestamp` fixed the next one; it is always at least the parent's. Blocks mined
    within one second share that second (as Anvil's automine does), so block time never runs
    ahead of the clock however many transactions arrive: a village's order deadlines and
    delivery windows stay in step with its meters. (Ethereum mainnet's rule is strictly
    increasing timestamps; with one transaction per block that would cap this chain at one
    transaction per second of real time before its clock drifts ahead.)
    """

    def __init__(self, clock: Clock | None = None) -> None:
        self._clock: Clock = clock or time.time
        self._offset = 0
        self._next: int | None = None

    def set_clock(self, clock: Clock) -> None:
        """Replace the time source (e.g. the simulator's simulated time)."""
        self._clock = clock

    @property
    def offset(self) -> int:
        """Seconds added to the clock by `increase_time` (restored by snapshot reverts)."""
        return self._offset

    @offset.setter
    def offset(self, seconds: int) -> None:
        self._offset = seconds
        self._next = None

    def increase_time(self, seconds: int) -> int:
        """Move the chain's time forward by `seconds`; returns the total offset."""
        if seconds < 0:
            raise ValueError("time can only move forward")
        self._offset += seconds
        return self._offset

    def set_next_timestamp(self, timestamp: int, parent_timestamp: int) -> None:
        """Fix the next block's timestamp; it must be later than the parent's (a real jump)."""
        if timestamp <= parent_timestamp:
            raise ValueError(
                f"next block timestamp {timestamp} must be greater than the latest "
                f"block's {parent_timestamp}"
            )
        self._next = timestamp

    def peek(self, parent_timestamp: int) -> int:
        """The timestamp the next block would get now."""
        if self._next is not None:
            return self._next
        return max(int(self._clock()) + self._offset, parent_timestamp)

    def take(self, parent_timestamp: int) -> int:
        """The next block's timestamp, consuming a `set_next_timestamp` value."""
        timestamp = self.peek(parent_timestamp)
        self._next = None
        return max(timestamp, parent_timestamp)
