"""`gridshare simulate --houses 10 --days 1` runs end to end; its report agrees with the chain."""

from __future__ import annotations

import csv
import json
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
from web3 import Web3

from gridshare.chain import compile_contract
from gridshare.chain.embedded import EmbeddedProvider, RpcDispatcher, open_embedded_chain
from gridshare.simulation.accounting import BALANCE_TERMS
from gridshare.simulation.world import CHAIN_ID

Run = tuple[Path, Path, subprocess.CompletedProcess[str]]
# One worker runs these tests, and `run` is session-scoped: xdist may tear a module's fixtures
# down between its tests (it did: the one-day simulation ran twice, ~60 s each).
pytestmark = pytest.mark.xdist_group("simulate-ten-houses")


@pytest.fixture(scope="session")
def run(tmp_path_factory: pytest.TempPathFactory) -> Run:
    base = tmp_path_factory.mktemp("simulate")
    out, data = base / "out", base / "data"
    result = subprocess.run(
        [sys.executable, "-m", "gridshare.cli", "simulate", "--houses", "10", "--days", "1",
         "--out", str(out), "--data", str(data)],
        capture_output=True, text=True, timeout=480,  # ~60 s on an idle machine
    )
    return out, data, result


def _summary(out: Path) -> dict[str, Any]:
    data: dict[str, Any] = json.loads((out / "summary.json").read_text())
    return data


def test_simulate_ten_houses_one_day_writes_the_report(
    run: Run,
) -> None:
    out, _, result = run
    assert result.returncode == 0, result.stderr
    assert "96/96" in result.stderr  # the progress bar reached the end
    html = (out / "report.html").read_text()
    assert html.count("<svg") >= 8 and "LP optimum" in html and "http" not in html.split(
        "<body>")[1].replace('http://www.w3.org/2000/svg', "")
    for plot in ("Community generation and load", "Community state of charge",
                 "Energy delivered per interval", "Clearing price", "Bill per house",
                 "Self-sufficiency and self-consumption per house", "Unserved load per house",
                 "Welfare"):
        assert plot in html, plot
    summary = _summary(out)
    expired = summary["deliveries"].get("expired", {"count": 0})["count"]
    assert f"(buyer refunded in full):\n{expired} (" in html
    assert summary["config"]["houses"] == 10 and summary["scenario"] == "Neelum valley, 10 houses"
    assert summary["totals"]["trades"] > 0
    assert summary["welfare"]["optimum_kwh"] >= summary["welfare"]["trading_kwh"]
    with (out / "trades.csv").open() as f:
        assert len(list(csv.DictReader(f))) == summary["totals"]["trades"]


def test_report_totals_equal_the_chains_settlement_events(
    run: Run,
) -> None:
    out, data, result = run
    assert result.returncode == 0, result.stderr
    summary = _summary(out)
    chain = open_embedded_chain(data / "chain", CHAIN_ID)
    try:
        w3 = Web3(EmbeddedProvider(RpcDispatcher(chain)))
        contract = w3.eth.contract(
            address=Web3.to_checksum_address(summary["chain"]["market_address"]),
            abi=list(compile_contract().abi),
        )
        logs = contract.events.DeliverySettled().get_logs(from_block=0)
        expired = contract.events.DeliveryExpired().get_logs(from_block=0)
        made = int(contract.functions.delivery_count().call())
        start = int(w3.eth.get_block(0)["timestamp"])
        head = int(w3.eth.get_block("latest")["timestamp"])
    finally:
        chain.close()
    assert len(logs) == summary["totals"]["trades"]
    assert sum(e["args"]["delivered_wh"] for e in logs) == summary["totals"]["delivered_wh"]
    assert sum(e["args"]["paid"] for e in logs) == summary["totals"]["paid_wei"]
    assert sum(e["args"]["refunded"] for e in logs) == summary["totals"]["refunded_wei"]
    # the server's delivery table accounts for every delivery the chain made
    phases = summary["deliveries"]
    assert phases["settled"]["count"] == len(logs)
    assert phases["settled"]["wh"] == summary["totals"]["traded_wh"]
    assert phases.get("expired", {"count": 0})["count"] == len(expired)
    assert sum(p["count"] for p in phases.values()) == made
    with (out / "trades.csv").open() as f:
        rows = list(csv.DictReader(f))
    assert sum(int(r["paid"]) for r in rows) == summary["totals"]["paid_wei"]
    # one clock: blocks carry simulated time, from the scenario's start through one day
    assert start == 1750446000  # 2025-06-21 00:00 Asia/Karachi
    assert 72_000 <= head - start <= 86_400 + 60


def test_energy_balance_holds_for_every_house_and_interval(
    run: Run,
) -> None:
    out, _, result = run
    assert result.returncode == 0, result.stderr
    with (out / "energy.csv").open() as f:
        rows = [r for r in csv.DictReader(f) if r["run"] == "trading"]
    assert len(rows) == 10 * 96
    for r in rows:
        v = {k: int(x) for k, x in r.items() if k != "run"}
        sources = v["pv_mwh"] + v["import_mwh"]
        uses = (v["load_mwh"] - v["unserved_mwh"] + v["battery_change_mwh"] + v["export_mwh"]
                + v["battery_loss_mwh"] + v["curtailed_mwh"])
        assert abs(sources - uses) <= BALANCE_TERMS, r
    totals = _summary(out)
    com = totals["community"]["trading"]
    assert com["import_mwh"] > 0
    # what left the exporters' meters arrived at the importers' or was lost in the lines
    assert abs(com["export_mwh"] - com["import_mwh"] - totals["totals"]["line_loss_mwh"]) <= 40


@pytest.mark.parametrize(
    ("poll_s", "rule"),
    [("0", "--poll-s: must be a multiple of --step-s"),
     ("15", "--poll-s: must be a multiple of --step-s")],
)
def test_bad_poll_seconds_are_refused_naming_the_rule(poll_s: str, rule: str) -> None:
    result = subprocess.run(
        [sys.executable, "-m", "gridshare.cli", "simulate", "--poll-s", poll_s, "--quiet"],
        capture_output=True, text=True, timeout=120,
    )  # fmt: skip
    assert result.returncode == 2
    assert rule in result.stderr and "Traceback" not in result.stderr
