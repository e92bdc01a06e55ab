"""The portable meter logic tests pass under real MicroPython (WebAssembly port in node)."""

from __future__ import annotations

import inspect
import re
import shutil
import subprocess
from pathlib import Path

import pytest

from tests.firmware import test_meter_logic

ROOT = Path(__file__).resolve().parents[2]
RUNNER = Path(__file__).with_name("run_micropython.mjs")
MP_PACKAGE = ROOT / "node_modules/@micropython/micropython-webassembly-pyscript/micropython.mjs"


def _test_names() -> list[str]:
    return sorted(
        name
        for name, fn in inspect.getmembers(test_meter_logic, inspect.isfunction)
        if name.startswith("test_")
    )


def test_portable_logic_tests_pass_under_micropython() -> None:
    node = shutil.which("node")
    if node is None or not MP_PACKAGE.exists():
        pytest.fail("node and npm @micropython/micropython-webassembly-pyscript are required")
    proc = subprocess.run(
        [node, str(RUNNER), str(ROOT), test_meter_logic.__file__],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    out = proc.stdout + proc.stderr
    assert proc.returncode == 0, out
    failures = [line for line in out.splitlines() if line.startswith("FAIL")]
    assert not failures, out
    result = re.search(r"RESULT passed=(\d+) failed=(\d+)", out)
    assert result is not None, out
    passed = sorted(line.split()[1] for line in out.splitlines() if line.startswith("PASS"))
    assert passed == _test_names(), "MicroPython ran a different set of tests"
    assert int(result.group(2)) == 0
