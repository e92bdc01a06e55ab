"""Simulated meter hardware: ADC readings from the house physics, a relay the physics obeys."""

from __future__ import annotations

import random
from collections.abc import Callable

from gridshare.sim.community import Reading, Relay
from gridshare.sim.firmware import pin_uv

ADC_LSB_UV = 3_300_000 / 4095  # ESP32 12-bit ADC at 11 dB attenuation


class SimHardware:
    """What `read()` on a board returns, made from a physical reading plus ADC noise.

    Emulates `oversample` raw reads of `noise_lsb` RMS noise averaged together, as the board
    does. `fault` set to "voltage" or "current" saturates that ADC channel.
    """

    def __init__(
        self,
        calibration: object,
        reading: Callable[[], Reading],
        *,
        rng: random.Random | None = None,
        noise_lsb: float = 2.0,
        oversample: int = 16,
    ) -> None:
        self._cal = calibration
        self._reading = reading
        self._rng = rng or random.Random(0)
        self._sigma = noise_lsb * ADC_LSB_UV / oversample**0.5
        self._quantum = ADC_LSB_UV / oversample
        self.fault: str | None = None
        self.relay = Relay(False, False)

    def _adc(self, ideal_uv: float) -> int:
        noisy = ideal_uv + self._rng.gauss(0.0, self._sigma)
        value = round(noisy / self._quantum) * self._quantum
        return int(min(max(value, 0.0), 3_300_000.0))

    def read(self) -> tuple[int | None, int | None]:
        r = self._reading()
        v_uv, i_uv = pin_uv(self._cal, r.voltage_v * 1000, r.current_a * 1000)
        v, i = self._adc(v_uv), self._adc(i_uv)
        if self.fault == "voltage":
            v = 3_300_000
        elif self.fault == "current":
            i = 0
        return v, i

    def set_relay(self, closed: bool, exporting: bool) -> None:
        self.relay = Relay(closed, exporting and closed)
