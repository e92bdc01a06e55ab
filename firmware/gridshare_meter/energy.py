"""Exact integer energy integration from sampled voltage and current.

Units: volts in mV, amps in mA, time in ms, so mV*mA*ms is a nanojoule (1 Wh = 3.6e12 nJ).
Each sample's power is held over the interval that ends at the sample (the sensors see the
current that has been flowing since the previous one). Import (current into the house) and
export are integrated separately.
"""

NJ_PER_WH = 3600 * 10**9
NJ_PER_MWH = 3600 * 10**6


def nj_to_mwh(nj):
    """Whole milliwatt-hours in nj nanojoules (floor)."""
    return nj // NJ_PER_MWH


class Integrator:
    """Running import and export energy of one meter."""

    def __init__(self, max_gap_ms=2000):
        self.max_gap_ms = max_gap_ms
        self.last_ms = None
        self.import_nj = 0
        self.export_nj = 0

    def add(self, t_ms, v_mv, i_ma):
        """Add one sample; returns (import_nj, export_nj) added by it."""
        last = self.last_ms
        self.last_ms = t_ms
        if last is None:
            return 0, 0
        dt = t_ms - last
        if dt <= 0:
            return 0, 0
        if dt > self.max_gap_ms:  # a stalled loop: hold this power no longer than the limit
            dt = self.max_gap_ms
        e = v_mv * i_ma * dt
        if e >= 0:
            self.import_nj += e
            return e, 0
        self.export_nj -= e
        return 0, -e

    def restart(self):
        """Forget the previous sample (after a sensor fault) so no gap is integrated."""
        self.last_ms = None
