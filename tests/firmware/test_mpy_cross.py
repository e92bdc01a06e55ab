"""Every firmware file compiles with mpy-cross (the MicroPython cross-compiler)."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

FIRMWARE = Path(__file__).resolve().parents[2] / "firmware"
FILES = sorted(p for p in FIRMWARE.rglob("*.py") if "__pycache__" not in p.parts)


def test_firmware_has_the_expected_files() -> None:
    names = {p.relative_to(FIRMWARE).as_posix() for p in FILES}
    assert {"main.py", "boot.py", "board.py", "gridshare_meter/meter.py"} <= names


@pytest.mark.parametrize("path", FILES, ids=lambda p: p.relative_to(FIRMWARE).as_posix())
def test_firmware_file_compiles_with_mpy_cross(path: Path, tmp_path: Path) -> None:
    out = tmp_path / "out.mpy"
    proc = subprocess.run(
        [sys.executable, "-m", "mpy_cross", "-o", str(out), str(path)],
        capture_output=True,
        text=True,
        check=False,
    )
    assert proc.returncode == 0, proc.stderr
    assert out.stat().st_size > 0
