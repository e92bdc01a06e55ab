"""`gridshare demo` refuses what it must not touch, before it creates anything.

Each refusal is one line on stderr naming the option and the rule, exit code 2 (a bad command
line, as argparse and `gridshare serve` use), no traceback, and the data directory exactly as
it was: another gridshare data directory is never taken over, `--walk` never writes into
`--data`, and a bad port or a file in the way no longer leaves a half-built directory behind.
"""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from gridshare.cli import main
from gridshare.config import Settings
from gridshare.demo.community import MARKER, claim, is_demo_dir
from gridshare.runtime import build_runtime

# on the old code some of these started a whole demo: bounded, and on the tests' own ports
pytestmark = pytest.mark.timeout(150)
PORTS = ("--port", "18445", "--meter-base-port", "18411")  # meters 18411..18420

Snapshot = list[tuple[str, bool, int, int]]


def snapshot(root: Path) -> Snapshot:
    """Every path under `root` with its kind, size and modification time."""
    return sorted(
        (str(p.relative_to(root)), p.is_dir(), p.stat().st_size, p.stat().st_mtime_ns)
        for p in root.rglob("*")
    )


def gridshare(*args: str, cwd: Path) -> subprocess.CompletedProcess[str]:
    """The real console script in a subprocess, without the caller's GRIDSHARE_* settings."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("GRIDSHARE_")}
    return subprocess.run(
        [sys.executable, "-m", "gridshare.cli", *args],
        cwd=cwd, env=env, capture_output=True, text=True, timeout=120,
    )  # fmt: skip


def demo_in_process(
    capsys: pytest.CaptureFixture[str], *args: str
) -> tuple[int, list[str]]:
    """`gridshare demo ARGS` (after PORTS) through the CLI's main(); exit code, stderr lines."""
    code = main(["demo", *PORTS, *args])
    return code, capsys.readouterr().err.splitlines()


@pytest.fixture(scope="module")
def serve_dir(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Path]:
    """A real `gridshare serve` data directory: operator key, chain, market, database."""
    data = tmp_path_factory.mktemp("serve") / "sv1"
    build_runtime(Settings(data_dir=data)).close()
    yield data


def test_a_serve_data_directory_is_refused_and_left_exactly_as_it_was(
    serve_dir: Path, tmp_path: Path
) -> None:
    before = snapshot(serve_dir)
    result = gridshare("demo", "--data", str(serve_dir), "--port", "18400",
                       "--meter-base-port", "18401", cwd=tmp_path)  # fmt: skip
    assert result.returncode == 2
    assert "Traceback" not in result.stderr
    assert result.stderr.splitlines() == [
        f"gridshare demo: --data {serve_dir} is not a demo data directory: it holds chain/, "
        "gridshare.sqlite, operator.keystore.json, deployment-1337.json (another gridshare "
        "data directory?); use an empty directory"
    ]
    assert snapshot(serve_dir) == before  # no demo.json, demo-keys/, meters/, no new blocks


def test_fresh_does_not_delete_a_serve_data_directory_either(
    serve_dir: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    before = snapshot(serve_dir)
    code, err = demo_in_process(capsys, "--data", str(serve_dir), "--fresh")
    assert code == 2
    assert len(err) == 1 and "is not a demo data directory" in err[0]
    assert snapshot(serve_dir) == before


@pytest.mark.parametrize("held", ["gridshare.sqlite", "chain"])
def test_a_directory_holding_a_database_or_a_chain_alone_is_refused(
    held: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    data = tmp_path / "data"
    data.mkdir()
    if held == "chain":
        (data / held).mkdir()
    else:
        (data / held).touch()
    before = snapshot(data)
    code, err = demo_in_process(capsys, "--data", str(data))
    assert code == 2
    assert len(err) == 1 and err[0].startswith(f"gridshare demo: --data {data} is not a demo")
    assert snapshot(data) == before


def test_walk_refuses_data_and_writes_nothing_there(tmp_path: Path) -> None:
    data = tmp_path / "dmw"
    data.mkdir()
    (data / MARKER).write_text(json.dumps({"complete": True}))  # a finished demo's directory
    before = snapshot(data)
    result = gridshare("demo", "--walk", "--data", str(data), cwd=tmp_path)
    assert result.returncode == 2
    assert "Traceback" not in result.stderr
    assert result.stderr.splitlines() == [
        "gridshare demo: --data: --walk always runs on a throw-away chain in a temporary "
        "directory; leave --data out"
    ]
    assert snapshot(data) == before


def test_help_says_the_walk_uses_a_temporary_directory(tmp_path: Path) -> None:
    out = " ".join(gridshare("demo", "--help", cwd=tmp_path).stdout.split())
    assert "a throw-away chain in a temporary directory (deleted afterwards)" in out
    assert "(default .gridshare/demo); not with --walk" in out


@pytest.mark.parametrize(
    ("args", "line"),
    [
        (["--port", "99999"], "--port 99999: must be a port from 1 to 65535"),
        (["--port", "0"], "--port 0: must be a port from 1 to 65535"),
        (["--meter-base-port", "70000"],
         "--meter-base-port 70000: must be from 1 to 65526, so that all 10 meters get a port "
         "(70000..70009 is not)"),
        (["--meter-base-port", "65530"],
         "--meter-base-port 65530: must be from 1 to 65526, so that all 10 meters get a port "
         "(65530..65539 is not)"),
        (["--port", "18415"],
         "--port 18415: is one of the meters' ports 18411..18420 (--meter-base-port); "
         "pick another"),
        (["--speed", "nan"],
         "--speed nan: must be a positive number (simulated seconds per real second)"),
        (["--speed", "inf"],
         "--speed inf: must be a positive number (simulated seconds per real second)"),
    ],
)  # fmt: skip
def test_a_bad_option_is_one_line_and_creates_nothing(
    args: list[str], line: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    data = tmp_path / "dm0"
    code, err = demo_in_process(capsys, "--data", str(data), *args)
    assert code == 2
    assert err == [f"gridshare demo: {line}"]
    assert not data.exists()  # the old code built chain/, the key and the database first


def test_every_bad_option_is_named_at_once(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    code, err = demo_in_process(capsys, "--data", str(tmp_path / "d"), "--port", "99999",
                                "--meter-base-port", "0", "--speed", "-1")  # fmt: skip
    assert code == 2
    assert [e.split(":")[1].split()[0] for e in err] == ["--port", "--meter-base-port", "--speed"]


def test_data_that_is_a_file_is_refused_even_with_fresh(tmp_path: Path) -> None:
    afile = tmp_path / "afile"
    afile.write_text("not a directory")
    result = gridshare("demo", "--data", "afile", "--fresh", *PORTS, cwd=tmp_path)
    assert result.returncode == 2
    assert "Traceback" not in result.stderr  # the old code: NotADirectoryError
    assert result.stderr.splitlines() == [
        "gridshare demo: --data afile: afile is a file, not a directory"
    ]
    assert afile.read_text() == "not a directory"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["afile"]


@pytest.mark.parametrize("data", ["afile", "afile/sub"])
def test_data_that_is_or_lies_under_a_file_is_refused(
    data: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    afile = tmp_path / "afile"
    afile.write_text("not a directory")
    code, err = demo_in_process(capsys, "--data", str(tmp_path / data))
    assert code == 2
    assert err == [f"gridshare demo: --data {tmp_path / data}: {afile} is a file, not a directory"]
    assert afile.read_text() == "not a directory"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["afile"]


def test_settings_from_the_environment_that_fail_validation_are_one_line(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("GRIDSHARE_CHAIN_ID", "0")
    code, err = demo_in_process(capsys, "--data", str(tmp_path / "d"))
    assert code == 2
    assert err == ["gridshare demo: chain_id: Input should be greater than or equal to 1"]
    assert not (tmp_path / "d").exists()


def test_a_damaged_marker_is_one_line_before_the_chain_is_opened(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    data = tmp_path / "d"
    data.mkdir()
    (data / MARKER).write_text("{not json")
    code, err = demo_in_process(capsys, "--data", str(data))
    assert code == 1
    assert err == [f"gridshare demo: {data / MARKER} is damaged: start over with --fresh"]
    assert sorted(p.name for p in data.iterdir()) == [MARKER]


def test_the_marker_comes_first_so_fresh_may_delete_a_half_built_directory(
    tmp_path: Path,
) -> None:
    data = tmp_path / "new"
    assert claim(data, name="Neelum") is False  # nothing to resume
    assert sorted(p.name for p in data.iterdir()) == [MARKER] and is_demo_dir(data)
    assert claim(data, name="Neelum") is False  # still nothing: set-up never got going


def test_a_set_up_failure_is_one_line_and_leaves_a_demo_directory(tmp_path: Path) -> None:
    """Meters that cannot bind (a port taken): exit 1, one line; the community was created.

    Slow-ish (one real set-up, ~20 s): it also proves a new directory is still built whole
    after the marker moved to the start.
    """
    data = tmp_path / "dA"
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 18437))
        taken.listen()
        result = gridshare("demo", "--data", str(data), "--port", "18449",
                           "--meter-base-port", "18430", cwd=tmp_path)  # fmt: skip
    assert result.returncode == 1
    assert "Traceback" not in result.stderr
    assert result.stderr.splitlines() == [
        "gridshare demo: the simulated meters could not start: [Errno 98] error while "
        "attempting to bind on address ('127.0.0.1', 18437): address already in use"
    ]
    assert json.loads((data / MARKER).read_text())["complete"] is True
    assert len(list((data / "demo-keys").iterdir())) == 10
