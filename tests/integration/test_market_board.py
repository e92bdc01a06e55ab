"""The market page lists other households' offers cheapest first and demands highest first.

They used to be listed by order id, so a resident looking for the cheapest energy on a long
board had to read every row; at one price the older order comes first, as it is matched first.
"""

from __future__ import annotations

import re

from fastapi.testclient import TestClient

from tests.integration.web_support import (
    OPERATOR_PASSWORD,
    Resident,
    log_in,
    register_residents,
    web_app,
)

MILLI = 10**15  # wei per Wh: 0.001 PKR


def place(resident: Resident, side: str, price: int) -> int:
    placed = resident.client.post(
        "/api/v1/orders", json={"side": side, "amount_wh": 10, "price_per_wh": price},
        headers={"X-CSRF-Token": resident.csrf},
    )  # fmt: skip
    assert placed.status_code == 201, placed.text
    return int(placed.json()["id"])


def listed(client: TestClient, section: str) -> list[int]:
    page = client.get("/market").text
    part = page[page.index(f'id="{section}"'):]
    part = part[: part.index("</section>")]
    return [int(n) for n in re.findall(r'<tr data-order="(\d+)">', part)]


def test_offers_cheapest_first_and_demands_highest_first_older_first_at_one_price() -> None:
    with web_app() as (_runtime, _settings, app):
        operator, csrf = log_in(app, "operator", OPERATOR_PASSWORD)
        people = register_residents(app, operator, csrf, ("amina", "bilal", "chanda"), "66" * 32)
        amina, bilal, chanda = people["amina"], people["bilal"], people["chanda"]
        dear = place(amina, "sell", 3 * MILLI)
        cheap = place(bilal, "sell", 1 * MILLI)
        middle_old = place(amina, "sell", 2 * MILLI)
        middle_new = place(bilal, "sell", 2 * MILLI)
        low = place(amina, "buy", MILLI // 4)  # below every offer: nothing is matched
        high = place(bilal, "buy", MILLI // 2)
        assert listed(chanda.client, "offers") == [cheap, middle_old, middle_new, dear]
        assert listed(chanda.client, "demands") == [high, low]
        # a resident's own orders stay off the board she takes from
        assert listed(amina.client, "offers") == [cheap, middle_new]
