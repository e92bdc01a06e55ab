"""`deploy/gridshare.service`, the unit docs/deployment.md installs, runs the server as its own
user on the data and cache directories systemd makes for it, with a command `serve` accepts."""

from __future__ import annotations

import configparser
import shlex
from pathlib import Path

from gridshare.cli import build_parser
from gridshare.commands.serve import given_settings

ROOT = Path(__file__).resolve().parents[2]
UNIT = ROOT / "deploy" / "gridshare.service"
DOCS = ROOT / "docs" / "deployment.md"


def service() -> configparser.SectionProxy:
    unit = configparser.ConfigParser(strict=False, interpolation=None)
    unit.optionxform = str  # type: ignore[assignment,method-assign]  # systemd keys keep case
    unit.read_string(UNIT.read_text(encoding="utf-8"))
    return unit["Service"]


def test_the_server_runs_as_the_user_the_docs_make_never_root() -> None:
    user = service()["User"]
    assert user not in ("root", "0", "")
    assert service()["Group"] == user
    assert f"--shell /usr/sbin/nologin {user}\n" in DOCS.read_text(encoding="utf-8")


def test_its_command_is_a_production_serve_on_the_directory_systemd_makes() -> None:
    program, *argv = shlex.split(service()["ExecStart"])
    assert program == "/opt/gridshare/.venv/bin/gridshare"  # where the docs install it
    args = build_parser().parse_args(argv)
    assert args.command == "serve" and args.production
    assert given_settings(args) == {
        "data_dir": Path("/var/lib") / service()["StateDirectory"],
        "host": "0.0.0.0",  # the village Wi-Fi
    }
    assert service()["StateDirectoryMode"] == "0700"  # as `serve` makes it


def test_the_compiled_contract_is_cached_where_that_user_may_write() -> None:
    variables = dict(
        line.split("=", 1) for line in shlex.split(service()["Environment"])
    )
    assert variables["XDG_CACHE_HOME"] == f"/var/cache/{service()['CacheDirectory']}"
    assert service()["ProtectSystem"] == "strict"  # so nothing else is writable


def test_the_docs_install_this_file() -> None:
    docs = DOCS.read_text(encoding="utf-8")
    assert "sudo cp /opt/gridshare/deploy/gridshare.service /etc/systemd/system/" in docs
    environment = service()["EnvironmentFile"]
    assert f"sudo install -m 600 /dev/null {environment}" in docs  # root only: the password
