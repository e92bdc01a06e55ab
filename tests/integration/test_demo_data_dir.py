"""`gridshare demo --data` that cannot be created is refused in one line naming --data (exit 2),
as serve does, instead of a raw errno line after the other checks."""

from __future__ import annotations

import pytest

from gridshare.cli import main


def test_demo_refuses_a_data_dir_it_cannot_create(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["demo", "--data", "/proc/gridshare-demo", "--port", "8791"]) == 2
    err = capsys.readouterr().err
    assert err == ("gridshare demo: --data /proc/gridshare-demo: cannot be created "
                   "(No such file or directory)\n")
