"""Runs a meter over a hardware layer: one sample step, and the sampling loop for a board.

A hardware layer has `read()` -> (v_pin_uv, i_pin_uv) and `set_relay(closed, exporting)`;
a clock has `now_ms()` (monotonic, never wraps) and `async sleep_ms(ms)`.
"""

try:
    import asyncio
except ImportError:  # pragma: no cover - older MicroPython
    import uasyncio as asyncio

import time

from gridshare_meter.sensors import SensorFault, convert


def step(meter, hw, cal, now_ms):
    """Read the sensors once, feed the meter and drive the relay; returns the relay state.

    Any failure opens the relay: a sensor fault, a driver error (OSError), a full heap
    (MemoryError) stop the delivery as a fault; if even that fails the relay is opened anyway.
    """
    try:
        try:
            v_uv, i_uv = hw.read()
            v_mv, i_ma = convert(cal, v_uv, i_uv)
            closed = meter.sample(now_ms, v_mv, i_ma)
        except SensorFault as e:
            closed = meter.sample(now_ms, 0, 0, fault=str(e) or "sensor")
        except Exception as e:  # whatever it is, the relay must not stay closed
            closed = meter.sample(now_ms, 0, 0, fault="error: " + type(e).__name__)
    except Exception:  # the meter itself failed
        closed = False
    hw.set_relay(closed, meter.exporting)
    return closed


async def sample_forever(meter, hw, cal, clock, sample_ms):
    """The board's sampling loop: a step every sample_ms of the clock; it never ends on an
    error (a loop that ended would leave the relay as it was, with no fail-safe)."""
    next_ms = clock.now_ms()
    while True:
        try:
            step(meter, hw, cal, clock.now_ms())
        except Exception:  # set_relay itself failed: try again next sample
            pass
        next_ms += sample_ms
        wait = next_ms - clock.now_ms()
        if wait < 0:  # fell behind: do not try to catch up with a burst of samples
            next_ms = clock.now_ms()
            wait = 0
        await clock.sleep_ms(wait)


class TicksClock:
    """Monotonic ms clock on MicroPython's wrapping ticks_ms (CPython: time.monotonic)."""

    def __init__(self):
        self._ticks = getattr(time, "ticks_ms", None)
        self._last = self._ticks() if self._ticks else None
        self._ms = 0

    def now_ms(self):
        if self._ticks is None:
            return int(time.monotonic() * 1000)
        t = self._ticks()
        self._ms += time.ticks_diff(t, self._last)
        self._last = t
        return self._ms

    async def sleep_ms(self, ms):
        await asyncio.sleep(ms / 1000)
