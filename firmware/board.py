"""ESP32 / ESP32-S3 hardware layer: ADC voltage divider, Hall current sensor, relay, Wi-Fi."""

import time

import machine
import network


class Esp32Hardware:
    """Sensors and relay on real pins (see docs/meters.md for the wiring)."""

    def __init__(self, config):
        self._v = machine.ADC(machine.Pin(config.v_pin), atten=machine.ADC.ATTN_11DB)
        self._i = machine.ADC(machine.Pin(config.i_pin), atten=machine.ADC.ATTN_11DB)
        self._n = max(1, config.oversample)
        self._on = 1 if config.relay_active_high else 0
        self._relay = machine.Pin(config.relay_pin, machine.Pin.OUT, value=1 - self._on)
        self._dir = None
        if config.dir_pin is not None:
            self._dir = machine.Pin(config.dir_pin, machine.Pin.OUT, value=0)

    def read(self):
        """Averaged, factory-calibrated pin voltages in microvolts: (voltage, current)."""
        v = 0
        i = 0
        for _ in range(self._n):
            v += self._v.read_uv()
            i += self._i.read_uv()
        return v // self._n, i // self._n

    def set_relay(self, closed, exporting):
        """Drive the relay (and the converter direction pin, if wired)."""
        if self._dir is not None:
            self._dir.value(1 if exporting else 0)
        self._relay.value(self._on if closed else 1 - self._on)


def join_wifi(ssid, password, retry_s=5, log=print):
    """Join the village Wi-Fi, retrying every retry_s seconds until connected (Algorithm 1)."""
    wlan = network.WLAN(network.STA_IF)
    wlan.active(True)
    while not wlan.isconnected():
        log("Connecting to Wi-Fi " + ssid + " ...")
        wlan.connect(ssid, password)
        waited = 0
        while not wlan.isconnected() and waited < retry_s * 1000:
            time.sleep_ms(100)
            waited += 100
        if not wlan.isconnected():
            log(f"Connection failed.... retry in {retry_s} s")
            wlan.disconnect()
            time.sleep(retry_s)
    log("Connected: " + wlan.ifconfig()[0])
    return wlan


async def keep_wifi(wlan, ssid, password, retry_s=5, log=print):
    """Rejoin whenever the link drops, trying every retry_s seconds."""
    import asyncio

    while True:
        if not wlan.isconnected():
            log("Wi-Fi lost, reconnecting")
            try:  # noqa: SIM105 - MicroPython has no contextlib.suppress
                wlan.connect(ssid, password)
            except OSError:
                pass
        await asyncio.sleep(retry_s)
