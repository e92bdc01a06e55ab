"""Every house's meter trouble in the words of whoever reads them: /community tells residents
the state in a few plain words and who acts, /meter tells the house's own resident what to do,
and the notice after registering a household or changing its meter tells the operator what
to check (the key, the meter id, the server's clock or the meter's counters, power and Wi-Fi).

/community used to say "Meter unreachable" for a meter that answered but refused the server's
key, and the operator's notice for the rarer troubles was the residents' sentence ("ask the
operator to ..."). A real simulated meter on loopback (the firmware's code), the real app,
chain and database.
"""

from __future__ import annotations

import html
import re
import time
from collections.abc import Iterator
from dataclasses import dataclass

import pytest
from fastapi.testclient import TestClient
from gridshare_meter.auth import Guard
from gridshare_meter.store import MemoryStore

from gridshare.meters import ClockCounter, MeterClient
from gridshare.sim import MeterSim
from tests.integration.engine.support import sim_in_thread, sim_settings
from tests.integration.web_support import OPERATOR_PASSWORD, PASSWORD, log_in, web_app
from tests.support.nodes import free_port

WRONG_KEY = "33" * 32
HOUR_US = 3600 * 10**6


@dataclass
class World:
    app: object
    sim: MeterSim
    operator: TestClient
    csrf: str


@pytest.fixture(scope="module")
def world(tmp_path_factory: pytest.TempPathFactory) -> Iterator[World]:
    with sim_in_thread(sim_settings(3, speed=1.0)) as sim, \
            web_app(tmp_path_factory.mktemp("server")) as (_r, _s, app):
        operator, csrf = log_in(app, "operator", OPERATOR_PASSWORD)
        yield World(app, sim, operator, csrf)


def flashes(page: str) -> list[str]:
    return re.findall(r'<p class="flash" role="status"[^>]*>(.*?)</p>', html.unescape(page), re.S)


def register(world: World, house: int, meter_id: int, url: str, key_hex: str) -> str:
    """Register house `house` on the operator's form; the meter check's notice."""
    created = world.operator.post("/operator/households", data={
        "name": f"House {house}", "username": f"house{house}", "password": PASSWORD,
        "house_id": house, "meter_id": meter_id, "meter_url": url, "meter_key": key_hex,
        "top_up_coins": "0", "csrf_token": world.csrf,
    })  # fmt: skip
    assert created.status_code == 200, created.text
    checked = re.search(r'<p class="flash" role="status" id="meter-checked">(.*?)</p>',
                        html.unescape(created.text), re.S)
    assert checked is not None, created.text
    return checked.group(1)


def check_again(world: World, house: int, url: str) -> str:
    """"Change a meter" to the same address: the meter check's notice on /operator."""
    sent = world.operator.post("/operator/meter", follow_redirects=False, data={
        "house_id": house, "meter_url": url, "csrf_token": world.csrf,
    })  # fmt: skip
    assert sent.status_code == 303
    said = flashes(world.operator.get("/operator").text)
    assert said[0] == f"House {house}'s meter is now at {url}.", said
    return said[1]


def community_row(client: TestClient, house: int) -> str:
    page = html.unescape(client.get("/community").text)
    row = re.search(rf'<tr><td>{house}</td><td colspan="4">([^<]*)</td></tr>', page)
    assert row is not None, page
    return row.group(1)


def meter_page_says(world: World, house: int) -> str:
    resident, _ = log_in(world.app, f"house{house}", PASSWORD)
    said = re.search(r'<p class="flash">(.*?)</p>', html.unescape(resident.get("/meter").text))
    assert said is not None
    return said.group(1)


def in_urdu(client: TestClient) -> TestClient:
    urdu = TestClient(client.app)
    urdu.cookies.update(client.cookies)
    urdu.cookies.set("gs_lang", "ur")
    return urdu


def test_a_meter_refusing_the_servers_key_is_not_called_unreachable(world: World) -> None:
    meter = world.sim.entries[0]
    house = meter.house_id
    notice = register(world, house, meter.meter_id, meter.url, WRONG_KEY)
    assert notice == (f"House {house}'s meter answers but refuses the server's key: check the"
                      " meter key you typed against the one the meter was flashed with.")
    assert community_row(world.operator, house) == (
        "Meter refuses the server (operator: check its key)")
    assert community_row(in_urdu(world.operator), house) == (
        "میٹر سرور کو رد کرتا ہے (آپریٹر: اس کی کلید جانچیں)")
    assert meter_page_says(world, house) == (
        "The meter answered but does not accept the server's key: ask the operator to check the"
        " meter key registered for this house.")
    assert WRONG_KEY not in world.operator.get("/community").text  # no secret on the page


def test_a_meter_not_answering_is_said_so_with_what_to_check(world: World) -> None:
    house, url = 40, f"http://127.0.0.1:{free_port()}"  # nothing listens there
    notice = register(world, house, 40, url, WRONG_KEY)
    assert notice == (f"House {house}'s meter does not answer: check its address, and that it"
                      " has power and is on the village Wi-Fi.")
    assert community_row(world.operator, house) == "Meter not answering"
    assert community_row(in_urdu(world.operator), house) == "میٹر جواب نہیں دے رہا"
    assert meter_page_says(world, house) == (
        "The meter did not answer: check that it has power and is on the village Wi-Fi.")


def test_a_meter_that_obeyed_a_later_counter_sends_the_operator_to_the_clock(
    world: World,
) -> None:
    """A server clock an hour ahead (set wrong, then right again) left the meter's last
    command counter above every one the server now signs: it refuses them (401 `counter`)."""
    meter = world.sim.entries[1]
    house = meter.house_id
    assert register(world, house, meter.meter_id, meter.url, meter.key.hex) == (
        f"House {house}'s meter answers and accepts the server's key.")
    ahead = ClockCounter(clock_us=lambda: time.time_ns() // 1000 + HOUR_US)
    with MeterClient(meter.url, meter.key, counter=ahead, timeout=5) as client:
        client.status()
    assert check_again(world, house, meter.url) == (
        f"House {house}'s meter answers but refuses the server's command counter, as it has"
        " obeyed a later one: set the server's clock right; if it is right, put the meter's"
        " counters back (docs/meters.md).")
    assert community_row(world.operator, house) == (
        "Meter refuses the server (operator: check the server's clock)")
    urdu = in_urdu(world.operator)
    urdu.post("/operator/meter", follow_redirects=False, data={
        "house_id": house, "meter_url": meter.url, "csrf_token": world.csrf,
    })  # fmt: skip
    assert flashes(urdu.get("/operator").text)[1] == (
        f"گھر {house} کا میٹر جواب دیتا ہے مگر سرور کا کمانڈ کاؤنٹر رد کرتا ہے، کیونکہ وہ اس سے"
        " بعد والا کاؤنٹر مان چکا ہے: سرور کی گھڑی درست کریں؛ اگر وہ درست ہے تو میٹر کے کاؤنٹر"
        " واپس درست کریں (docs/meters.md)۔")


def test_a_meter_that_cannot_read_its_counters_sends_the_operator_to_the_docs(
    world: World,
) -> None:
    """The board found its counter file but could not read it: it obeys no command (503)."""
    meter = world.sim.entries[2]
    house = meter.house_id
    register(world, house, meter.meter_id, meter.url, meter.key.hex)
    board = world.sim.meters[2].meter
    board.guard = Guard(meter.key.meter_id, meter.key.key, MemoryStore({"cmd": "garbage"}))
    assert board.guard.locked is not None
    assert check_again(world, house, meter.url) == (
        f"House {house}'s meter answers but obeys no command, as its counter file cannot be"
        " read: put its counters back as docs/meters.md says (A meter that refuses every"
        " command).")
    assert community_row(world.operator, house) == (
        "Meter obeys no command (operator: put its counters back)")
    assert meter_page_says(world, house) == (
        "The meter answered but obeys no command, as its saved counters cannot be read: ask the"
        " operator to put them back (docs/meters.md).")
