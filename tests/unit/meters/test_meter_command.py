"""`gridshare meter flash --dry-run` stages firmware, Microdot and a valid config."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from gridshare_meter.config import Config

from gridshare.cli import build_parser, main
from gridshare.meters import load_directory


def test_flash_dry_run_stages_a_complete_board_filesystem(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    stage = tmp_path / "stage"
    directory = tmp_path / "meters.json"
    code = main([
        "meter", "flash", "--port", "/dev/ttyUSB0", "--meter-id", "3", "--wifi-ssid", "village",
        "--wifi-password", "pw", "--url", "http://10.0.0.23", "--directory", str(directory),
        "--stage-dir", str(stage), "--dry-run",
    ])
    assert code == 0
    for name in ("boot.py", "main.py", "board.py", "config.json", "lib/microdot/microdot.py",
                 "lib/microdot/__init__.py", "lib/gridshare_meter/meter.py"):
        assert (stage / name).is_file(), name
    config = Config(json.loads((stage / "config.json").read_text()))
    assert config.meter_id == 3 and config.wifi_ssid == "village"
    [entry] = load_directory(directory)
    assert entry.key.key == config.key and entry.url == "http://10.0.0.23"
    assert directory.stat().st_mode & 0o077 == 0
    out = capsys.readouterr().out
    assert "mpremote connect /dev/ttyUSB0 cp -r lib" in out


def test_flash_needs_a_url_to_record_the_meter(tmp_path: Path) -> None:
    code = main([
        "meter", "flash", "--port", "/dev/ttyUSB0", "--meter-id", "3", "--wifi-ssid", "v",
        "--wifi-password", "p", "--directory", str(tmp_path / "m.json"), "--dry-run",
        "--stage-dir", str(tmp_path / "s"),
    ])
    assert code == 2


def test_meter_sim_command_parses_its_options() -> None:
    args = build_parser().parse_args(["meter-sim", "--houses", "4", "--base-port", "9000",
                                      "--speed", "30"])
    assert (args.houses, args.base_port, args.speed, args.host) == (4, 9000, 30.0, "127.0.0.1")
    assert callable(args.handler)
