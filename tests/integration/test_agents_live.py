"""Auto-trading agents on a live chain with simulated houses.

Besides one order a resident places by hand, nobody trades: the agents of the two fullest
batteries sell, the agents of the two emptiest buy, reading their houses from the simulator
(`GET /sim/house`) and trading through TradingService; the engine's matcher pairs them and the
orchestrator delivers the energy between the meters and settles it. Switched to rules that
hold, the agents cancel what is left of their orders, and leave alone the one the resident
placed by hand.
"""

from __future__ import annotations

import time
from pathlib import Path

from gridshare.config import Settings
from gridshare.domain import DeliveryStatus, Side, Wei
from gridshare.market import AgentRules
from gridshare.runtime import build_runtime
from gridshare.services.agents import StaticKeys
from gridshare.services.engine import EngineSettings, MarketEngine
from gridshare.storage.households import HouseholdRepository
from tests.integration.engine.support import (
    market_events,
    register_community,
    sim_in_thread,
    sim_settings,
)

HOUSES = 6
PRICE = Wei(10**12)
SELL_MARGIN_PERMILLE = 5  # sellers offer what is above SoC - 0.5 %
BUY_MARGIN_PERMILLE = 2  # buyers bid for what is missing to SoC + 0.2 %


def test_agents_place_orders_that_are_matched_delivered_and_settled(tmp_path: Path) -> None:
    with sim_in_thread(sim_settings(HOUSES, speed=40)) as sim:
        runtime = build_runtime(Settings(data_dir=tmp_path, market_engine=False))
        engine: MarketEngine | None = None
        try:
            market = runtime.market
            accounts = register_community(runtime, sim.entries)
            socs = {h: round(sim.house(h).soc * 1000) for h in range(1, HOUSES + 1)}
            ranked = sorted(socs, key=lambda h: -socs[h])
            sellers, buyers = ranked[:2], ranked[-2:]
            households = HouseholdRepository(runtime.database)
            for h in sellers:
                rules = AgentRules(socs[h] - SELL_MARGIN_PERMILLE, PRICE, 0, PRICE)
                assert households.set_auto_trading(h, rules)
            for h in buyers:
                rules = AgentRules(1000, PRICE, socs[h] + BUY_MARGIN_PERMILLE, PRICE)
                assert households.set_auto_trading(h, rules)
            engine = MarketEngine(
                market, runtime.operator, runtime.database,
                EngineSettings(tick_s=0.1, agent_interval_s=5), keys=StaticKeys(accounts),
            )  # fmt: skip
            # the resident of a selling house also offers by hand, at their own price: the
            # agent trades beside that order and never counts or cancels it
            by_hand = engine.trading.place_order(
                accounts[sellers[0] - 1], Side.SELL, 7, 3 * PRICE, 3600
            )
            engine.start()
            deadline = time.monotonic() + 45
            while time.monotonic() < deadline and not market_events(market, "DeliverySettled"):
                time.sleep(0.5)
            # switched to "hold" (trade nothing), the agents cancel what is left of their orders
            hold = AgentRules(1000, PRICE, 0, PRICE)
            for h in sellers + buyers:
                households.set_auto_trading(h, hold)
            def others_open() -> list[int]:
                return [o.id for o in engine.trading.open_orders() if o.id != by_hand.id]

            while time.monotonic() < deadline and others_open():
                time.sleep(0.5)
            engine.stop()

            agent_accounts = {accounts[h - 1].address for h in sellers + buyers}
            placed = market_events(market, "OrderPlaced")
            assert placed, f"the agents placed no order: {engine.agents.skipped}"
            assert {e["args"]["owner"] for e in placed} <= agent_accounts
            sides = {(e["args"]["owner"], e["args"]["is_buy"]) for e in placed}
            assert {accounts[h - 1].address for h in sellers} & {o for o, buy in sides if not buy}
            assert {accounts[h - 1].address for h in buyers} & {o for o, buy in sides if buy}

            assert [o.id for o in engine.trading.open_orders()] == [by_hand.id]
            cancelled = market_events(market, "OrderCancelled")
            assert cancelled, "no agent cancelled the rest of an order"
            assert by_hand.id not in {e["args"]["order_id"] for e in cancelled}
            assert {e["args"]["owner"] for e in cancelled} <= agent_accounts

            created = market_events(market, "DeliveryCreated")
            assert created, "the matcher paired no agent orders"
            settled = market_events(market, "DeliverySettled")
            assert settled, engine.deliveries.count_by_phase()
            d = market.delivery(int(settled[0]["args"]["delivery_id"]))
            assert d is not None and d.status is DeliveryStatus.SETTLED
            assert str(d.seller) in {accounts[h - 1].address for h in sellers}
            assert str(d.buyer) in {accounts[h - 1].address for h in buyers}
            assert d.delivered_wh > 0  # energy really moved between the simulated houses
            paid = settled[0]["args"]["paid"]
            assert paid + settled[0]["args"]["refunded"] == d.escrow
        finally:
            if engine is not None:
                engine.stop()
            runtime.close()
