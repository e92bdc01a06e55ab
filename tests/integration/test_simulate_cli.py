"""`gridshare simulate` refuses bad options up front, in one line naming the option as typed;
scenario files refuse impossible houses; Ctrl-C ends any command with one line and code 130;
the report shows ratios as percentages, money in coins, and no `None`."""

from __future__ import annotations

import argparse
import csv
import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from gridshare.cli import main as gridshare
from gridshare.sim.scenarios import ScenarioFileError, load_scenario

GRIDSHARE = [sys.executable, "-m", "gridshare.cli"]
LONG = ["--houses", "1000", "--days", "10"]  # the largest run allowed: about 14 h if it started
TWO_HOUSES = """name = "Two houses"
[[houses]]
pv_kwp = 0
battery_kwh = 1.2
annual_kwh = 600
initial_soc = 1
[[houses]]
pv_kwp = 2.0
battery_kwh = 4.8
annual_kwh = 1100
"""


def _simulate(cwd: Path, *args: str) -> subprocess.CompletedProcess[str]:
    # the timeout only stops a run that was wrongly started; the tests judge by what it says
    return subprocess.run([*GRIDSHARE, "simulate", *args], cwd=cwd, capture_output=True,
                          text=True, timeout=120)  # fmt: skip


@pytest.mark.parametrize(
    ("args", "expected"),
    [
        ([*LONG, "--out", "afile"], "--out afile: is a file, not a directory"),
        ([*LONG, "--data", "afile"], "--data afile: is a file, not a directory"),
        ([*LONG, "--out", "afile/report"], "--out afile/report: cannot be created: "),
        (["--houses", "1", "--days", "100000"], "--days: must be from 1 to 366"),
        (["--days", "0"], "--days: must be from 1 to 366"),
        (["--houses", "0"], "--houses: 0 houses; must be from 1 to 1,000"),
        (["--houses", "1001"], "--houses: 1001 houses; must be from 1 to 1,000"),
        (["--houses", "1000", "--days", "11"], "is more than 10,000 house-days"),
        ([*LONG, "--step-s", "0"], "--step-s: must be a whole divisor of the 900 s market"),
        ([*LONG, "--step-s", "7"], "--step-s: must be a whole divisor of the 900 s market"),
        ([*LONG, "--poll-s", "15"], "--poll-s: must be a multiple of --step-s (10)"),
        ([*LONG, "--poll-s", "0"], "--poll-s: must be a multiple of --step-s (10)"),
        (["--houses", "3", "--scenario", "two.toml"],
         "--houses: not with --scenario; the scenario file lists the houses"),
        (["--scenario", "sc.csv"], "--scenario sc.csv: a scenario file must end in .json or .toml"),
        (["--scenario", "broken.json"], "--scenario broken.json: not valid JSON: "),
        (["--scenario", "soc.json", "--days", "366"],
         "--scenario soc.json: houses[1].initial_soc: must be from 0 to 1"),
    ],
)
def test_bad_options_are_refused_before_simulating_in_one_line_naming_the_option(
    tmp_path: Path, args: list[str], expected: str
) -> None:
    (tmp_path / "afile").touch()
    (tmp_path / "two.toml").write_text(TWO_HOUSES)
    (tmp_path / "sc.csv").write_text(json.dumps({"houses": [{"pv_kwp": 1}]}))
    (tmp_path / "broken.json").write_text("{houses: [")
    (tmp_path / "soc.json").write_text(json.dumps({"houses": [{"initial_soc": 5}]}))
    before = sorted(p.name for p in tmp_path.iterdir())
    result = _simulate(tmp_path, *args)
    assert result.returncode == 2, result.stderr
    lines = result.stderr.splitlines()
    assert len(lines) == 1, result.stderr  # no "simulating ..." line: refused before the run
    assert lines[0].startswith("gridshare simulate: ") and expected in lines[0], lines[0]
    for internal in ("step_s", "poll_s", "interval_s", "houses, days"):
        assert internal not in lines[0]
    assert sorted(p.name for p in tmp_path.iterdir()) == before  # nothing created


def test_prune_chain_messages_carry_the_command_prefix(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert gridshare(["prune-chain", "--data", str(tmp_path)]) == 2
    assert capsys.readouterr().err.startswith("gridshare prune-chain: --data: no chain in ")
    assert gridshare(["prune-chain", "--keep-blocks", "0"]) == 2
    assert capsys.readouterr().err.startswith("gridshare prune-chain: --keep-blocks must be ")


def test_a_scenario_file_refuses_a_state_of_charge_outside_0_to_1(tmp_path: Path) -> None:
    path = tmp_path / "village.json"
    for soc in (0, 0.9, 1):
        path.write_text(json.dumps({"houses": [{"initial_soc": soc}]}))
        assert load_scenario(path).houses[0].initial_soc == soc
    path.write_text(json.dumps({"houses": [{}, {"initial_soc": 5}]}))
    with pytest.raises(ScenarioFileError, match=r"houses\[2\]\.initial_soc: must be from 0 to 1"):
        load_scenario(path)


def test_a_scenario_file_refuses_two_houses_with_one_id(tmp_path: Path) -> None:
    """The second house (no house_id: its place, 2) shares house 2's id with the first."""
    path = tmp_path / "village.json"
    path.write_text(json.dumps({"houses": [{"house_id": 2}, {}]}))
    already = r"houses\[2\]\.house_id: 2 is already houses\[1\]'s; each house needs its own"
    with pytest.raises(ScenarioFileError, match=already):
        load_scenario(path)


@pytest.mark.parametrize(
    ("name", "text"),
    [
        ("nan.json", '{"houses": [{"pv_kwp": NaN}]}'),
        ("inf.json", '{"houses": [{"pv_kwp": Infinity}]}'),
        ("nan.toml", "[[houses]]\npv_kwp = nan\n"),
        ("inf.toml", "[[houses]]\npv_kwp = inf\n"),
    ],
)
def test_a_scenario_file_refuses_non_finite_numbers_naming_the_field(
    tmp_path: Path, name: str, text: str
) -> None:
    path = tmp_path / name
    path.write_text(text)
    with pytest.raises(ScenarioFileError, match=r"houses\[1\]\.pv_kwp: must be a finite number"):
        load_scenario(path)


def test_a_scenario_file_must_be_json_or_toml_by_its_name(tmp_path: Path) -> None:
    path = tmp_path / "village.csv"
    path.write_text(json.dumps({"houses": [{}]}))
    with pytest.raises(ScenarioFileError, match=r"must end in \.json or \.toml"):
        load_scenario(path)
    toml = tmp_path / "village.toml"
    toml.write_text("[[houses]\n")
    with pytest.raises(ScenarioFileError, match="not valid TOML"):
        load_scenario(toml)


def _as_from_a_terminal() -> None:
    """The stop signals' default actions in the child, as in a terminal: a shell without job
    control (a CI runner starting the suite with `&`) ignores SIGINT, and children inherit
    that (`simulate` rightly keeps an inherited ignore, as any Unix program started in the
    background does); a runner might ignore SIGTERM too."""
    signal.signal(signal.SIGINT, signal.SIG_DFL)
    signal.signal(signal.SIGTERM, signal.SIG_DFL)


def _stopped_mid_run(tmp_path: Path, stop_signal: signal.Signals, *options: str) -> tuple[int, str]:
    """(exit code, stderr) of a two-house, three-day simulation sent `stop_signal` once its
    market is up; its temporary files go to tmp_path/tmp, its report to tmp_path/out."""
    temp = tmp_path / "tmp"
    temp.mkdir()
    proc = subprocess.Popen(
        [*GRIDSHARE, "simulate", "--houses", "2", "--days", "3", "--out", str(tmp_path / "out"),
         *options],
        stderr=subprocess.PIPE, stdout=subprocess.PIPE, text=True,
        env={**os.environ, "TMPDIR": str(temp)}, preexec_fn=_as_from_a_terminal,
    )  # fmt: skip
    try:
        deadline = time.monotonic() + 120
        while not list(tmp_path.glob("**/engine.sqlite3")):  # the chain is up, the market next
            assert proc.poll() is None and time.monotonic() < deadline, "it never started"
            time.sleep(0.1)
        time.sleep(1)
        proc.send_signal(stop_signal)
        _, err = proc.communicate(timeout=60)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.communicate()
    return proc.returncode, err


def test_ctrl_c_ends_a_running_simulation_with_one_line_and_code_130(tmp_path: Path) -> None:
    code, err = _stopped_mid_run(tmp_path, signal.SIGINT, "--data", str(tmp_path / "data"))
    assert code == 130, err
    assert "Traceback" not in err and "KeyboardInterrupt" not in err
    assert err.splitlines()[-1] == "gridshare simulate: interrupted"
    assert err.count("interrupted") == 1
    assert not (tmp_path / "out").exists()
    assert (tmp_path / "data" / "engine.sqlite3").exists()  # --data keeps the partial run


def test_sigterm_ends_a_simulation_with_one_line_code_143_and_no_temporary_chain_left(
    tmp_path: Path,
) -> None:
    """SIGTERM (`kill`, a service stop) used to kill the process on the spot: no `finally` ran,
    and the temporary chain of a run without --data stayed in /tmp."""
    code, err = _stopped_mid_run(tmp_path, signal.SIGTERM, "--quiet")
    assert code == 143, err
    assert err.splitlines() == ["gridshare simulate: stopped (SIGTERM)"]  # --quiet: no more
    assert list((tmp_path / "tmp").iterdir()) == []
    assert not (tmp_path / "out").exists()


def test_ctrl_c_in_any_command_is_one_line_and_code_130(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    from gridshare.commands import prune

    def vacuum_interrupted(args: argparse.Namespace) -> int:
        raise KeyboardInterrupt

    monkeypatch.setattr(prune, "run", vacuum_interrupted)
    assert gridshare(["prune-chain", "--vacuum"]) == 130
    assert capsys.readouterr().err == "gridshare prune-chain: interrupted\n"


def test_the_report_shows_percentages_coins_and_no_none(tmp_path: Path) -> None:
    (tmp_path / "two.toml").write_text(TWO_HOUSES)  # house 1 has no PV; starts full (soc 1)
    result = _simulate(tmp_path, "--scenario", "two.toml", "--step-s", "60", "--poll-s", "300",
                       "--out", "out")  # fmt: skip
    assert result.returncode == 0, result.stderr
    html = (tmp_path / "out" / "report.html").read_text()
    assert "None" not in html
    assert "<td>— (no PV)</td>" in html  # house 1's self-consumption
    assert "% of the possible gain" in html or "no gain over no trading" in html
    assert "<th>bill (coins)</th>" in html and "paid to sellers (coins)" in html
    summary = json.loads((tmp_path / "out" / "summary.json").read_text())
    assert set(summary["deliveries"]) <= {"settled", "expired"}  # as docs/simulation.md says
    with (tmp_path / "out" / "trades.csv").open() as trades:  # the lowest and highest paid
        paid = sorted(int(row["price_per_wh"]) / 10**15 for row in csv.DictReader(trades))
    prices = summary["prices_per_kwh"]
    assert paid and (prices["min"], prices["max"]) == (paid[0], paid[-1])
    # stderr is a pipe here: progress is a line every tenth of the run, not one per interval
    progress = [line for line in result.stderr.splitlines() if "/96 intervals" in line]
    assert 5 <= len(progress) <= 11 and progress[-1].startswith("96/96 intervals")
    assert "\r" not in result.stderr
