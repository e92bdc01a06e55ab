"""Meter configuration: a JSON file on the board (see firmware/config.example.json)."""

import json

from gridshare_meter.hmac256 import unhexlify
from gridshare_meter.sensors import Calibration


class Config:
    """Validated meter settings."""

    def __init__(self, d):
        if not isinstance(d, dict):
            raise ValueError("config: must be an object")
        meter_id = d.get("meter_id")
        if not isinstance(meter_id, int) or isinstance(meter_id, bool) or meter_id < 0:
            raise ValueError("meter_id: must be a non-negative integer")
        self.meter_id = meter_id
        try:
            key = unhexlify(d.get("key", ""))
        except ValueError:
            key = b""
        if len(key) != 32:
            raise ValueError("key: must be 64 hex digits (a 256-bit key)")
        self.key = key
        self.name = str(d.get("name", f"meter {meter_id}"))
        self.wifi_ssid = d.get("wifi_ssid", "")
        self.wifi_password = d.get("wifi_password", "")
        self.port = int(d.get("port", 80))
        self.sample_ms = int(d.get("sample_ms", 100))
        self.silence_ms = int(d.get("silence_ms", 60000))
        self.max_queue = int(d.get("max_queue", 8))
        self.oversample = int(d.get("oversample", 16))
        self.state_file = d.get("state_file", "/meter_state.json")
        pins = d.get("pins", {})
        self.v_pin = int(pins.get("voltage", 34))
        self.i_pin = int(pins.get("current", 35))
        self.relay_pin = int(pins.get("relay", 26))
        self.relay_active_high = bool(pins.get("relay_active_high", True))
        direction = pins.get("direction")
        self.dir_pin = None if direction is None else int(direction)
        self.calibration = Calibration(d.get("calibration", {}))
        if self.sample_ms < 1 or self.silence_ms < self.sample_ms:
            raise ValueError("sample_ms/silence_ms: need 1 <= sample_ms <= silence_ms")


def load(path):
    """Read and validate a config file."""
    with open(path) as f:
        return Config(json.load(f))
