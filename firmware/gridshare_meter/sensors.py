"""Conversion of ADC pin voltages to bus voltage and current, with plausibility checks."""


class SensorFault(Exception):
    """A reading that cannot be trusted (saturated ADC, implausible voltage or current)."""


class Calibration:
    """Voltage divider and Hall current sensor calibration, from the config file."""

    def __init__(self, d):
        self.v_ratio = float(d.get("v_ratio", 21.0))  # (R1 + R2) / R2 of the divider
        self.v_offset_mv = float(d.get("v_offset_mv", 0.0))
        self.i_zero_mv = float(d.get("i_zero_mv", 1650.0))  # sensor output at 0 A, at the pin
        # 66 mV/A (ACS712-30A) seen through a 2/3 divider
        self.i_mv_per_a = float(d.get("i_mv_per_a", 44.0))
        self.i_sign = -1 if d.get("i_sign", 1) < 0 else 1
        self.adc_min_mv = float(d.get("adc_min_mv", 20.0))
        self.adc_max_mv = float(d.get("adc_max_mv", 3100.0))
        self.v_min_mv = int(d.get("v_min_mv", 10000))
        self.v_max_mv = int(d.get("v_max_mv", 70000))
        self.i_max_ma = int(d.get("i_max_ma", 30000))
        self.i_deadband_ma = int(d.get("i_deadband_ma", 40))  # below this, the current is zero
        if self.v_ratio <= 0 or self.i_mv_per_a <= 0:
            raise ValueError("calibration: v_ratio and i_mv_per_a must be positive")


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
