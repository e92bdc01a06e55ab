"""`gridshare serve`'s options: only the options given override GRIDSHARE_* variables."""

from __future__ import annotations

from pathlib import Path

import pytest

from gridshare.cli import build_parser
from gridshare.commands.serve import settings_from_args
from gridshare.config import Settings


def serve_settings(*argv: str) -> Settings:
    return settings_from_args(build_parser().parse_args(["serve", *argv]))


def test_the_environment_sets_host_port_and_data_when_the_options_are_left_out(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("GRIDSHARE_HOST", "0.0.0.0")
    monkeypatch.setenv("GRIDSHARE_PORT", "8104")
    monkeypatch.setenv("GRIDSHARE_DATA_DIR", "/var/lib/gridshare")
    from_env = serve_settings()
    assert (from_env.host, from_env.port, from_env.data_dir) == (
        "0.0.0.0", 8104, Path("/var/lib/gridshare"))  # fmt: skip
    given = serve_settings("--host", "127.0.0.1", "--port", "9000", "--data", "here")
    assert (given.host, given.port, given.data_dir) == ("127.0.0.1", 9000, Path("here"))


def test_without_options_or_environment_the_server_stays_on_loopback(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    for name in ("GRIDSHARE_HOST", "GRIDSHARE_PORT", "GRIDSHARE_DATA_DIR"):
        monkeypatch.delenv(name, raising=False)
    settings = serve_settings()
    assert (settings.host, settings.port, settings.data_dir) == (
        "127.0.0.1", 8000, Path(".gridshare/data"))  # fmt: skip


def _help(*argv: str) -> None:
    with pytest.raises(SystemExit) as done:
        build_parser().parse_args([*argv, "--help"])
    assert done.value.code == 0


def test_serve_help_says_when_the_password_is_asked_for_and_names_every_variable(
    capsys: pytest.CaptureFixture[str],
) -> None:
    _help("serve")
    text = " ".join(capsys.readouterr().out.split())  # undo argparse's line wrapping
    assert "from GRIDSHARE_OPERATOR_PASSWORD or a prompt" not in text
    assert "with --production and no such variable, serve asks for it when run on a terminal" in (
        text
    )
    for variable in ("GRIDSHARE_DATA_DIR", "GRIDSHARE_HOST", "GRIDSHARE_PORT",
                     "GRIDSHARE_CHAIN_URL", "GRIDSHARE_CHAIN_ID"):
        assert variable in text, variable
    assert "(default GRIDSHARE_CHAIN_ID, else 1337)" in text


@pytest.mark.parametrize(("typed", "message"), [
    ([""], "the operator keystore password cannot be empty; nothing was created"),
    (["secret", "other"], "the operator password: at least 8 and at most 256 characters;"
                          " nothing was created"),
    (["a long secret", "other"], "the two passwords differ; nothing was created"),
])  # fmt: skip
def test_the_password_prompt_refuses_an_empty_or_mistyped_password_and_says_so(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str],
    typed: list[str], message: str,
) -> None:
    """An empty answer at the prompt was told to "set GRIDSHARE_OPERATOR_PASSWORD"."""
    monkeypatch.delenv("GRIDSHARE_OPERATOR_PASSWORD", raising=False)
    monkeypatch.setattr("sys.stdin.isatty", lambda: True)
    answers = iter(typed)
    monkeypatch.setattr("getpass.getpass", lambda _prompt: next(answers))
    with pytest.raises(SystemExit) as stopped:
        serve_settings("--production", "--data", str(tmp_path / "data"))
    assert stopped.value.code == 2
    assert capsys.readouterr().err.strip() == f"gridshare serve: {message}"
    assert not (tmp_path / "data").exists()
