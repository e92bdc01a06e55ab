"""Write a run's outputs: report.html (inline SVG), trades.csv, energy.csv, summary.json."""

from __future__ import annotations

import csv
import json
from dataclasses import asdict, fields
from datetime import datetime, timedelta
from html import escape
from pathlib import Path
from typing import Any

from gridshare.domain import format_coins
from gridshare.simulation.accounting import EnergyRow
from gridshare.simulation.driver import PER_KWH, SimulationResult
from gridshare.simulation.metrics import summary
from gridshare.simulation.settlements import SettledTrade
from gridshare.simulation.svg import bar_chart, line_chart


def write_outputs(result: SimulationResult, out: Path) -> dict[str, Any]:
    """Write every output file into `out`; returns the summary."""
    out.mkdir(parents=True, exist_ok=True)
    data = summary(result)
    (out / "summary.json").write_text(json.dumps(data, indent=2) + "\n")
    _csv(out / "trades.csv", [f.name for f in fields(SettledTrade)],
         [asdict(t) for t in result.trades])
    names = [f.name for f in fields(EnergyRow)]
    _csv(out / "energy.csv", ["run", *names],
         [{"run": "trading", **asdict(r)} for r in result.rows]
         + [{"run": "no_trading", **asdict(r)} for r in result.baseline_rows])
    (out / "report.html").write_text(_html(result, data))
    return data


def _csv(path: Path, header: list[str], rows: list[dict[str, Any]]) -> None:
    with path.open("w", newline="") as f:
        writer = csv.DictWriter(f, fieldnames=header)
        writer.writeheader()
        writer.writerows(rows)


def _per_interval(rows: list[EnergyRow], attr: str, n: int, scale: float) -> list[float]:
    totals = [0] * n
    for r in rows:
        totals[r.interval] += getattr(r, attr)
    return [v * scale for v in totals]


def _soc(rows: list[EnergyRow], n: int) -> list[float]:
    """Community state of charge (%) at the end of each interval."""
    stored, cap = [0] * n, [0] * n
    for r in rows:
        stored[r.interval] += r.stored_mwh
        cap[r.interval] += r.capacity_mwh
    return [100 * s / max(1, c) for s, c in zip(stored, cap, strict=True)]


NO_PV = "— (no PV)"
NO_LOAD = "— (no load)"


def _coins(wei: int) -> str:
    return format_coins(wei, 2)


def _share(ratio: float | None, undefined: str) -> str:
    """A ratio as a percentage; `undefined` (e.g. "— (no PV)") where it has no denominator."""
    return undefined if ratio is None else f"{100 * ratio:.1f} %"


def _gain(welfare: dict[str, Any]) -> str:
    share = welfare.get("share_of_possible_gain")
    if share is None:
        return "no gain over no trading was possible"
    return f"trading reached {_share(share, '')} of the possible gain"


def _percents(houses: list[dict[str, Any]], key: str) -> list[float]:
    """A ratio of every house in percent (0 where it is undefined: no load or no PV)."""
    return [100 * (h[key] or 0.0) for h in houses]


def _html(result: SimulationResult, s: dict[str, Any]) -> str:
    n = max((r.interval for r in result.rows), default=-1) + 1
    start: datetime = result.scenario.start
    labels = [(start + timedelta(seconds=k * result.config.interval_s)).strftime("%d %H:%M")
              for k in range(n)]
    kw = 3600 / result.config.interval_s / 1_000_000  # mWh per interval -> kW
    soc, soc_base = _soc(result.rows, n), _soc(result.baseline_rows, n)
    traded = [0.0] * n
    for t in result.trades:
        k = min(n - 1, max(0, (t.created_at - int(start.timestamp())) // result.config.interval_s))
        traded[k] += t.delivered_wh / 1000
    prices: list[float | None] = [None if p is None else p / PER_KWH for _, p, _ in result.clearing]
    houses = s["houses"]
    hl = [str(h["house_id"]) for h in houses]
    com, base, w = s["community"]["trading"], s["community"]["no_trading"], s["welfare"]
    charts = [
        line_chart("Community generation and load", "kW", labels, {
            "PV": _per_interval(result.rows, "pv_mwh", n, kw),
            "load": _per_interval(result.rows, "load_mwh", n, kw),
            "unserved": _per_interval(result.rows, "unserved_mwh", n, kw),
            "unserved, no trading": _per_interval(result.baseline_rows, "unserved_mwh", n, kw),
        }),
        line_chart("Community state of charge", "%", labels,
                   {"trading": soc, "no trading": soc_base}),
        bar_chart("Energy delivered per interval (by creation)", "kWh", labels,
                  {"delivered": traded}),
        line_chart("Clearing price (volume-weighted per interval)", "coins per kWh", labels,
                   {"price": prices}),
        bar_chart("Bill per house (negative: earned)", "coins", hl,
                  {"bill": [h["bill_wei"] / 1e18 for h in houses],
                   "savings vs no trading": [h["savings_wei"] / 1e18 for h in houses]}),
        bar_chart("Self-sufficiency and self-consumption per house", "%", hl, {
            "self-sufficiency, no trading": _percents(houses, "self_sufficiency_no_trading"),
            "self-sufficiency, trading": _percents(houses, "self_sufficiency"),
            "self-consumption, no trading": _percents(houses, "self_consumption_no_trading"),
            "self-consumption, trading": _percents(houses, "self_consumption")}),
        bar_chart("Unserved load per house", "kWh", hl, {
            "trading": [h["unserved_mwh"] / 1e6 for h in houses],
            "no trading": [h["unserved_no_trading_mwh"] / 1e6 for h in houses]}),
        bar_chart("Welfare (served load + stored energy value)", "kWh", ["welfare"], {
            "no trading": [w["no_trading_kwh"]], "trading": [w["trading_kwh"]],
            "LP optimum": [w["optimum_kwh"] or 0.0]}),
    ]
    rows_html = "".join(
        f"<tr><td>{h['house_id']}</td><td>{h['pv_kwp']}</td><td>{h['battery_kwh']}</td>"
        f"<td>{h['bought_wh']}</td><td>{h['sold_wh']}</td><td>{_coins(h['bill_wei'])}</td>"
        f"<td>{h['unserved_no_trading_mwh'] / 1e6:.2f}</td><td>{h['unserved_mwh'] / 1e6:.2f}</td>"
        f"<td>{_coins(h['savings_wei'])}</td><td>{_share(h['self_sufficiency'], NO_LOAD)}</td>"
        f"<td>{_share(h['self_consumption'], NO_PV)}</td></tr>"
        for h in houses
    )
    t = s["totals"]
    expired = s["deliveries"].get("expired", {"count": 0, "wh": 0})

    def kwh(mwh: int) -> str:
        return f"{mwh / 1e6:.2f} kWh"

    return f"""<!doctype html><html lang="en"><head><meta charset="utf-8">
<title>gridshare simulation: {escape(s['scenario'])}</title>
<style>body{{font-family:sans-serif;max-width:980px;margin:2em auto;color:#222}}
table{{border-collapse:collapse}}td,th{{border:1px solid #ccc;padding:3px 6px;text-align:right}}
svg{{display:block;margin:1em 0}}</style></head><body>
<h1>{escape(s['scenario'])}: {escape(s['config']['market'])} market,
{s['config']['days']} day(s)</h1>
<p>Start {escape(s['config']['start'])}, seed {s['config']['seed']}, physics step
{s['config']['step_s']} s, market interval {s['config']['interval_s']} s. Simulated in
{s['wall_s']} s ({s['speedup']}x real time). Contract {escape(s['chain']['market_address'])},
{s['chain']['blocks']} blocks, all on simulated time.</p>
<h2>Totals (from the chain's settlement events)</h2>
<table><tr><th>trades</th><th>traded</th><th>delivered (metered)</th>
<th>paid to sellers (coins)</th><th>refunded to buyers (coins)</th><th>line losses</th></tr>
<tr><td>{t['trades']}</td><td>{t['traded_wh']} Wh</td><td>{t['delivered_wh']} Wh</td>
<td>{_coins(t['paid_wei'])}</td><td>{_coins(t['refunded_wei'])}</td>
<td>{kwh(t['line_loss_mwh'])}</td></tr></table>
<p>Deliveries expired unstarted or unreported (buyer refunded in full):
{expired['count']} ({expired['wh']} Wh agreed).</p>
<h2>Community</h2>
<table><tr><th></th><th>PV</th><th>load</th><th>unserved</th><th>curtailed</th>
<th>self-sufficiency</th><th>self-consumption</th></tr>
<tr><th>no trading</th><td>{kwh(base['pv_mwh'])}</td><td>{kwh(base['load_mwh'])}</td>
<td>{kwh(base['unserved_mwh'])}</td><td>{kwh(base['curtailed_mwh'])}</td>
<td>{_share(base['self_sufficiency'], NO_LOAD)}</td>
<td>{_share(base['self_consumption'], NO_PV)}</td></tr>
<tr><th>trading</th><td>{kwh(com['pv_mwh'])}</td><td>{kwh(com['load_mwh'])}</td>
<td>{kwh(com['unserved_mwh'])}</td><td>{kwh(com['curtailed_mwh'])}</td>
<td>{_share(com['self_sufficiency'], NO_LOAD)}</td>
<td>{_share(com['self_consumption'], NO_PV)}</td></tr></table>
<p>Welfare (kWh of value): no trading {w['no_trading_kwh']}, trading {w['trading_kwh']},
LP optimum {w['optimum_kwh']} ({escape(str(w['optimum_status']))}); {_gain(w)}.</p>
{''.join(charts)}
<h2>Houses</h2>
<table><tr><th>house</th><th>PV kWp</th><th>battery kWh</th><th>bought Wh</th><th>sold Wh</th>
<th>bill (coins)</th><th>unserved kWh, no trading</th><th>unserved kWh, trading</th>
<th>savings (coins; VOLL {s['voll_per_kwh']} coins/kWh)</th><th>self-sufficiency</th>
<th>self-consumption</th></tr>{rows_html}</table>
<p>Savings = unserved energy avoided, valued at the value of lost load, minus the bill.
Self-sufficiency per house = share of its load met without imports; self-consumption =
share of its PV not curtailed. The LP optimum dispatches centrally with perfect foresight at
the market interval: an upper bound. Money is in coins (one coin = 10<sup>18</sup> wei on the
chain); "—" marks a ratio without a denominator: no PV, or no load.</p>
</body></html>
"""
