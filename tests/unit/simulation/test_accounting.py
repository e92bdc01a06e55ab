"""The ledger's rows balance for houses trading over the bus (and it detects an imbalance)."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime

from gridshare.sim.community import Community, Relay
from gridshare.sim.house import HouseSpec
from gridshare.sim.profiles import Profile
from gridshare.simulation.accounting import BALANCE_TERMS, EnergyLedger

START = datetime(2025, 6, 21, tzinfo=UTC)


def _community() -> Community:
    flat = {
        1: (Profile(START, 60, (900.0,) * 60), Profile(START, 60, (100.0,) * 60)),
        2: (Profile(START, 60, (0.0,) * 60), Profile(START, 60, (400.0,) * 60)),
    }
    return Community([HouseSpec(1, initial_soc=0.9), HouseSpec(2, initial_soc=0.3)], START,
                     profiles=flat)


def test_energy_balances_per_house_and_interval_while_trading() -> None:
    community = _community()
    ledger = EnergyLedger(community)
    relays = {1: Relay(True, True), 2: Relay(True, False)}
    rows = []
    for k in range(4):
        for _ in range(90):
            community.step(10_000, relays)
            ledger.after_step(10_000)
        rows += ledger.close_interval(k)
    assert sum(r.export_mwh for r in rows if r.house_id == 1) > 0
    assert all(abs(r.residual_mwh) <= BALANCE_TERMS for r in rows)
    lost = sum(ledger.line_loss_mwh)
    moved = sum(r.export_mwh - r.import_mwh for r in rows)
    assert abs(moved - lost) <= 2 * len(rows)


def test_leaving_out_battery_losses_breaks_the_balance() -> None:
    community = _community()
    ledger = EnergyLedger(community)
    for _ in range(90):
        community.step(10_000, {})
        ledger.after_step(10_000)
    row = ledger.close_interval(0)[0]  # house 1 charges its battery from PV
    assert abs(row.residual_mwh) <= BALANCE_TERMS
    assert row.battery_loss_mwh > BALANCE_TERMS
    assert abs(replace(row, battery_loss_mwh=0).residual_mwh) > BALANCE_TERMS
