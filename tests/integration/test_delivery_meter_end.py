"""The seller's meter has a sensor fault mid-delivery: it stops the delivery and opens its
relay, the buyer's meter waits with nothing arriving until its deadline, and the delivery
settles short with the meters agreeing (no flag). My account used to say only "The delivery
ended before all of it arrived"; now the buyer and the seller read the true cause, kept from
each meter's final report. Real simulated meters (the firmware over HTTP), the real app,
engine, chain and database."""

from __future__ import annotations

import re
from pathlib import Path

from markupsafe import escape

from gridshare.domain import DeliveryStatus
from gridshare.services.engine import MarketEngine
from gridshare.storage.deliveries import Phase
from tests.integration.engine.support import sim_in_thread, sim_settings, wait_until
from tests.integration.web_support import OPERATOR_PASSWORD, PASSWORD, log_in, web_app

SPEED = 5.0
WINDOW_S = 20  # the delivery's deadline: long enough for energy to flow before the fault
AMOUNT_WH = 200  # more than arrives before the deadline: it can only end short
BUYER_READS = ("The seller's meter had a sensor fault and stopped. You pay only for what"
               " arrived.")
SELLER_READS = "Your meter had a sensor fault and stopped. You are paid only for what arrived."


def test_a_delivery_a_sellers_meter_ended_on_a_sensor_fault_says_so_on_my_account(
    tmp_path: Path,
) -> None:
    with (
        sim_in_thread(sim_settings(2, SPEED)) as sim,
        web_app(tmp_path, market_engine=False) as (runtime, _settings, app),
    ):
        runtime.market.set_timing(runtime.operator, WINDOW_S, 10)
        operator, op_csrf = log_in(app, "operator", OPERATOR_PASSWORD)
        buyer_house, seller_house = sorted((1, 2), key=lambda h: sim.house(h).soc)
        names = {seller_house: "amina", buyer_house: "bilal"}
        for entry in sim.entries:
            made = operator.post("/api/v1/households", headers={"X-CSRF-Token": op_csrf}, json={
                "name": f"House {entry.house_id}", "username": names[entry.house_id],
                "password": PASSWORD, "house_id": entry.house_id, "meter_id": entry.meter_id,
                "meter_url": entry.url, "meter_key": entry.key.key.hex(), "top_up_coins": 1000,
            })  # fmt: skip
            assert made.status_code == 201, made.text
        amina, a_csrf = log_in(app, "amina", PASSWORD)
        bilal, b_csrf = log_in(app, "bilal", PASSWORD)
        placed = amina.post("/api/v1/orders", headers={"X-CSRF-Token": a_csrf},
                            json={"side": "sell", "amount_wh": AMOUNT_WH, "price_per_wh": 1000})
        taken = bilal.post(f"/api/v1/orders/{placed.json()['id']}/take",
                           headers={"X-CSRF-Token": b_csrf}, json={"amount_wh": AMOUNT_WH})
        assert taken.status_code == 201, taken.text
        delivery_id = int(taken.json()["id"])

        engine: MarketEngine = app.state.market_engine  # installed, not running: run it here
        engine.start()
        try:
            wait_until(lambda: _buyer_mwh(engine, delivery_id) >= 1500, 20)
            sim.meters[seller_house - 1].hardware.fault = "voltage"  # its ADC saturates
            wait_until(lambda: _settled(engine, delivery_id), 60)
        finally:
            engine.stop()

        record = engine.delivery(delivery_id)
        on_chain = runtime.market.delivery(delivery_id)
        assert record is not None and on_chain is not None
        assert on_chain.status is DeliveryStatus.SETTLED
        assert 1 <= on_chain.delivered_wh < AMOUNT_WH  # paid for part of it
        assert record.flag is None, record  # the meters agreed: nothing for the operator
        assert (record.buyer_end, record.seller_end) == ("deadline", "sensor_fault"), record

        bought, sold = bilal.get("/account").text, amina.get("/account").text
        reasons = {who: {d["id"]: d["reason"] for d in client.get("/api/v1/me/deliveries").json()}
                   for who, client in (("bilal", bilal), ("amina", amina))}
    for page, text in ((bought, BUYER_READS), (sold, SELLER_READS)):
        row = _rows(page)[delivery_id]
        assert f'<small class="reason muted">{escape(text)}</small>' in row, row
    assert reasons["bilal"][delivery_id] == {"code": "seller_sensor_fault", "text": BUYER_READS}
    assert reasons["amina"][delivery_id] == {"code": "seller_sensor_fault", "text": SELLER_READS}


def _buyer_mwh(engine: MarketEngine, delivery_id: int) -> int:
    record = engine.delivery(delivery_id)
    return 0 if record is None else record.buyer_mwh or 0


def _settled(engine: MarketEngine, delivery_id: int) -> bool:
    record = engine.delivery(delivery_id)
    return record is not None and record.phase is Phase.SETTLED


def _rows(page: str) -> dict[int, str]:
    return {int(i): row for i, row in re.findall(
        r'<tr class="delivery" data-delivery="(\d+)"(.*?)</tr>', page, re.S)}
