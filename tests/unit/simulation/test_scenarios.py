"""The default Neelum valley scenario and scenarios loaded from JSON/TOML files."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from gridshare.sim.scenarios import ScenarioFileError, load_scenario, neelum_valley


def test_neelum_valley_mixes_houses_with_and_without_pv() -> None:
    village = neelum_valley()
    assert village.name == "Neelum valley, 10 houses" and len(village.houses) == 10
    without = [h for h in village.houses if h.pv.kwp == 0]
    assert 0 < len(without) < 10
    assert neelum_valley(25, seed=3).houses[24].house_id == 25


def test_a_toml_scenario_loads_with_defaults(tmp_path: Path) -> None:
    path = tmp_path / "hill.toml"
    path.write_text(
        'name = "Hill"\nstart = "2025-01-01T00:00:00+05:00"\n'
        "[[houses]]\npv_kwp = 0\nbattery_kwh = 1.2\nannual_kwh = 500\n"
        "[[houses]]\npv_kwp = 2.5\nbattery_kwh = 4.8\nannual_kwh = 900\nload_shift_min = -30\n"
    )
    scenario = load_scenario(path)
    assert scenario.name == "Hill" and [h.house_id for h in scenario.houses] == [1, 2]
    assert scenario.houses[1].pv.kwp == 2.5 and scenario.houses[1].load_shift_min == -30
    assert scenario.houses[0].battery.capacity_wh == 1200.0


def test_a_json_scenario_with_a_bad_field_names_it(tmp_path: Path) -> None:
    path = tmp_path / "bad.json"
    path.write_text(json.dumps({"houses": [{"pv_kwp": 1}, {"pv_kwp": -2}]}))
    with pytest.raises(ScenarioFileError, match=r"houses\[2\]\.pv_kwp"):
        load_scenario(path)
    path.write_text(json.dumps({"houses": [{"panels": 3}]}))
    with pytest.raises(ScenarioFileError, match="unknown field"):
        load_scenario(path)


def test_the_example_in_docs_simulation_md_loads_as_it_says(tmp_path: Path) -> None:
    text = (Path(__file__).parents[3] / "docs" / "simulation.md").read_text(encoding="utf-8")
    example = text.split("```toml\n", 1)[1].split("```", 1)[0]
    path = tmp_path / "hill.toml"
    path.write_text(example, encoding="utf-8")
    scenario = load_scenario(path)
    assert (scenario.site.latitude, scenario.site.longitude) == (34.8, 74.2)
    assert scenario.site.tz == "Asia/Karachi"  # not given: the default
    assert [h.load_shift_min for h in scenario.houses] == [0, -30]
