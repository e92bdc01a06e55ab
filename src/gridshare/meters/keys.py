"""Per-meter 256-bit keys and the server's strictly increasing command counters."""

from __future__ import annotations

import json
import os
import secrets
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Protocol

KEY_BYTES = 32


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
    """Counters from the wall clock in microseconds, never repeating within this process.

    Needs no storage: after a restart the clock has moved on, so counters keep increasing as
    long as the system clock is not set back (use `FileCounter` where it might be).
    """

    def __init__(self, clock_us: Callable[[], int] | None = None) -> None:
        self._clock_us = clock_us or (lambda: time.time_ns() // 1000)
        self._last: dict[int, int] = {}
        self._lock = threading.Lock()

    def next(self, meter_id: int) -> int:
        with self._lock:
            value = max(self._clock_us(), self._last.get(meter_id, 0) + 1)
            self._last[meter_id] = value
            return value


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
