"""Every error line of `gridshare meter flash` starts `gridshare meter flash:`, as `serve`,
`prune-chain` and `meter-sim` name themselves."""

from __future__ import annotations

import subprocess
from pathlib import Path

import pytest

from gridshare.cli import main
from gridshare.commands import meter as meter_command

FLASH = ["meter", "flash", "--port", "/dev/ttyUSB0", "--meter-id", "3", "--wifi-ssid", "v",
         "--wifi-password", "p"]
PREFIX = "gridshare meter flash: "


def test_a_refused_option_starts_with_the_command(capsys: pytest.CaptureFixture[str]) -> None:
    assert main([*FLASH, "--meter-id", "0", "--dry-run"]) == 2
    assert capsys.readouterr().err.startswith(f"{PREFIX}--meter-id: must be 1 to")


def test_a_failed_mpremote_starts_with_the_command(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    def board_absent(command: list[str], **_kwargs: object) -> subprocess.CompletedProcess[str]:
        return subprocess.CompletedProcess(command, 1)

    monkeypatch.setattr(meter_command.subprocess, "run", board_absent)
    assert main([*FLASH, "--stage-dir", str(tmp_path / "stage")]) == 1
    assert capsys.readouterr().err.startswith(f"{PREFIX}mpremote failed; is the board on")


def test_a_key_it_cannot_record_starts_with_the_command(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    def flashed(command: list[str], **_kwargs: object) -> subprocess.CompletedProcess[str]:
        return subprocess.CompletedProcess(command, 0)

    def full_disk(path: Path, entries: object) -> None:
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(meter_command.subprocess, "run", flashed)
    monkeypatch.setattr(meter_command, "save_directory", full_disk)
    code = main([*FLASH, "--url", "http://10.0.0.23", "--directory", str(tmp_path / "m.json"),
                 "--stage-dir", str(tmp_path / "stage")])
    assert code == 1
    assert capsys.readouterr().err.startswith(f"{PREFIX}could not record meter 3 in")


def test_meter_sim_names_itself_as_gridshare_meter_sim(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["meter-sim", "--houses", "0"]) == 2
    assert capsys.readouterr().err.startswith("gridshare meter-sim: --houses: ")
