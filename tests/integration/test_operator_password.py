"""`gridshare operator-password` changes the operator key's password and its login's, as real
processes: a data directory first started without --production (the public default) is
named as such by `serve --production`, changed, then served with the new password."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import httpx
import pytest
from eth_account import Account

from gridshare.commands.operator_password import passwords
from gridshare.config import DEVELOPMENT_PASSWORD
from tests.integration.ethers.gridshare_server import run_serve_once, serve_env, start_server

NEW = "a long passphrase written down"


def change(data: Path, current: str | None, new: str | None) -> subprocess.CompletedProcess[str]:
    env = serve_env(current)
    if new is not None:
        env["GRIDSHARE_NEW_OPERATOR_PASSWORD"] = new
    return subprocess.run(
        [sys.executable, "-m", "gridshare.cli", "operator-password", "--data", str(data)],
        capture_output=True, text=True, stdin=subprocess.DEVNULL, env=env, timeout=60,
    )  # fmt: skip


def login(url: str, password: str) -> int:
    reply = httpx.post(f"{url}/api/v1/session",
                       json={"username": "operator", "password": password})  # fmt: skip
    return reply.status_code


def files(data: Path) -> tuple[bytes, bytes]:
    return (data / "operator.keystore.json").read_bytes(), (data / "gridshare.sqlite").read_bytes()


def test_a_development_start_is_named_then_changed_and_served(tmp_path: Path) -> None:
    data = tmp_path / "data"
    first = start_server(data, password=None)  # development mode: the public default
    try:
        market = first.health()
    finally:
        first.stop()

    refused = run_serve_once(data, "--production", password=NEW)
    assert refused.returncode == 1
    assert "locked with the public development password" in refused.stderr
    assert f"gridshare operator-password --data {data}" in refused.stderr

    before = files(data)
    wrong = change(data, "not the password", NEW)
    assert (wrong.returncode, files(data)) == (1, before), wrong.stderr
    assert "wrong password or damaged file; nothing was changed" in wrong.stderr
    short = change(data, DEVELOPMENT_PASSWORD, "short")
    assert (short.returncode, files(data)) == (2, before), short.stderr
    assert "the new password: at least 8" in short.stderr
    public = change(data, "another password", DEVELOPMENT_PASSWORD)
    assert (public.returncode, files(data)) == (2, before), public.stderr
    assert "the new password: it is the public development password" in public.stderr
    unasked = change(data, None, NEW)  # no terminal to ask on
    assert (unasked.returncode, files(data)) == (2, before)
    assert "set GRIDSHARE_OPERATOR_PASSWORD" in unasked.stderr

    changed = change(data, DEVELOPMENT_PASSWORD, NEW)
    assert changed.returncode == 0, changed.stderr
    assert "restart `gridshare serve`" in changed.stdout
    assert oct((data / "operator.keystore.json").stat().st_mode)[-3:] == "600"

    served = start_server(data, "--production", password=NEW)
    try:
        again = served.health()
        assert (again["contract_address"], again["operator"]) == (
            market["contract_address"], market["operator"])
        assert login(served.url, DEVELOPMENT_PASSWORD) == 401
        assert login(served.url, NEW) == 200
    finally:
        served.stop()
    assert "development mode" not in served.log.read_text()


def test_a_login_that_cannot_be_updated_leaves_the_key_as_it_was(tmp_path: Path) -> None:
    data = tmp_path / "data"
    start_server(data, password=None).stop()
    (data / "gridshare.sqlite").write_bytes(b"not a database" * 100)  # as a bad restore leaves it
    failed = change(data, DEVELOPMENT_PASSWORD, NEW)
    assert failed.returncode == 1
    assert "cannot update the login" in failed.stderr and "nothing was changed" in failed.stderr
    assert "Traceback" not in failed.stderr
    keyfile = json.loads((data / "operator.keystore.json").read_text())
    assert Account.decrypt(keyfile, DEVELOPMENT_PASSWORD)  # the key file was put back


def test_production_refuses_the_public_development_password(tmp_path: Path) -> None:
    refused = run_serve_once(tmp_path / "data", "--production", password=DEVELOPMENT_PASSWORD)
    assert refused.returncode == 2
    assert "production refuses the public development password" in refused.stderr
    assert not (tmp_path / "data").exists()


def test_a_missing_data_directory_is_named(tmp_path: Path) -> None:
    result = change(tmp_path / "nowhere", DEVELOPMENT_PASSWORD, NEW)
    assert result.returncode == 2
    assert "has no operator.keystore.json" in result.stderr
    assert "Traceback" not in result.stderr


@pytest.mark.parametrize(
    ("answers", "expected"),
    [
        (["", NEW, NEW], (DEVELOPMENT_PASSWORD, NEW)),  # empty: the development default
        (["old one", NEW, NEW], ("old one", NEW)),
        (["old one", NEW, "typo"], "the two new passwords differ; nothing was changed"),
    ],
)
def test_the_passwords_asked_on_a_terminal(
    answers: list[str], expected: tuple[str, str] | str
) -> None:
    asked = iter(answers)
    assert passwords({}, lambda _prompt: next(asked)) == expected
