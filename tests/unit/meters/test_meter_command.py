"""`gridshare meter flash`: stages firmware, Microdot and a valid config; checks every option
before the board is touched; never loses the key of a board it flashed."""

from __future__ import annotations

import json
import subprocess
import tempfile
from pathlib import Path

import pytest
from gridshare_meter.config import Config

from gridshare.cli import build_parser, main
from gridshare.commands import meter as meter_command
from gridshare.meters import MeterEntry, MeterKey, load_directory, save_directory


def test_flash_dry_run_stages_a_complete_board_filesystem(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    stage = tmp_path / "stage"
    code = main([
        "meter", "flash", "--port", "/dev/ttyUSB0", "--meter-id", "3", "--wifi-ssid", "village",
        "--wifi-password", "pw", "--url", "http://10.0.0.23", "--stage-dir", str(stage),
        "--dry-run",
    ])
    assert code == 0
    for name in ("boot.py", "main.py", "board.py", "config.json", "lib/microdot/microdot.py",
                 "lib/microdot/__init__.py", "lib/gridshare_meter/meter.py"):
        assert (stage / name).is_file(), name
    config = Config(json.loads((stage / "config.json").read_text()))
    assert config.meter_id == 3 and config.wifi_ssid == "village"
    out = capsys.readouterr().out
    assert "mpremote connect /dev/ttyUSB0 cp -r lib" in out


def test_flash_needs_a_url_to_record_the_meter(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    code = main([
        "meter", "flash", "--port", "/dev/ttyUSB0", "--meter-id", "3", "--wifi-ssid", "v",
        "--wifi-password", "p", "--directory", str(tmp_path / "m.json"), "--dry-run",
        "--stage-dir", str(tmp_path / "s"),
    ])
    assert code == 2
    assert "--directory needs --url" in capsys.readouterr().err


# ---- validation before anything is flashed; the key is never lost ----------------------------

KEY = "ab" * 32
BASE = ["meter", "flash", "--port", "/dev/ttyUSB0", "--meter-id", "3", "--wifi-ssid", "village",
        "--wifi-password", "pw"]


@pytest.fixture
def mpremote_runs(monkeypatch: pytest.MonkeyPatch) -> list[list[str]]:
    """Stands in for the board: records each mpremote command line, answers success."""
    runs: list[list[str]] = []

    def run(cmd: list[str], **_kwargs: object) -> subprocess.CompletedProcess[bytes]:
        runs.append(list(cmd))
        return subprocess.CompletedProcess(cmd, 0)

    monkeypatch.setattr(meter_command.subprocess, "run", run)
    return runs


def _one_line_error(capsys: pytest.CaptureFixture[str], option: str) -> str:
    captured = capsys.readouterr()
    err = captured.err.strip()
    assert err.startswith(f"gridshare meter flash: {option}"), err
    assert "\n" not in err and "Traceback" not in err, err
    return err


@pytest.mark.parametrize("dry_run", [True, False])
def test_flash_refuses_a_directory_in_a_missing_folder_before_flashing(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], mpremote_runs: list[list[str]],
    dry_run: bool,
) -> None:
    directory = tmp_path / "nonexistent" / "meters.json"
    code = main([*BASE, "--url", "http://192.168.1.23", "--directory", str(directory),
                 "--stage-dir", str(tmp_path / "stage"), *(["--dry-run"] if dry_run else [])])
    assert code == 2
    assert "does not exist" in _one_line_error(capsys, "--directory")
    assert mpremote_runs == [] and not directory.parent.exists()


def test_flash_refuses_an_unreadable_directory_file_before_flashing(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], mpremote_runs: list[list[str]],
) -> None:
    directory = tmp_path / "meters.json"
    directory.write_text("{not json")
    code = main([*BASE, "--url", "http://192.168.1.23", "--directory", str(directory),
                 "--stage-dir", str(tmp_path / "stage")])
    assert code == 2
    _one_line_error(capsys, "--directory")
    assert mpremote_runs == [] and directory.read_text() == "{not json"


def test_flash_dry_run_records_nothing(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], mpremote_runs: list[list[str]],
) -> None:
    directory = tmp_path / "meters.json"
    code = main([*BASE, "--url", "http://192.168.1.23", "--directory", str(directory),
                 "--stage-dir", str(tmp_path / "stage"), "--dry-run"])
    assert code == 0
    assert not directory.exists() and mpremote_runs == []
    out = capsys.readouterr().out
    assert "dry run" in out and "nothing recorded" in out and "recorded meter" not in out


def test_flash_with_a_directory_prints_the_key_and_records_it(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], mpremote_runs: list[list[str]],
) -> None:
    directory = tmp_path / "meters.json"
    other = MeterEntry(7, 7, "http://192.168.1.27", MeterKey.generate(7))
    old_three = MeterEntry(3, 3, "http://192.168.1.99", MeterKey.generate(3))
    save_directory(directory, [old_three, other])
    code = main([*BASE, "--url", "http://192.168.1.23", "--directory", str(directory),
                 "--stage-dir", str(tmp_path / "stage")])
    assert code == 0
    [run] = mpremote_runs
    assert run[run.index("connect") + 1] == "/dev/ttyUSB0" and run[-1] == "reset"
    entry, kept = load_directory(directory)
    config = json.loads((tmp_path / "stage" / "config.json").read_text())
    assert entry.key.hex == config["key"] and entry.url == "http://192.168.1.23"
    assert kept == other and directory.stat().st_mode & 0o077 == 0
    out = capsys.readouterr().out
    assert config["key"] in out
    assert "Meter key (hex)" in out and "/operator" in out
    assert "recorded meter 3 in" in out and "does not read" in out


def test_flash_prints_the_key_when_it_cannot_record_it(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], mpremote_runs: list[list[str]],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    def full_disk(_path: Path, _entries: object) -> None:
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(meter_command, "save_directory", full_disk)
    code = main([*BASE, "--key", KEY, "--url", "http://192.168.1.23",
                 "--directory", str(tmp_path / "meters.json"),
                 "--stage-dir", str(tmp_path / "stage")])
    assert code == 1 and len(mpremote_runs) == 1
    captured = capsys.readouterr()
    assert KEY in captured.out
    assert captured.err.startswith("gridshare meter flash: could not record meter 3 in")
    assert "No space left on device" in captured.err and "Traceback" not in captured.err


def test_a_failed_mpremote_is_one_line_naming_the_command(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    def board_absent(command: list[str], **_kwargs: object) -> subprocess.CompletedProcess[str]:
        return subprocess.CompletedProcess(command, 1)

    monkeypatch.setattr(meter_command.subprocess, "run", board_absent)
    assert main([*BASE, "--stage-dir", str(tmp_path / "stage")]) == 1
    assert capsys.readouterr().err.startswith(
        "gridshare meter flash: mpremote failed; is the board on")


def test_meter_sim_names_itself_as_gridshare_meter_sim(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["meter-sim", "--houses", "0"]) == 2
    assert capsys.readouterr().err.startswith("gridshare meter-sim: --houses: ")


@pytest.mark.parametrize("key", ["xyz", "ab" * 31, "ab" * 33, "ab " * 32, "gg" * 32,
                                 "ab" * 32 + "\n"])
def test_flash_refuses_a_bad_key_in_one_line(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], mpremote_runs: list[list[str]], key: str,
) -> None:
    code = main([*BASE, "--key", key, "--stage-dir", str(tmp_path / "stage")])
    assert code == 2
    assert "64 hex digits" in _one_line_error(capsys, "--key")
    assert mpremote_runs == [] and not (tmp_path / "stage").exists()


@pytest.mark.parametrize("url", ["http://[::1", "http://10.0.0.23:99999", "10.0.0.23"])
def test_flash_refuses_a_url_the_server_would_refuse_in_one_line(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], mpremote_runs: list[list[str]], url: str,
) -> None:
    """The recorded URL is what the operator registers; the server checks it by the same rule,
    so a flash that took it would leave a meter the server cannot be told about."""
    code = main([*BASE, "--url", url, "--directory", str(tmp_path / "meters.json"),
                 "--stage-dir", str(tmp_path / "stage")])  # fmt: skip
    assert code == 2
    assert "must be http://host or http://host:port" in _one_line_error(capsys, "--url")
    assert mpremote_runs == [] and not (tmp_path / "meters.json").exists()


@pytest.mark.parametrize(("content", "rule"), [
    (None, "cannot read"),
    ("{not json", "not JSON"),
    ("[1, 2]", "JSON object"),
    ('{"v_ratio": 0}', "v_ratio"),
    ('{"v_ratio": "twenty"}', "v_ratio"),
    ('{"adc_min_mv": 3000, "adc_max_mv": 100}', "adc_max_mv: must be a number from 3001"),
    ('{"v_min_mv": 70000, "v_max_mv": 10000}', "v_max_mv: must be a whole number from 70001"),
])
def test_flash_refuses_a_bad_calibration_in_one_line(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], mpremote_runs: list[list[str]],
    content: str | None, rule: str,
) -> None:
    cal = tmp_path / "cal.json"
    if content is not None:
        cal.write_text(content)
    code = main([*BASE, "--calibration", str(cal), "--stage-dir", str(tmp_path / "stage")])
    assert code == 2
    assert rule in _one_line_error(capsys, "--calibration")
    assert mpremote_runs == [] and not (tmp_path / "stage").exists()


def test_flash_takes_a_calibration_file(
    tmp_path: Path, mpremote_runs: list[list[str]],
) -> None:
    cal = tmp_path / "cal.json"
    cal.write_text('{"v_ratio": 20.5, "i_zero_mv": 1642}')
    code = main([*BASE, "--calibration", str(cal), "--stage-dir", str(tmp_path / "stage"),
                 "--dry-run"])
    assert code == 0
    config = Config(json.loads((tmp_path / "stage" / "config.json").read_text()))
    assert config.calibration.v_ratio == 20.5 and config.calibration.i_zero_mv == 1642


@pytest.mark.parametrize(("option", "value"), [("--meter-id", "0"), ("--meter-id", "-1"),
                                               ("--house-id", "0"), ("--url", "192.168.1.23"),
                                               ("--url", "https://192.168.1.23")])
def test_flash_refuses_what_the_operator_page_cannot_register(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], mpremote_runs: list[list[str]],
    option: str, value: str,
) -> None:
    code = main([*BASE, "--stage-dir", str(tmp_path / "stage"), option, value])
    assert code == 2
    _one_line_error(capsys, option)
    assert mpremote_runs == []


def test_meter_sim_command_parses_its_options() -> None:
    args = build_parser().parse_args(["meter-sim", "--houses", "4", "--base-port", "9000",
                                      "--speed", "30"])
    assert (args.houses, args.base_port, args.speed, args.host) == (4, 9000, 30.0, "127.0.0.1")
    assert callable(args.handler)


def test_a_real_flash_leaves_no_staged_copy_of_the_key(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, mpremote_runs: list[list[str]],
) -> None:
    monkeypatch.setattr(tempfile, "tempdir", str(tmp_path))
    assert main([*BASE, "--url", "http://192.168.1.23"]) == 0
    assert len(mpremote_runs) == 1
    assert not list(tmp_path.glob("gridshare-flash-*"))


def test_flash_takes_the_boards_wiring(tmp_path: Path, mpremote_runs: list[list[str]]) -> None:
    """An active-low relay module, and an ESP32-S3's ADC pins (docs/meters.md, Wiring): the
    firmware reads them from config.json, and flash had no way to write them."""
    pins = tmp_path / "pins.json"
    pins.write_text('{"relay_active_high": false, "voltage": 4, "current": 5, "direction": null}')
    code = main([*BASE, "--pins", str(pins), "--stage-dir", str(tmp_path / "stage"), "--dry-run"])
    assert code == 0
    config = Config(json.loads((tmp_path / "stage" / "config.json").read_text()))
    assert (config.relay_active_high, config.v_pin, config.i_pin) == (False, 4, 5)
    assert (config.relay_pin, config.dir_pin) == (26, None)  # the rest as wired by default


@pytest.mark.parametrize(("content", "rule"), [
    ('{"relay_active_high": "no"}', "pins.relay_active_high: must be true or false"),
    ('{"voltage": 99}', "pins.voltage: must be a whole number from 0 to 48"),
    ('{"relay": true}', "pins.relay: must be a whole number from 0 to 48"),
    ('{"led": 2}', "pins.led: not a setting (known: voltage, current, relay"),
    ("[26]", "JSON object"),
    ('{"voltage": 26, "relay": 26}', "voltage, current, relay and direction must be different"),
    ("not json", "is not JSON"),
])
def test_flash_refuses_a_bad_wiring_file_in_one_line(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], mpremote_runs: list[list[str]],
    content: str, rule: str,
) -> None:
    pins = tmp_path / "pins.json"
    pins.write_text(content)
    code = main([*BASE, "--pins", str(pins), "--stage-dir", str(tmp_path / "stage")])
    assert code == 2
    assert rule in _one_line_error(capsys, "--pins")
    assert mpremote_runs == [] and not (tmp_path / "stage").exists()


@pytest.mark.parametrize(("url", "port"), [("http://192.168.1.23:8080", 8080),
                                           ("http://192.168.1.23", 80)])
def test_the_board_listens_on_the_port_its_url_names(
    tmp_path: Path, url: str, port: int
) -> None:
    """--url with :8080 was recorded for the server while the board listened on 80."""
    code = main([*BASE, "--url", url, "--stage-dir", str(tmp_path / "stage"), "--dry-run"])
    assert code == 0
    assert Config(json.loads((tmp_path / "stage" / "config.json").read_text())).port == port


def test_flash_sets_the_boards_silence_limit_that_the_docs_name(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """docs/deployment.md and docs/meters.md tell the operator to give the server the
    `--silence-s` the meters were flashed with, but `meter flash` had no such option: the
    board's limit could only be changed by editing config.json by hand."""
    stage = tmp_path / "stage"
    assert main([*BASE, "--silence-s", "90", "--dry-run", "--stage-dir", str(stage)]) == 0
    config = json.loads((stage / "config.json").read_text())
    assert config["silence_ms"] == 90_000 and Config(config).silence_ms == 90_000
    assert main([*BASE, "--dry-run", "--stage-dir", str(tmp_path / "plain")]) == 0
    assert Config(json.loads((tmp_path / "plain" / "config.json").read_text())).silence_ms == (
        meter_command.SILENCE_S * 1000)  # left out: the firmware's default
    capsys.readouterr()
    for refused in ("0", "3601"):
        assert main([*BASE, "--silence-s", refused, "--dry-run",
                     "--stage-dir", str(tmp_path / refused)]) == 2
        assert _one_line_error(capsys, "--silence-s") == (
            "gridshare meter flash: --silence-s: must be a whole number of seconds from 1 to"
            f" 3,600, not {refused}")
        assert not (tmp_path / refused).exists()
