"""Conversion of ADC pin voltages to bus voltage and current, with plausibility checks."""


class SensorFault(Exception):
    """A reading that cannot be trusted (saturated ADC, implausible voltage or current)."""


def known_keys(d, keys, where=""):
    """Refuse a key of `d` that is not one of `keys` (a misspelt one would leave its default
    in force without a word)."""
    for name in d:
        if name not in keys:
            raise ValueError(where + str(name) + ": not a setting (known: " + ", ".join(keys)
                             + ")")


def whole(d, name, default, low, high, where=""):
    """d[name] (or `default`): a whole number from low to high (100.0 counts as 100), else
    ValueError naming it."""
    value = d.get(name, default)
    if isinstance(value, float):
        try:
            value = int(value) if value == int(value) else value
        except (OverflowError, ValueError):  # inf, nan
            pass
    if not isinstance(value, int) or isinstance(value, bool) or not low <= value <= high:
        raise ValueError(where + name + ": must be a whole number from " + str(low) + " to "
                         + str(high) + ", not " + repr(value))
    return value


def number(d, name, default, low, high, where="calibration."):
    """d[name] (or `default`): a finite number from low to high, else ValueError naming it."""
    value = d.get(name, default)
    if not isinstance(value, (int, float)) or isinstance(value, bool) or not (
        low <= value <= high  # false for NaN too
    ):
        raise ValueError(where + name + ": must be a number from " + str(low) + " to "
                         + str(high) + ", not " + repr(value))
    return float(value)


CALIBRATION_KEYS = ("v_ratio", "v_offset_mv", "i_zero_mv", "i_mv_per_a", "i_sign", "adc_min_mv",
                    "adc_max_mv", "v_min_mv", "v_max_mv", "i_max_ma", "i_deadband_ma")


class Calibration:
    """Voltage divider and Hall current sensor calibration, from the config file.

    Every value is checked by name; an unknown key is refused (a misspelt one would leave
    its default in force), and so are limits the wrong way round, with which every sample
    would be a sensor fault.
    """

    def __init__(self, d):
        known_keys(d, CALIBRATION_KEYS, "calibration.")
        self.v_ratio = number(d, "v_ratio", 21.0, 0.001, 1000.0)  # (R1 + R2) / R2 of the divider
        self.v_offset_mv = number(d, "v_offset_mv", 0.0, -100000.0, 100000.0)
        self.i_zero_mv = number(d, "i_zero_mv", 1650.0, 0.0, 5000.0)  # sensor at 0 A, at the pin
        # 66 mV/A (ACS712-30A) seen through a 2/3 divider
        self.i_mv_per_a = number(d, "i_mv_per_a", 44.0, 0.001, 10000.0)
        sign = d.get("i_sign", 1)
        if sign not in (1, -1) or isinstance(sign, bool):
            raise ValueError("calibration.i_sign: must be 1 or -1, not " + repr(sign))
        self.i_sign = int(sign)
        self.adc_min_mv = number(d, "adc_min_mv", 20.0, 0.0, 5000.0)
        self.adc_max_mv = number(d, "adc_max_mv", 3100.0, self.adc_min_mv + 1, 5000.0)
        self.v_min_mv = whole(d, "v_min_mv", 10000, 0, 10**6, "calibration.")
        self.v_max_mv = whole(d, "v_max_mv", 70000, self.v_min_mv + 1, 10**6, "calibration.")
        self.i_max_ma = whole(d, "i_max_ma", 30000, 1, 10**6, "calibration.")
        # below this, the current is zero
        self.i_deadband_ma = whole(d, "i_deadband_ma", 40, 0, self.i_max_ma, "calibration.")


def convert(cal, v_pin_uv, i_pin_uv):
    """(bus mV, mA into the house) from two pin readings in microvolts; may raise SensorFault."""
    if v_pin_uv is None or i_pin_uv is None:
        raise SensorFault("no reading")
    v_pin = v_pin_uv / 1000.0
    i_pin = i_pin_uv / 1000.0
    if not (cal.adc_min_mv <= v_pin <= cal.adc_max_mv):
        raise SensorFault("voltage ADC out of range")
    if not (cal.adc_min_mv <= i_pin <= cal.adc_max_mv):
        raise SensorFault("current ADC out of range")
    v_mv = int(v_pin * cal.v_ratio + cal.v_offset_mv)
    i_ma = cal.i_sign * int((i_pin - cal.i_zero_mv) * 1000.0 / cal.i_mv_per_a)
    if not (cal.v_min_mv <= v_mv <= cal.v_max_mv):
        raise SensorFault("bus voltage implausible")
    if i_ma > cal.i_max_ma or -i_ma > cal.i_max_ma:
        raise SensorFault("current implausible")
    if -cal.i_deadband_ma < i_ma < cal.i_deadband_ma:
        i_ma = 0
    return v_mv, i_ma


def pin_uv(cal, v_mv, i_ma):
    """Ideal pin readings (microvolts) for a bus voltage and current: the inverse of convert."""
    v_pin = (v_mv - cal.v_offset_mv) / cal.v_ratio
    i_pin = cal.i_zero_mv + cal.i_sign * i_ma * cal.i_mv_per_a / 1000.0
    return v_pin * 1000.0, i_pin * 1000.0
