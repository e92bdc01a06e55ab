"""House physics: battery limits, bus energy balance, PV and load profiles, community steps."""

from __future__ import annotations

from datetime import datetime, timedelta

import pytest

from gridshare.sim.battery import BatterySpec, new_battery
from gridshare.sim.bus import Connection, solve
from gridshare.sim.community import Community, Relay
from gridshare.sim.house import HouseSpec
from gridshare.sim.profiles import PvSpec, Site, load_profile, pv_profile
from gridshare.sim.scenarios.village import DEFAULT_START, village
from tests.unit.sim.helpers import flat


def test_battery_respects_power_limit_and_soc_ceiling() -> None:
    spec = BatterySpec(capacity_wh=1000, soc_max=0.9, max_charge_w=500, charge_efficiency=0.9)
    b = new_battery(spec, 0.5)
    b2, done = b.apply(2000, 3600)
    assert done == pytest.approx(400 / 0.9)  # room of 400 Wh limits, not the 500 W limit
    assert b2.soc == pytest.approx(0.9)
    _, done = b.apply(2000, 60)
    assert done == 500


def test_battery_never_discharges_below_soc_floor() -> None:
    spec = BatterySpec(capacity_wh=1000, soc_min=0.2, discharge_efficiency=0.8)
    b, done = new_battery(spec, 0.3).apply(-10_000, 3600)
    assert b.soc == pytest.approx(0.2)
    assert done == pytest.approx(-100 * 0.8)


def test_battery_spec_rejects_inverted_soc_limits() -> None:
    with pytest.raises(ValueError, match="soc_min"):
        BatterySpec(soc_min=0.9, soc_max=0.5)


def test_bus_buyers_receive_what_sellers_send_minus_line_losses() -> None:
    result = solve([
        Connection(1, True, 50.0, 0.1, 800.0),
        Connection(2, True, 49.0, 0.05, 300.0),
        Connection(3, False, 48.0, 0.08, 500.0),
        Connection(4, False, 47.0, 0.02, 200.0),
    ])
    flows = {f.house_id: f for f in result.flows}
    sent = -(flows[1].power_w + flows[2].power_w)
    received = flows[3].power_w + flows[4].power_w
    assert received == pytest.approx(700.0)
    assert result.loss_w > 0
    assert sent == pytest.approx(received + result.loss_w)
    assert flows[3].current_a == pytest.approx(500 / 48)


def test_bus_carries_nothing_without_both_a_seller_and_a_buyer() -> None:
    only_buyer = solve([Connection(1, False, 48.0, 0.1, 500.0)])
    assert only_buyer.flows[0].power_w == 0 and only_buyer.loss_w == 0


def test_bus_scales_buyers_down_to_what_sellers_can_give() -> None:
    result = solve([Connection(1, True, 48.0, 0.0, 300.0), Connection(2, False, 48.0, 0.0, 900.0)])
    assert result.flows[1].power_w == pytest.approx(300.0)


def test_clear_sky_pv_is_zero_at_night_and_near_rated_at_noon() -> None:
    start = datetime(2025, 6, 21, 0, 0, tzinfo=DEFAULT_START.tzinfo)
    prof = pv_profile(PvSpec(kwp=1.0, tilt_deg=30, azimuth_deg=180), Site(), start, 1)
    assert prof.at(2 * 3600_000) == 0.0
    noon = max(prof.values)
    assert 600 < noon < 1100
    assert prof.values.index(noon) * 60 // 3600 in (11, 12, 13)


def test_load_profile_scales_to_annual_consumption() -> None:
    start = datetime(2025, 1, 1, 0, 0, tzinfo=DEFAULT_START.tzinfo)
    prof = load_profile(1200.0, start, 365, step_s=900)
    annual_kwh = sum(prof.values) * 0.25 / 1000
    assert annual_kwh == pytest.approx(1200.0, rel=0.01)
    evening, night = prof.at(19 * 3600_000), prof.at(4 * 3600_000)
    assert evening > night > 0


def test_community_step_conserves_energy_in_each_house() -> None:
    spec = HouseSpec(1, battery=BatterySpec(capacity_wh=1000, charge_efficiency=1.0,
                                            discharge_efficiency=1.0), initial_soc=0.5)
    c = Community([spec], DEFAULT_START, profiles={1: (flat(300.0), flat(100.0))})
    before = c.view(1).stored_wh
    for _ in range(36):
        c.step(100_000, {})
    view = c.view(1)
    assert view.stored_wh - before + view.curtailed_wh == pytest.approx(200 * 1.0)


def test_relays_route_energy_between_houses() -> None:
    c = Community(village(3), DEFAULT_START)
    for _ in range(600):
        c.step(100, {1: Relay(True, True), 3: Relay(True, False)})
    assert c.view(3).imported_wh > 0 and c.view(1).exported_wh > c.view(3).imported_wh
    assert c.view(2).imported_wh == 0 == c.view(2).exported_wh
    assert c.readings[3].current_a > 0 > c.readings[1].current_a


def test_village_scenario_is_declarative_and_deterministic() -> None:
    assert village(10, seed=3) == village(10, seed=3)
    assert [h.house_id for h in village(10)] == list(range(1, 11))
    assert timedelta(0) < DEFAULT_START.utcoffset() == timedelta(hours=5)  # type: ignore[operator]
