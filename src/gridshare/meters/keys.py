"""Per-meter 256-bit keys and the server's strictly increasing command counters."""

from __future__ import annotations

import json
import logging
import secrets
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Protocol

from gridshare.atomic_file import write_atomically

KEY_BYTES = 32
log = logging.getLogger(__name__)


@dataclass(frozen=True, slots=True)
class MeterKey:
    """The secret a meter shares with the server."""

    meter_id: int
    key: bytes

    def __post_init__(self) -> None:
        if len(self.key) != KEY_BYTES:
            raise ValueError("key: must be 32 bytes (256 bits)")
        if self.meter_id < 0:
            raise ValueError("meter_id: must be non-negative")

    @classmethod
    def generate(cls, meter_id: int) -> MeterKey:
        """A fresh random key for a meter."""
        return cls(meter_id, secrets.token_bytes(KEY_BYTES))

    @classmethod
    def from_hex(cls, meter_id: int, key_hex: str) -> MeterKey:
        """A key from its 64 hex digits."""
        try:
            key = bytes.fromhex(key_hex)
        except ValueError as exc:
            raise ValueError("key: must be 64 hex digits") from exc
        return cls(meter_id, key)

    @property
    def hex(self) -> str:
        return self.key.hex()

    def __repr__(self) -> str:  # never print the secret
        return f"MeterKey(meter_id={self.meter_id}, key=<hidden>)"


class CommandCounter(Protocol):
    """Hands out the counter for the next command to a meter, strictly increasing per meter."""

    def next(self, meter_id: int) -> int: ...


class ClockCounter:
    """Counters from the wall clock in microseconds, strictly increasing across all meters.

    Needs no storage while the clock only goes forward. With a `mark` (a file in the data
    directory, as the server runs it), counters also stay above every one handed out before a
    restart when the clock was set back meanwhile: a Raspberry Pi has no clock battery, and
    after a power cut it starts from the time it last saved, which an offline village has no
    time server to correct. Meters refuse a counter not above the last one they obeyed, so
    without this every command was refused until the clock caught up (up to an hour).

    The mark is kept `RESERVE_US` ahead of the last counter given out and saved again once
    counters are half way there, so the mark saved before the latest one still covers every
    counter given out since: a power cut that loses the latest save loses nothing. After a
    restart counters start above the mark. A save that fails (a full or read-only card) is
    logged and tried again `RETRY_S` later; the commands go on meanwhile.
    """

    RESERVE_US = 60_000_000
    RETRY_S = 30.0

    def __init__(
        self, clock_us: Callable[[], int] | None = None, mark: CounterMark | None = None,
        monotonic: Callable[[], float] = time.monotonic,
    ) -> None:
        self._clock_us = clock_us or (lambda: time.time_ns() // 1000)
        self._mark = mark
        self._monotonic = monotonic
        self._reserved = 0 if mark is None else mark.load()
        self._last = self._reserved
        self._retry_at = 0.0
        self._lock = threading.Lock()

    def next(self, meter_id: int) -> int:
        with self._lock:
            value = max(self._clock_us(), self._last + 1)
            self._last = value
            if value > self._reserved - self.RESERVE_US // 2:
                self._save(value + self.RESERVE_US)
            return value

    def _save(self, wanted: int) -> None:
        if self._mark is None or self._monotonic() < self._retry_at:
            return
        try:
            self._mark.save(wanted)
        except OSError as exc:
            self._retry_at = self._monotonic() + self.RETRY_S
            log.warning("cannot save the meters' command counter mark (%s); commands go on,"
                        " but after a restart with the clock set back meters would refuse"
                        " them until it catches up; trying again in %.0f s", exc, self.RETRY_S)
            return
        self._reserved = wanted


class CounterMark(Protocol):
    """Where ClockCounter keeps its mark across restarts."""

    def load(self) -> int: ...

    def save(self, mark: int) -> None: ...


class CounterMarkFile:
    """The mark in a JSON file (`{"reserved_us": N}`), replaced atomically and synced."""

    def __init__(self, path: Path) -> None:
        self.path = path

    def load(self) -> int:
        """The saved mark; 0 (the clock alone) if there is none or it is unreadable, which
        is logged: saved through a synced temporary file, it is unreadable only if something
        else wrote it."""
        try:
            mark = json.loads(self.path.read_text(encoding="utf-8"))["reserved_us"]
        except FileNotFoundError:
            return 0
        except (OSError, ValueError, TypeError, KeyError):
            mark = None
        if type(mark) is not int or mark < 0:
            log.warning("%s does not hold the meters' command counter ({\"reserved_us\":"
                        " <whole number>}): counting from the clock alone, so if the clock was"
                        " set back, meters refuse commands until it passes their last one",
                        self.path)
            return 0
        return mark

    def save(self, mark: int) -> None:
        """A power cut leaves the old file or the new one, never half a file; the folder is
        synced too, so the new name survives it."""
        write_atomically(self.path, json.dumps({"reserved_us": mark}))
