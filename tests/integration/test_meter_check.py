"""The operator hears at once what a household's meter says to the address and key just typed.

A mistyped (but well-formed) meter key used to be accepted without a word: the operator found
out at the house's first trade, and /community called the meter "unreachable". Now the page
after registering, and the one after "Change a meter", asks the meter once and says whether
it answers, refuses the server's key, or does not answer. A real simulated meter on loopback
(the firmware's code), the real app, chain and database.
"""

from __future__ import annotations

import html
import re
from pathlib import Path

from gridshare.sim import SimSettings
from tests.integration.engine.support import sim_in_thread
from tests.integration.web_support import OPERATOR_PASSWORD, PASSWORD, log_in, web_app
from tests.support.nodes import free_port

WRONG_KEY = "33" * 32


def flashes(page: str) -> list[str]:
    return re.findall(r'<p class="flash" role="status"[^>]*>(.*?)</p>', html.unescape(page), re.S)


def test_the_operator_hears_what_the_meter_says_to_the_key_typed(tmp_path: Path) -> None:
    settings = SimSettings(houses=1, base_port=free_port(), speed=1.0, data_dir=tmp_path / "m")
    with sim_in_thread(settings) as sim, web_app(tmp_path / "server") as (_r, _s, app):
        meter = sim.entries[0]
        operator, csrf = log_in(app, "operator", OPERATOR_PASSWORD)
        created = operator.post("/operator/households", data={
            "name": "Amina", "username": "amina", "password": PASSWORD,
            "house_id": meter.house_id, "meter_id": meter.meter_id, "meter_url": meter.url,
            "meter_key": WRONG_KEY, "top_up_coins": "0", "csrf_token": csrf,
        })  # fmt: skip
        assert created.status_code == 200
        assert (f"House {meter.house_id}'s meter answers but refuses the server's key: check"
                " the meter key you typed") in flashes(created.text)[0]

        other = operator.post("/operator/households", data={
            "name": "Bilal", "username": "bilal", "password": PASSWORD,
            "house_id": meter.house_id + 1, "meter_id": meter.meter_id + 50,
            "meter_url": meter.url, "meter_key": meter.key.hex, "top_up_coins": "0",
            "csrf_token": csrf,
        })  # fmt: skip  (the right key, the wrong meter id: the meter answers 403 "meter:")
        assert flashes(other.text)[0] == (  # the meter id is on chain: the board must change
            f"House {meter.house_id + 1}'s meter answers but says it is another meter: it was"
            f" flashed with another meter id, and the house's, {meter.meter_id + 50}, cannot be"
            f" changed here: flash the board again with --meter-id {meter.meter_id + 50} and its"
            " key (--key), docs/meters.md.")

        fixed = operator.post("/operator/meter", follow_redirects=False, data={
            "house_id": meter.house_id, "meter_url": meter.url, "meter_key": meter.key.hex,
            "csrf_token": csrf,
        })  # fmt: skip
        assert fixed.status_code == 303
        assert flashes(operator.get("/operator").text) == [
            f"House {meter.house_id}'s meter is now at {meter.url}, with the new key.",
            f"House {meter.house_id}'s meter answers and accepts the server's key.",
        ]

        operator.post("/operator/meter", follow_redirects=False, data={
            "house_id": meter.house_id, "meter_url": "http://127.0.0.1:9", "csrf_token": csrf,
        })  # fmt: skip
        assert flashes(operator.get("/operator").text) == [
            f"House {meter.house_id}'s meter is now at http://127.0.0.1:9.",
            f"House {meter.house_id}'s meter does not answer: check its address, and that it"
            " has power and is on the village Wi-Fi.",
        ]
        operator.cookies.set("gs_lang", "ur")
        operator.post("/operator/meter", follow_redirects=False, data={
            "house_id": meter.house_id, "meter_url": meter.url, "csrf_token": csrf,
        })  # fmt: skip
        assert flashes(operator.get("/operator").text)[1] == (
            f"گھر {meter.house_id} کا میٹر جواب دیتا ہے اور سرور کی کلید قبول کرتا ہے۔")
