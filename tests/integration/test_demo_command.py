"""`gridshare demo --walk` runs on a fresh machine's embedded chain and its books balance."""

from __future__ import annotations

import subprocess
import sys


def test_demo_walk_walks_one_trade_and_every_coin_is_accounted_for() -> None:
    result = subprocess.run(
        [sys.executable, "-m", "gridshare.cli", "demo", "--walk"],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.returncode == 0, result.stderr
    out = result.stdout
    assert "4.000 PKR held in escrow" in out
    assert "3.680 PKR to house-01, 0.320 PKR back to house-02" in out
    assert "house-01  available     13.680 PKR" in out
    assert "every coin accounted for" in out
