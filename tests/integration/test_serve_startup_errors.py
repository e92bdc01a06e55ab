"""`gridshare serve` that cannot start says why in one `gridshare serve:` line, naming the option
(or environment variable) as the operator gave it: a data directory it cannot make and a port in
use are refused (exit 2) before anything is created; a full disk, a damaged database or the
wrong --chain-id for a village's directory are named instead of a traceback or a wrong file."""

from __future__ import annotations

import logging
import socket
import sqlite3
from collections.abc import Iterator
from pathlib import Path

import pytest

from gridshare.chain.transactor import RpcFailure
from gridshare.cli import main
from gridshare.config import Settings
from gridshare.runtime import build_runtime
from tests.integration.ethers.gridshare_server import TEST_PASSWORD, run_serve_once
from tests.support.nodes import free_port


def _one_line(stderr: str) -> str:
    assert "Traceback" not in stderr, stderr
    [line] = stderr.strip().splitlines()
    assert line.startswith("gridshare serve: "), stderr
    return line.removeprefix("gridshare serve: ")


def _make_village(data: Path) -> None:
    """A data directory as a first start leaves it: chain, key, market, database."""
    settings = Settings(data_dir=data, market_engine=False, operator_password=TEST_PASSWORD)
    build_runtime(settings).close()


# ---- refused before anything is created (exit 2) ---------------------------------------------

@pytest.mark.parametrize(("where", "rule"), [
    ("afile", "is a file, not a directory"),
    ("afile/data", "cannot be created: {tmp}/afile is a file, not a directory"),
    ("/proc/gridshare-data", "cannot be created"),  # not even root can make a folder there
])
def test_a_data_dir_that_cannot_be_made_is_refused_naming_data(
    tmp_path: Path, where: str, rule: str
) -> None:
    (tmp_path / "afile").write_text("mine")
    data = tmp_path / where
    result = run_serve_once(data)
    assert result.returncode == 2, result.stderr
    assert _one_line(result.stderr).startswith(
        f"--data {data}: {rule.format(tmp=tmp_path)}"
    ), result.stderr
    assert sorted(p.name for p in tmp_path.iterdir()) == ["afile"]
    assert (tmp_path / "afile").read_text() == "mine"


@pytest.fixture
def busy_port() -> Iterator[int]:
    """A loopback port another program is listening on."""
    with socket.socket() as listener:
        listener.bind(("127.0.0.1", 0))
        listener.listen()
        yield int(listener.getsockname()[1])


def test_a_port_in_use_is_refused_before_the_data_dir_is_made(
    tmp_path: Path, busy_port: int
) -> None:
    data = tmp_path / "data"
    result = run_serve_once(data, "--port", str(busy_port))  # the last --port wins
    assert result.returncode == 2, result.stderr
    line = _one_line(result.stderr)
    assert line.startswith(f"--port {busy_port}: address already in use on 127.0.0.1"), line
    assert "choose another port" in line
    assert not data.exists()


def test_settings_are_named_as_the_operator_gave_them(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    for name in ("GRIDSHARE_PORT", "GRIDSHARE_CHAIN_ID", "GRIDSHARE_CHAIN_URL"):
        monkeypatch.delenv(name, raising=False)
    data = str(tmp_path / "data")
    cases = [
        (["--port", "99999"], {}, "--port 99999: Input should be less than or equal to 65535"),
        (["--chain", "ftp://x"], {}, "--chain ftp://x: must start with http:// or https://"),
        (["--chain-id", "0"], {}, "--chain-id 0: Input should be greater than or equal to 1"),
        ([], {"GRIDSHARE_PORT": "0"}, "GRIDSHARE_PORT=0: Input should be greater than"),
        ([], {"GRIDSHARE_CHAIN_URL": "ftp://x"}, "GRIDSHARE_CHAIN_URL=ftp://x: must start"),
    ]
    for argv, env, expected in cases:
        with monkeypatch.context() as patch:
            for name, value in env.items():
                patch.setenv(name, value)
            assert main(["serve", "--data", data, *argv]) == 2
        line = _one_line(capsys.readouterr().err)
        assert line.startswith(expected), line
        assert "port:" not in line and "chain_url" not in line and "chain_id" not in line
    assert not (tmp_path / "data").exists()


def test_production_without_a_password_names_the_variable_not_the_field(tmp_path: Path) -> None:
    result = run_serve_once(tmp_path / "data", "--production", password=None)
    assert result.returncode == 2
    line = _one_line(result.stderr)
    assert "GRIDSHARE_OPERATOR_PASSWORD" in line
    assert "operator_password" not in line and not line.startswith("settings:"), line


# ---- failed starts: one line, exit 1 ---------------------------------------------------------

def test_a_full_disk_on_the_first_start_is_said_plainly(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    """As the embedded chain fails on a full disk: it logs the sqlite error with its traceback
    and answers the deployment's transaction with an internal error naming only its type."""

    def deploy_on_a_full_disk(settings: Settings) -> None:
        try:
            raise sqlite3.OperationalError("database or disk is full")
        except sqlite3.OperationalError:
            logging.getLogger("gridshare.chain.embedded.rpc").exception("JSON-RPC handler failed")
        raise RpcFailure("gridshare_sendRawTransaction",
                         {"code": -32603, "message": "internal error: OperationalError"})

    monkeypatch.setattr("gridshare.runtime.build_runtime", deploy_on_a_full_disk)
    data = tmp_path / "data"
    assert main(["serve", "--data", str(data), "--port", str(free_port())]) == 1
    assert _one_line(capsys.readouterr().err) == (
        f"the disk holding {data} is full: free space, then start again"
    )


def test_a_damaged_database_is_one_line_not_a_traceback(tmp_path: Path) -> None:
    data = tmp_path / "data"
    _make_village(data)
    for part in data.glob("gridshare.sqlite*"):
        part.unlink()
    (data / "gridshare.sqlite").write_text("not a database")
    result = run_serve_once(data)
    assert result.returncode == 1, result.stderr
    line = _one_line(result.stderr)
    assert line.startswith(f"a database in {data} cannot be used (DatabaseError: file is not"), line


def test_the_wrong_chain_id_names_the_chain_the_directory_was_made_with(tmp_path: Path) -> None:
    data = tmp_path / "data"
    _make_village(data)
    result = run_serve_once(data, "--chain-id", "4242")
    assert result.returncode == 1, result.stderr
    line = _one_line(result.stderr)
    assert "deployment-4242.json" not in line
    assert line == (
        f"{data} holds the market of chain 1337, not of chain 4242: start it with "
        "--chain-id 1337 (or GRIDSHARE_CHAIN_ID=1337)"
    )
    assert sorted(p.name for p in data.glob("deployment-*")) == ["deployment-1337.json"]
