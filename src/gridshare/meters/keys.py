"""Per-meter 256-bit keys and the server's strictly increasing command counters."""

from __future__ import annotations

import json
import logging
import os
import secrets
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Protocol

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

    Needs no storage while the clock only goes forward. With `reserve_in` (a file in the data
    directory, as the server runs it), counters also stay above every one handed out before a
    restart when the clock was set back meanwhile: a Raspberry Pi has no clock battery, and
    after a power cut it starts from the time it last saved, which an offline village has no
    time server to correct. Meters refuse a counter not above the last one they obeyed, so
    without this every command was refused until the clock caught up (up to an hour).

    The file holds a mark `RESERVE_US` ahead of the last counter given out. It is written
    (atomically, synced) only when a counter passes the mark, so about once a minute while the
    server sends commands; after a restart counters start above it. A clock that is behind
    makes each counter the last one + 1, so the file is then written hardly at all.
    """

    RESERVE_US = 60_000_000

    def __init__(
        self, clock_us: Callable[[], int] | None = None, reserve_in: Path | None = None
    ) -> None:
        self._clock_us = clock_us or (lambda: time.time_ns() // 1000)
        self._path = reserve_in
        self._reserved = 0 if reserve_in is None else read_reservation(reserve_in)
        self._last = self._reserved
        self._lock = threading.Lock()

    def next(self, meter_id: int) -> int:
        with self._lock:
            value = max(self._clock_us(), self._last + 1)
            if self._path is not None and value > self._reserved:
                write_reservation(self._path, value + self.RESERVE_US)
                self._reserved = value + self.RESERVE_US
            self._last = value
            return value


def read_reservation(path: Path) -> int:
    """The mark saved in `path`; 0 (the clock alone) if there is none or it is unreadable,
    which is logged: written through a synced temporary file, it is unreadable only if
    something else wrote it."""
    try:
        mark = json.loads(path.read_text(encoding="utf-8"))["reserved_us"]
    except FileNotFoundError:
        return 0
    except (OSError, ValueError, TypeError, KeyError):
        mark = None
    if type(mark) is not int or mark < 0:
        log.warning("%s does not hold the meters' command counter ({\"reserved_us\": <whole"
                    " number>}): counting from the clock alone, so if the clock was set back,"
                    " meters refuse commands until it passes their last one", path)
        return 0
    return mark


def write_reservation(path: Path, mark: int) -> None:
    """Save `mark` so that a power cut leaves the old file or the new one, never half a file."""
    tmp = path.with_name(path.name + ".tmp")
    with open(tmp, "w", encoding="utf-8") as f:
        f.write(json.dumps({"reserved_us": mark}))
        f.flush()
        os.fsync(f.fileno())
    os.replace(tmp, path)


class FileCounter:
    """Counters persisted in a JSON file (written before each command is sent)."""

    def __init__(self, path: Path) -> None:
        self._path = path
        self._lock = threading.Lock()

    def _load(self) -> dict[str, int]:
        try:
            data = json.loads(self._path.read_text())
        except (OSError, ValueError):
            return {}
        return {str(k): int(v) for k, v in data.items()} if isinstance(data, dict) else {}

    def next(self, meter_id: int) -> int:
        with self._lock:
            data = self._load()
            value = data.get(str(meter_id), 0) + 1
            data[str(meter_id)] = value
            tmp = self._path.with_suffix(".tmp")
            tmp.write_text(json.dumps(data))
            os.replace(tmp, self._path)
            return value
