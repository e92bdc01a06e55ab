"""What a run means: community and per-house figures, bills, welfare against the optimum.

Energy in mWh and money in wei stay integers; ratios and the LP bound are floats.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np

from gridshare.simulation.accounting import EnergyRow
from gridshare.simulation.driver import PER_KWH, SimulationResult
from gridshare.simulation.optimum import solve_optimum, welfare_wh

VOLL_PER_KWH = 100  # value of lost load: what a household pays for backup (kerosene, diesel)
LP_MAX_HOUSES = 200


def _ratio(a: int, b: int) -> float | None:
    return None if b == 0 else round(a / b, 4)


def energy_totals(rows: Sequence[EnergyRow]) -> dict[str, Any]:
    """Sums over houses and intervals, with self-sufficiency and self-consumption."""
    t: dict[str, Any] = {
        "pv_mwh": sum(r.pv_mwh for r in rows),
        "load_mwh": sum(r.load_mwh for r in rows),
        "unserved_mwh": sum(r.unserved_mwh for r in rows),
        "curtailed_mwh": sum(r.curtailed_mwh for r in rows),
        "import_mwh": sum(r.import_mwh for r in rows),
        "export_mwh": sum(r.export_mwh for r in rows),
        "battery_change_mwh": sum(r.battery_change_mwh for r in rows),
        "battery_loss_mwh": sum(r.battery_loss_mwh for r in rows),
    }
    t["served_mwh"] = t["load_mwh"] - t["unserved_mwh"]
    t["self_sufficiency"] = _ratio(t["served_mwh"], t["load_mwh"])
    t["self_consumption"] = _ratio(t["pv_mwh"] - t["curtailed_mwh"], t["pv_mwh"])
    return t


def _welfare(result: SimulationResult, rows: Sequence[EnergyRow]) -> float:
    eff = {h.house_id: h.battery.discharge_efficiency for h in result.scenario.houses}
    total = 0.0
    for hid in eff:
        mine = [r for r in rows if r.house_id == hid]
        served = sum(r.served_mwh for r in mine) / 1000
        change = sum(r.battery_change_mwh for r in mine) / 1000
        total += welfare_wh(served, change, eff[hid])
    return total


def houses(result: SimulationResult) -> list[dict[str, Any]]:
    """Per house: energy with and without trading, bill, savings against no trading."""
    voll = VOLL_PER_KWH * PER_KWH  # wei per Wh
    out: list[dict[str, Any]] = []
    for h in result.scenario.houses:
        hid = h.house_id
        mine = [r for r in result.rows if r.house_id == hid]
        base = [r for r in result.baseline_rows if r.house_id == hid]
        paid = sum(t.paid for t in result.trades if t.buyer_house == hid)
        received = sum(t.paid for t in result.trades if t.seller_house == hid)
        bought = sum(t.delivered_wh for t in result.trades if t.buyer_house == hid)
        sold = sum(t.delivered_wh for t in result.trades if t.seller_house == hid)
        uns = sum(r.unserved_mwh for r in mine)
        uns_base = sum(r.unserved_mwh for r in base)
        load = sum(r.load_mwh for r in mine)
        pv = sum(r.pv_mwh for r in mine)
        bill = paid - received
        # avoided unserved energy valued at VOLL (mWh * wei/Wh / 1000 = wei), minus the bill
        savings = (uns_base - uns) * voll // 1000 - bill
        out.append({
            "house_id": hid, "pv_kwp": h.pv.kwp, "battery_kwh": h.battery.capacity_wh / 1000,
            "annual_kwh": h.annual_kwh, "pv_mwh": pv, "load_mwh": load,
            "bought_wh": bought, "sold_wh": sold, "paid_wei": paid, "received_wei": received,
            "bill_wei": bill, "unserved_mwh": uns, "unserved_no_trading_mwh": uns_base,
            "savings_wei": savings,
            "self_sufficiency": _ratio(max(0, load - uns - sum(r.import_mwh for r in mine)), load),
            "self_consumption": _ratio(pv - sum(r.curtailed_mwh for r in mine), pv),
            "self_sufficiency_no_trading": _ratio(max(0, load - uns_base), load),
            "self_consumption_no_trading": _ratio(pv - sum(r.curtailed_mwh for r in base), pv),
        })
    return out


def welfare(result: SimulationResult) -> dict[str, Any]:
    """Welfare (kWh of value) without trading, with trading, and the LP optimum."""
    out: dict[str, Any] = {
        "measure": "served load + discharge efficiency x battery energy change (kWh)",
        "no_trading_kwh": round(_welfare(result, result.baseline_rows) / 1000, 3),
        "trading_kwh": round(_welfare(result, result.rows) / 1000, 3),
        "optimum_kwh": None,
        "optimum_status": f"skipped: more than {LP_MAX_HOUSES} houses",
    }
    specs = list(result.scenario.houses)
    if len(specs) <= LP_MAX_HOUSES:
        ids = [s.house_id for s in specs]
        n_int = max(r.interval for r in result.rows) + 1
        pv = np.zeros((len(ids), n_int))
        load = np.zeros((len(ids), n_int))
        pos = {hid: i for i, hid in enumerate(ids)}
        for r in result.rows:
            pv[pos[r.house_id], r.interval] = r.pv_mwh / 1000
            load[pos[r.house_id], r.interval] = r.load_mwh / 1000
        opt = solve_optimum(specs, pv, load, result.config.interval_s)
        out["optimum_kwh"] = round(opt.welfare_wh / 1000, 3)
        out["optimum_status"] = opt.status
        out["optimum_traded_kwh"] = round(opt.traded_wh / 1000, 3)
        gain = out["optimum_kwh"] - out["no_trading_kwh"]
        out["share_of_possible_gain"] = (
            None if gain <= 0 else round((out["trading_kwh"] - out["no_trading_kwh"]) / gain, 4)
        )
    return out


def summary(result: SimulationResult) -> dict[str, Any]:
    """The whole summary.json."""
    trades = result.trades
    prices = [t.price_per_wh for t in trades]  # what was paid, not per-interval averages
    sim_s = result.config.days * 86_400
    return {
        "scenario": result.scenario.name,
        "config": {
            "houses": len(result.scenario.houses), "days": result.config.days,
            "market": result.config.market, "seed": result.config.seed,
            "step_s": result.config.step_s, "interval_s": result.config.interval_s,
            "start": result.scenario.start.isoformat(),
        },
        "totals": {
            "trades": len(trades),
            "traded_wh": sum(t.amount_wh for t in trades),
            "delivered_wh": sum(t.delivered_wh for t in trades),
            "paid_wei": sum(t.paid for t in trades),
            "refunded_wei": sum(t.refunded for t in trades),
            "orders_placed": result.orders_placed,
            "line_loss_mwh": sum(result.line_loss_mwh),
        },
        # every delivery the market made, by where it ended: settled ones are the trades
        # above; expired ones were refunded in full, never started or never reported
        "deliveries": result.deliveries,
        "prices_per_kwh": {
            "min": min(prices) / PER_KWH if prices else None,
            "max": max(prices) / PER_KWH if prices else None,
            "volume_weighted": (
                sum(t.price_per_wh * t.amount_wh for t in trades)
                / max(1, sum(t.amount_wh for t in trades)) / PER_KWH if trades else None
            ),
        },
        "community": {
            "trading": energy_totals(result.rows),
            "no_trading": energy_totals(result.baseline_rows),
        },
        "welfare": welfare(result),
        "houses": houses(result),
        "chain": {
            "market_address": result.market_address, "blocks": result.blocks,
            "data_dir": None if result.chain_dir is None else str(result.chain_dir),
            "max_block_time_lead_s": result.max_chain_lead_s,
        },
        "voll_per_kwh": VOLL_PER_KWH,
        "wall_s": round(result.wall_s, 2),
        "speedup": round(sim_s / result.wall_s, 1) if result.wall_s else None,
    }
