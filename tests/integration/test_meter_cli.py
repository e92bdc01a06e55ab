"""`gridshare meter-sim` and `gridshare meter flash` from the command line: a bad option is one
line naming the option and its rule (exit 2, no traceback, nothing created); meter-sim keeps the
keys of meters it does not run this time; meter-sim's help shows every option's default.

Ports used here: 18450-18499 only (no meter is served for more than an instant)."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
from pathlib import Path

import pytest

from gridshare.cli import main
from gridshare.meters import load_directory
from gridshare.sim.meter_sim import MeterSim, SimSettings

BASE_PORT = 18450


def _cli(*args: str, cwd: Path, timeout: float = 60) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "gridshare.cli", *args], cwd=cwd,
                          capture_output=True, text=True, timeout=timeout,
                          env={**os.environ, "PYTHONUNBUFFERED": "1"})


def _one_line(err: str, option: str) -> str:
    line = err.strip()
    assert "Traceback" not in err, err
    assert "\n" not in line, err
    assert option in line, err
    return line


# ---- meter-sim: every bad option is refused in one line before anything is created ----------

SIM_REFUSALS = [
    ("--houses", "0", "at least 1"),
    ("--houses", "-2", "at least 1"),
    ("--base-port", "-5", "must be 1 to 65533"),
    ("--base-port", "70000", "must be 1 to 65533"),
    ("--base-port", "65534", "must be 1 to 65533"),  # meters 2 and 3 would have no port
    ("--speed", "0", "greater than 0"),
    ("--speed", "-1", "greater than 0"),
    ("--speed", "nan", "finite"),  # /sim/clock would answer NaN: not JSON
    ("--speed", "inf", "finite"),
    ("--sample-ms", "0", "greater than 0"),  # the clock would never move
    ("--sample-ms", "-100", "greater than 0"),  # time would run backwards
    ("--silence-s", "-1", "greater than 0"),
    ("--silence-s", "0", "greater than 0"),
    ("--silence-s", "nan", "finite"),
    ("--host", "", "must name an address"),
]


@pytest.fixture
def never_serve(monkeypatch: pytest.MonkeyPatch) -> None:
    """In-process meter-sim must refuse before serving: serving would block the test for ever."""

    async def serve(*_args: object, **_kwargs: object) -> None:
        raise AssertionError("meter-sim accepted the options and started serving")

    monkeypatch.setattr(MeterSim, "serve", serve)


@pytest.mark.parametrize(("option", "value", "rule"), SIM_REFUSALS)
@pytest.mark.usefixtures("never_serve")
def test_meter_sim_refuses_a_bad_option_in_one_line_and_creates_nothing(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], option: str, value: str, rule: str,
) -> None:
    data = tmp_path / "ms"
    code = main(["meter-sim", "--houses", "3", "--base-port", str(BASE_PORT),
                 "--data-dir", str(data), option, value])
    assert code == 2
    line = _one_line(capsys.readouterr().err, option)
    assert rule in line, line
    assert not data.exists()


@pytest.mark.usefixtures("never_serve")
def test_meter_sim_refuses_a_data_dir_that_is_a_file(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    afile = tmp_path / "afile"
    afile.write_text("mine")
    for data in (afile, afile / "sub"):
        code = main(["meter-sim", "--houses", "2", "--base-port", str(BASE_PORT),
                     "--data-dir", str(data)])
        assert code == 2
        _one_line(capsys.readouterr().err, "--data-dir")
    assert afile.read_text() == "mine"


@pytest.mark.usefixtures("never_serve")
def test_meter_sim_refuses_an_unreadable_meters_json_without_overwriting_it(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    data = tmp_path / "ms"
    data.mkdir()
    (data / "meters.json").write_text("{not json")
    code = main(["meter-sim", "--houses", "2", "--base-port", str(BASE_PORT),
                 "--data-dir", str(data)])
    assert code == 2
    assert "meters.json" in _one_line(capsys.readouterr().err, "--data-dir")
    assert (data / "meters.json").read_text() == "{not json"


def test_meter_sim_cli_refuses_bad_options_without_a_traceback(tmp_path: Path) -> None:
    """The installed entry point, not just the function: exit 2 and one line on stderr."""
    for option, value in (("--houses", "0"), ("--speed", "nan"),
                          ("--host", "no.such.invalid")):
        result = _cli("meter-sim", "--houses", "2", "--base-port", str(BASE_PORT),
                      "--data-dir", "ms", option, value, cwd=tmp_path)
        assert result.returncode == 2, result.stderr
        _one_line(result.stderr, option)
        assert result.stdout == ""
    assert not (tmp_path / "ms").exists()


def test_meter_sim_reports_a_port_in_use_in_one_line(tmp_path: Path) -> None:
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", BASE_PORT + 11))
        taken.listen()
        result = _cli("meter-sim", "--houses", "2", "--base-port", str(BASE_PORT + 10),
                      "--data-dir", "ms", cwd=tmp_path, timeout=90)
    assert result.returncode == 1, result.stderr
    line = _one_line(result.stderr, f"{BASE_PORT + 10}-{BASE_PORT + 11}")
    assert "in use" in line, line


def test_sim_settings_name_the_field_they_refuse() -> None:
    from gridshare.sim.meter_sim import SimSettingsError

    with pytest.raises(SimSettingsError) as refused:
        SimSettings(speed=float("inf"))
    assert refused.value.field == "speed"
    assert isinstance(refused.value, ValueError)  # callers catching ValueError still do


# ---- meter-sim keeps the keys of meters it does not run this time ---------------------------

def test_meter_sim_with_fewer_houses_keeps_the_other_meters_keys(tmp_path: Path) -> None:
    data = tmp_path / "ms3"

    def keys(houses: int) -> dict[int, str]:
        sim = MeterSim(SimSettings(houses=houses, base_port=BASE_PORT, data_dir=data))
        assert len(sim.entries) == houses
        return {e.meter_id: e.key.hex for e in load_directory(data / "meters.json")}

    first = keys(3)
    assert keys(2) == first  # meter 3 is still recorded although only 2 ran
    assert keys(3) == first  # and gets its old key back: a server that registered it agrees


# ---- meter flash: --stage-dir, --port and --wifi-ssid are checked up front -------------------

FLASH = ["meter", "flash", "--port", "/dev/ttyUSB0", "--meter-id", "3", "--wifi-ssid",
         "village", "--wifi-password", "pw", "--dry-run"]


def test_flash_refuses_a_stage_dir_that_is_a_file(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    afile = tmp_path / "afile"
    afile.write_text("mine")
    for stage in (afile, afile / "sub"):
        assert main([*FLASH, "--stage-dir", str(stage)]) == 2
        captured = capsys.readouterr()
        _one_line(captured.err, "--stage-dir")
        assert "mpremote" not in captured.out
    assert afile.read_text() == "mine"


def test_flash_refuses_a_stage_dir_it_cannot_create(capsys: pytest.CaptureFixture[str]) -> None:
    assert main([*FLASH, "--stage-dir", "/proc/nope"]) == 2
    _one_line(capsys.readouterr().err, "--stage-dir")


@pytest.mark.parametrize(("option", "value"), [("--port", ""), ("--port", "  "),
                                               ("--wifi-ssid", ""), ("--wifi-ssid", "x" * 33)])
def test_flash_refuses_an_empty_port_or_an_impossible_ssid(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], option: str, value: str
) -> None:
    stage = tmp_path / "stage"
    assert main([*FLASH, "--stage-dir", str(stage), option, value]) == 2
    captured = capsys.readouterr()
    _one_line(captured.err, option)
    assert "mpremote" not in captured.out
    assert not stage.exists()


def test_flash_cli_refuses_a_file_as_stage_dir_without_a_traceback(tmp_path: Path) -> None:
    (tmp_path / "afile").write_text("mine")
    result = _cli(*FLASH, "--stage-dir", "afile", cwd=tmp_path)
    assert result.returncode == 2, result.stderr
    _one_line(result.stderr, "--stage-dir")


# ---- meter-sim --help ------------------------------------------------------------------------

def test_meter_sim_help_describes_the_command_and_every_default(
    capsys: pytest.CaptureFixture[str],
) -> None:
    with pytest.raises(SystemExit) as done:
        main(["meter-sim", "--help"])
    assert done.value.code == 0
    text = " ".join(capsys.readouterr().out.split())  # undo argparse's line wrapping
    assert "simulated meter" in text.split("options:")[0]  # a description above the options
    for default in ("(default 10)", "(default 8100)", "(default 1.0)", "(default 127.0.0.1)",
                    "(default .gridshare/meter-sim)", "(default 100)", "(default 60)",
                    "(default 1)"):
        assert default in text, default


def test_meter_flash_help_describes_the_command_and_every_option(
    capsys: pytest.CaptureFixture[str],
) -> None:
    """`meter flash --help` had no description and listed --meter-id, --wifi-ssid and
    --wifi-password with no word on what they take."""
    with pytest.raises(SystemExit) as done:
        main(["meter", "flash", "--help"])
    assert done.value.code == 0
    text = capsys.readouterr().out
    above, options = text.split("options:")
    assert "mpremote" in above  # a description above the options
    lines = options.splitlines()
    for at, line in enumerate(lines):
        if line.lstrip().startswith("--"):
            words = line.split()  # "--meter-id METER_ID  the meter's id ..." or help below
            helped = len(words) > 2 or (at + 1 < len(lines) and lines[at + 1].startswith(" " * 20))
            assert helped, line
    assert "GRIDSHARE_METER_SILENCE_S" in " ".join(options.split())
