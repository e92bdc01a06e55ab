"""The operator stops a household trading (it moved away, a meter was stolen, it will not pay)
and lets it trade again. Stopped, it keeps its balances and login and may cancel its orders;
its orders leave the board and nobody can take them; it can place none. The real app, chain
and database."""

from __future__ import annotations

import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from gridshare.config import Settings
from gridshare.domain import Wei
from gridshare.market import AgentRules
from gridshare.runtime import build_runtime
from gridshare.services.agents import StaticKeys
from gridshare.services.engine import EngineSettings, MarketEngine
from gridshare.services.households import HouseholdService
from gridshare.storage.households import HouseholdRepository
from tests.integration.engine.support import register_community, unmetered
from tests.integration.web_support import (
    OPERATOR_PASSWORD,
    Resident,
    log_in,
    offer,
    register_residents,
    web_app,
)


@pytest.fixture
def world() -> Iterator[dict[str, Any]]:
    with web_app(market_engine=False) as (runtime, _settings, app):
        operator, op_csrf = log_in(app, "operator", OPERATOR_PASSWORD)
        residents = register_residents(app, operator, op_csrf, ("amina", "bilal"), "55" * 32)
        yield {"app": app, "runtime": runtime, "operator": operator,
               "op": {"X-CSRF-Token": op_csrf}, **residents}


def board(resident: Resident) -> set[int]:
    return {o["id"] for o in resident.client.get("/api/v1/orders").json()}


def test_a_stopped_household_leaves_the_board_keeps_its_coins_and_trades_again_later(
    world: dict[str, Any],
) -> None:
    amina, bilal = world["amina"], world["bilal"]
    operator, op = world["operator"], world["op"]
    market = world["runtime"].market
    first, second = offer(world), offer(world)
    before = market.balances(amina.address)

    stopped = operator.put("/api/v1/households/1/active", json={"active": False}, headers=op)
    assert stopped.status_code == 200, stopped.text
    assert stopped.json()["active"] is False
    assert market.household(amina.address).active is False
    assert not {first, second} & board(bilal)  # gone from the board
    take = bilal.client.post(f"/api/v1/orders/{first}/take", json={"amount_wh": 1},
                             headers={"X-CSRF-Token": bilal.csrf})
    assert take.status_code in (400, 409) and take.json()["error"]["code"] == "inactive_household"
    place = amina.client.post("/api/v1/orders", headers={"X-CSRF-Token": amina.csrf},
                              json={"side": "sell", "amount_wh": 5, "price_per_wh": 10**15})
    assert place.json()["error"]["code"] == "inactive_household", place.text
    assert market.balances(amina.address) == before  # her coins stay hers
    mine = amina.client.get("/market").text
    assert f'data-order="{second}"' in mine  # her own orders, to cancel
    cancelled = amina.client.delete(f"/api/v1/orders/{second}",
                                    headers={"X-CSRF-Token": amina.csrf})
    assert cancelled.status_code == 204, cancelled.text

    nonce = world["runtime"].chain.w3.eth.get_transaction_count(
        world["runtime"].operator.address)
    again = operator.put("/api/v1/households/1/active", json={"active": False}, headers=op)
    assert again.status_code == 200 and again.json()["active"] is False
    assert world["runtime"].chain.w3.eth.get_transaction_count(
        world["runtime"].operator.address) == nonce  # already stopped: nothing sent

    listed = {h["house_id"]: h["active"] for h in operator.get("/api/v1/households").json()}
    assert listed == {1: False, 2: True}
    resumed = operator.put("/api/v1/households/1/active", json={"active": True}, headers=op)
    assert resumed.status_code == 200 and resumed.json()["active"] is True
    assert market.household(amina.address).house_id == 1  # the same house again
    assert first in board(bilal)
    taken = bilal.client.post(f"/api/v1/orders/{first}/take", json={"amount_wh": 1},
                              headers={"X-CSRF-Token": bilal.csrf})
    assert taken.status_code == 201, taken.text


def test_the_operator_page_stops_and_lets_a_household_trade(world: dict[str, Any]) -> None:
    operator = world["operator"]
    csrf = world["op"]["X-CSRF-Token"]
    page = operator.get("/operator").text
    assert 'action="/operator/households/2/active"' in page and "Stop trading" in page
    sent = operator.post("/operator/households/2/active", follow_redirects=False,
                         data={"active": "false", "csrf_token": csrf})
    assert (sent.status_code, sent.headers["location"]) == (303, "/operator")
    page = operator.get("/operator").text
    assert "House 2 is stopped" in page
    row = page.split('<tr data-house="2">', 1)[1].split("</tr>", 1)[0]
    assert "stopped" in row and "Let it trade" in row
    assert world["runtime"].market.household(world["bilal"].address).active is False
    missing = operator.post("/operator/households/99/active", follow_redirects=False,
                            data={"active": "false", "csrf_token": csrf})
    assert missing.status_code == 303
    assert "There is no house 99." in operator.get("/operator").text


def test_a_stopped_households_agent_does_not_try_to_trade(tmp_path: Path) -> None:
    """Its agent would place an order every round, each refused ("deactivated") and logged."""
    runtime = build_runtime(Settings(data_dir=tmp_path, market_engine=False))
    try:
        (account,) = register_community(runtime, unmetered(1))
        repository = HouseholdRepository(runtime.database)
        assert repository.set_auto_trading(1, AgentRules(0, Wei(10**12), 0, Wei(10**12)))
        engine = MarketEngine(runtime.market, runtime.operator, runtime.database,
                              EngineSettings(), keys=StaticKeys([account]))  # fmt: skip
        service = HouseholdService(runtime.market, runtime.operator, repository)
        record = repository.get(1)
        assert record is not None and service.set_active(record, False)
        house = repository.get(1)
        assert house is not None
        orders = runtime.market.order_count()
        assert engine.agents.run_house(house, int(time.time()), {}) == 0
        assert engine.agents.skipped[1] == "stopped by the operator"
        assert runtime.market.order_count() == orders
    finally:
        runtime.close()
