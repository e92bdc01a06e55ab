"""Meter configuration: a JSON file on the board (see firmware/config.example.json).

Every value is checked against its rule and a refusal names it. A key this firmware does not
know is refused too: a typo ("silence_s") would leave the default in force without a word,
and `"relay_active_high": "false"`, read as a truthy string, closed the relay whenever it
should have opened it.
"""

import json

from gridshare_meter.hmac256 import unhexlify
from gridshare_meter.sensors import Calibration, known_keys, whole

GPIO_MAX = 48  # ESP32-S3's highest GPIO (the ESP32's is 39)
SSID_MAX_BYTES = 32  # 802.11
KEYS = ("meter_id", "name", "key", "wifi_ssid", "wifi_password", "port", "sample_ms",
        "silence_ms", "max_queue", "oversample", "state_file", "pins", "calibration")
PIN_KEYS = ("voltage", "current", "relay", "relay_active_high", "direction")


def _text(d, name, default, low, high):
    value = d.get(name, default)
    if not isinstance(value, str) or not low <= len(value.encode()) <= high:
        raise ValueError(name + ": must be text of " + str(low) + " to " + str(high)
                         + " bytes")
    return value


def _object(d, name):
    value = d.get(name, {})
    if not isinstance(value, dict):
        raise ValueError(name + ": must be an object ({...})")
    return value


def _gpio(pins, name, default):
    value = pins.get(name, default)
    if value is None and name == "direction":
        return None
    return whole(pins, name, default, 0, GPIO_MAX, "pins.")


class Config:
    """Validated meter settings."""

    def __init__(self, d):
        if not isinstance(d, dict):
            raise ValueError("config: must be an object")
        known_keys(d, KEYS)
        self.meter_id = whole(d, "meter_id", None, 0, 2**31 - 1)
        try:
            key = unhexlify(d.get("key", ""))
        except (ValueError, TypeError):
            key = b""
        if len(key) != 32:
            raise ValueError("key: must be 64 hex digits (a 256-bit key)")
        self.key = key
        self.name = _text(d, "name", "meter " + str(self.meter_id), 0, 64)
        self.wifi_ssid = _text(d, "wifi_ssid", None, 1, SSID_MAX_BYTES)
        self.wifi_password = _text(d, "wifi_password", "", 0, 64)
        self.port = whole(d, "port", 80, 1, 65535)
        self.sample_ms = whole(d, "sample_ms", 100, 1, 10000)
        self.silence_ms = whole(d, "silence_ms", 60000, self.sample_ms, 3600000)
        self.max_queue = whole(d, "max_queue", 8, 1, 64)
        self.oversample = whole(d, "oversample", 16, 1, 256)
        state_file = _text(d, "state_file", "/meter_state.json", 1, 63)
        self.state_file = state_file if state_file.startswith("/") else "/" + state_file
        pins = _object(d, "pins")
        known_keys(pins, PIN_KEYS, "pins.")
        self.v_pin = _gpio(pins, "voltage", 34)
        self.i_pin = _gpio(pins, "current", 35)
        self.relay_pin = _gpio(pins, "relay", 26)
        self.dir_pin = _gpio(pins, "direction", None)
        used = [p for p in (self.v_pin, self.i_pin, self.relay_pin, self.dir_pin) if p is not None]
        if len(set(used)) != len(used):
            raise ValueError("pins: voltage, current, relay and direction must be different"
                             " GPIOs, got " + ", ".join(str(p) for p in used))
        active_high = pins.get("relay_active_high", True)
        if active_high not in (True, False) or not isinstance(active_high, (bool, int)):
            raise ValueError("pins.relay_active_high: must be true or false (without quotes)")
        self.relay_active_high = bool(active_high)  # 1 and 0 as older files may have them
        self.calibration = Calibration(_object(d, "calibration"))


def load(path):
    """Read and validate a config file."""
    with open(path) as f:
        return Config(json.load(f))
