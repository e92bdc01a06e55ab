"""The operator page's "Meters the server cannot use" says what to check for each meter, in
the operator's words and language, with the engine's own words kept under "What the server
saw" and no meter key on the page.

The table used to show only the engine's English ("delivery 1: not started yet: meter answered
401: sig: ..."), on the Urdu page too. A real simulated meter on loopback (the firmware's code)
flashed with another key than the one registered, the real app, chain, database and engine:
a trade between its house and a healthy one starts a delivery the meter refuses.
"""

from __future__ import annotations

import html
import re
import time
from pathlib import Path

from fastapi.testclient import TestClient

from tests.integration.engine.support import sim_in_thread, sim_settings
from tests.integration.web_support import (
    OPERATOR_PASSWORD,
    PASSWORD,
    log_in,
    register,
    trade,
    web_app,
)

WRONG_KEY = "5a" * 32


def trouble_row(operator: TestClient, meter_id: int, timeout_s: float = 30) -> str:
    """Meter `meter_id`'s row of the troubles table, once the engine has listed it."""
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        row = re.search(rf'<tr data-meter="{meter_id}">(.*?)</tr>', operator.get("/operator").text,
                        re.S)
        if row is not None:
            return row.group(1)
        time.sleep(0.3)
    raise AssertionError(f"meter {meter_id} was never listed as troubled")


def test_a_meter_refusing_the_servers_key_is_listed_with_what_to_check(tmp_path: Path) -> None:
    with sim_in_thread(sim_settings(2, speed=1.0)) as sim, \
            web_app(tmp_path / "server") as (_runtime, _settings, app):
        seller_meter, buyer_meter = sim.entries
        operator, csrf = log_in(app, "operator", OPERATOR_PASSWORD)
        register(operator, csrf, seller_meter.house_id, "amina", seller_meter.url,
                 seller_meter.key.hex)
        register(operator, csrf, buyer_meter.house_id, "bilal", buyer_meter.url, WRONG_KEY)
        trade(log_in(app, "amina", PASSWORD), log_in(app, "bilal", PASSWORD))  # for the meters

        row = html.unescape(trouble_row(operator, buyer_meter.meter_id))
        house = buyer_meter.house_id
        said = re.search(r'<span class="said">(.*?)</span><details><summary>What the server'
                         r" saw</summary><code>(.*?)</code></details>", row)
        assert said is not None, row
        assert said.group(1) == (
            f"House {house}'s meter answers but refuses the server's key: check the meter key"
            " you typed against the one the meter was flashed with.")
        assert re.fullmatch(r"delivery \d+: .*meter answered 40[13]: .+", said.group(2)), said
        operator.cookies.set("gs_lang", "ur")
        urdu = html.unescape(trouble_row(operator, buyer_meter.meter_id))
        assert (f'<span class="said">گھر {house} کا میٹر جواب دیتا ہے مگر سرور کی کلید قبول'
                " نہیں کرتا: جو میٹر کلید آپ نے لکھی اسے اس کلید سے ملائیں جس کے ساتھ میٹر فلیش"
                " کیا گیا تھا۔</span><details><summary>سرور نے کیا دیکھا</summary>") in urdu
        page = operator.get("/operator").text.lower()
        assert WRONG_KEY not in page and buyer_meter.key.hex.lower() not in page  # no secret
        assert seller_meter.key.hex.lower() not in page
