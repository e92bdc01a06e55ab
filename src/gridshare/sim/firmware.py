"""Typed access to the meter firmware (`gridshare_meter`: untyped MicroPython code).

The simulator runs the very code that is flashed to the boards; this module is the one place
that imports it, so the rest of the server code stays fully typed.
"""

from __future__ import annotations

import importlib
from collections.abc import Mapping
from pathlib import Path
from typing import Any, Protocol


class FirmwareMeter(Protocol):
    """The parts of `gridshare_meter.meter.Meter` the simulator uses."""

    meter_id: int
    relay_closed: bool
    exporting: bool
    fault: str | None

    def status_dict(self) -> dict[str, Any]: ...

    def update(self, now_ms: int) -> bool: ...

    def server_time(self, now_ms: int | None = None) -> int | None: ...


class Hardware(Protocol):
    """The hardware layer the firmware drives (ESP32 pins on a board, physics in the sim)."""

    def read(self) -> tuple[int | None, int | None]: ...

    def set_relay(self, closed: bool, exporting: bool) -> None: ...


class Clock(Protocol):
    """The firmware's clock: monotonic milliseconds."""

    def now_ms(self) -> int: ...


def _module(name: str) -> Any:
    return importlib.import_module(f"gridshare_meter.{name}")


def new_meter(
    meter_id: int, key: bytes, state_path: Path | None, *, silence_ms: int, max_queue: int = 8
) -> FirmwareMeter:
    """A firmware Meter with counters in state_path (or in memory when None)."""
    store_mod = _module("store")
    store = store_mod.MemoryStore() if state_path is None else store_mod.FileStore(str(state_path))
    meter: FirmwareMeter = _module("meter").Meter(
        meter_id, key, store, silence_ms=silence_ms, max_queue=max_queue
    )
    return meter


def calibration(values: Mapping[str, object] | None = None) -> object:
    """A firmware Calibration (defaults: 21:1 divider, ACS712-30A behind a 2/3 divider)."""
    return _module("sensors").Calibration(dict(values or {}))


def pin_uv(cal: object, v_mv: float, i_ma: float) -> tuple[float, float]:
    """Ideal ADC pin microvolts for a bus voltage and current (inverse of the calibration)."""
    v, i = _module("sensors").pin_uv(cal, v_mv, i_ma)
    return float(v), float(i)


def step(meter: FirmwareMeter, hw: Hardware, cal: object, now_ms: int) -> bool:
    """One firmware sampling step (read sensors, integrate, drive the relay)."""
    return bool(_module("runtime").step(meter, hw, cal, now_ms))


def create_app(meter: FirmwareMeter, clock: Clock, name: str) -> Any:
    """The firmware's Microdot app for one meter."""
    return _module("api").create_app(meter, clock, name)
