"""The explorer after a scripted day of trading, on the embedded chain and on Anvil."""

from __future__ import annotations

import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient

from gridshare.explorer.wiring import ExplorerParts
from gridshare.runtime import Runtime
from gridshare.web.app import create_app
from tests.integration.test_explorer_support import (
    Day,
    chain_transactions,
    close_runtime,
    open_runtime,
    trade_a_day,
)
from tests.support.nodes import NodeProcess, start_node

BACKENDS = ("embedded", "anvil")


@dataclass
class Served:
    runtime: Runtime
    client: TestClient
    parts: ExplorerParts
    day: Day
    chain: dict[str, dict[str, Any]]

    @property
    def market(self) -> str:
        return str(self.runtime.market.address).lower()


def wait_indexed(served_runtime: Runtime, parts: ExplorerParts, timeout: float = 30) -> None:
    """Until the background indexer has reached the chain's head."""
    head = int(served_runtime.chain.w3.eth.block_number)
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        last = parts.store.last_block()
        if last is not None and last.number >= head:
            return
        time.sleep(0.05)
    raise AssertionError(f"indexer did not reach block {head}")


@pytest.fixture(scope="module", params=BACKENDS)
def served(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
           ) -> Iterator[Served]:
    node: NodeProcess | None = start_node("anvil") if request.param == "anvil" else None
    try:
        data = Path(tmp_path_factory.mktemp(f"explorer-{request.param}"))
        runtime = open_runtime(data, None if node is None else node.url)
        try:
            half = trade_a_day(runtime)  # before the server starts: the indexer catches up
            app = create_app(runtime.settings, runtime)
            with TestClient(app) as client:
                parts: ExplorerParts = app.state.explorer
                day = trade_a_day(runtime, first_house=5)  # while it runs: the indexer follows
                day.orders = half.orders + day.orders
                day.deliveries = half.deliveries + day.deliveries
                day.settled = {**half.settled, **day.settled}
                day.houses = half.houses + day.houses
                wait_indexed(runtime, parts)
                yield Served(runtime, client, parts, day, chain_transactions(runtime))
        finally:
            close_runtime(runtime)
    finally:
        if node is not None:
            node.stop()


def test_every_page_renders(served: Served) -> None:
    c = served.client
    pages = ["/explorer", "/explorer/search", "/explorer/search?q=house-01"]
    pages += [f"/explorer/block/{n}" for n in {t["block"] for t in served.chain.values()}]
    pages += ["/explorer/block/0", f"/explorer/block/{served.parts.store.last_block().number}"]  # type: ignore[union-attr]
    pages += [f"/explorer/tx/{h}" for h in served.chain]
    addresses = {a for t in served.chain.values() for a in (t["from"], t["to"], t["created"]) if a}
    pages += [f"/explorer/address/{a}" for a in addresses]
    pages += [f"/explorer/order/{i}" for i in served.day.orders]
    pages += [f"/explorer/delivery/{i}" for i in served.day.deliveries]
    for page in pages:
        reply = c.get(page, follow_redirects=False)
        assert reply.status_code in (200, 303), (page, reply.status_code, reply.text[:500])
        assert "<script>" not in reply.text  # no inline script: the CSP forbids it
    for missing in ("/explorer/block/999999", "/explorer/tx/0x" + "ab" * 32,
                    "/explorer/order/99999", "/explorer/delivery/99999"):
        reply = c.get(missing)
        assert reply.status_code == 404 and "Not found" in reply.text


def test_every_market_transaction_is_decoded_in_words(served: Served) -> None:
    market_txs = {h: t for h, t in served.chain.items() if t["to"] == served.market}
    assert len(market_txs) > 40
    for tx_hash, tx in market_txs.items():
        body = served.client.get(f"/api/v1/explorer/txs/{tx_hash}").json()
        assert body["call"] is not None and body["summary"], tx_hash
        market_logs = [log for log in tx["logs"] if str(log["address"]).lower() == served.market]
        assert len(body["events"]) == len(market_logs), tx_hash
        for event in body["events"]:
            assert not event["text"].startswith(event["name"]), event  # a sentence, not a dump
        page = served.client.get(f"/explorer/tx/{tx_hash}").text
        for event in body["events"]:
            assert event["text"].split(" (")[0].replace("&", "&amp;") in page.replace("&#39;", "'")


def test_sentences_say_what_happened_to_energy_and_money(served: Served) -> None:
    summary = served.client.get("/api/v1/explorer/deliveries/1").json()
    texts = [e["text"] for e in summary["events"]]
    assert "delivery 1 settled: 4 of 5 Wh, 32 PKR to house-01, 8 PKR back to house-02" in texts
    order = served.client.get("/api/v1/explorer/orders/1").json()
    assert order["events"][0]["text"].startswith("house-01 offered 5 Wh at 8 PKR/Wh (order 1,")
    assert order["status"] == "filled"
    expired = served.client.get("/api/v1/explorer/deliveries/3").json()
    assert expired["status"] == "expired"
    assert "delivery 3 expired unsettled: 18 PKR back to house-03" in [
        e["text"] for e in expired["events"]]
    cancelled = served.client.get("/api/v1/explorer/orders/2").json()
    assert cancelled["status"] == "cancelled"
    assert any("18 PKR unlocked" in e["text"] for e in cancelled["events"])


def _location(served: Served, query: str) -> str:
    reply = served.client.get("/explorer/search", params={"q": query}, follow_redirects=False)
    assert reply.status_code == 303, (query, reply.status_code)
    return str(reply.headers["location"])


def test_search_finds_each_kind_of_key(served: Served) -> None:
    tx_hash, tx = next((h, t) for h, t in served.chain.items() if t["to"] == served.market)
    block = served.parts.store.block(tx["block"])
    assert block is not None
    house = served.day.houses[0].address
    assert _location(served, tx_hash) == f"/explorer/tx/{tx_hash}"
    assert _location(served, tx_hash.upper().replace("0X", "0x")) == f"/explorer/tx/{tx_hash}"
    assert _location(served, block.hash) == f"/explorer/block/{block.number}"
    assert _location(served, f"block {block.number}") == f"/explorer/block/{block.number}"
    assert _location(served, house) == f"/explorer/address/{house.lower()}"
    assert _location(served, "house-01") == f"/explorer/address/{house.lower()}"
    assert _location(served, "order 3") == "/explorer/order/3"
    assert _location(served, "delivery 2") == "/explorer/delivery/2"
    # a bare number may be a block, an order and a delivery: all are listed
    ambiguous = served.client.get("/explorer/search", params={"q": "2"})
    assert ambiguous.status_code == 200
    for url in ("/explorer/block/2", "/explorer/order/2", "/explorer/delivery/2"):
        assert f'href="{url}"' in ambiguous.text
    kinds = {c["kind"] for c in served.client.get(
        "/api/v1/explorer/search", params={"q": "2"}).json()["candidates"]}
    assert kinds == {"block", "order", "delivery"}
    assert served.client.get("/explorer/search", params={"q": "house-77"}).status_code == 404


def _all_pages(served: Served, address: str) -> list[str]:
    hashes: list[str] = []
    page = 1
    while True:
        body = served.client.get(f"/api/v1/explorer/addresses/{address}",
                                 params={"page": page}).json()
        hashes += [t["hash"] for t in body["transactions"]["items"]]
        if page >= body["transactions"]["pages"]:
            return hashes
        page += 1


def test_each_address_page_lists_exactly_the_chains_transactions(served: Served) -> None:
    by_address: dict[str, set[str]] = {}
    for tx_hash, tx in served.chain.items():
        for address in {tx["from"], tx["to"], tx["created"]} - {None}:
            by_address.setdefault(address, set()).add(tx_hash)
    assert len(by_address[served.market]) > 25  # the market's list spans pages
    for address, expected in by_address.items():
        listed = _all_pages(served, address)
        assert len(listed) == len(set(listed)), address  # nothing twice
        assert set(listed) == expected, address
    page_two = served.client.get(f"/explorer/address/{served.market}?page=2")
    assert page_two.status_code == 200 and "page 2 of" in page_two.text


def test_address_page_shows_household_balances_orders_and_deliveries(served: Served) -> None:
    h2 = served.day.houses[1].address.lower()
    body = served.client.get(f"/api/v1/explorer/addresses/{h2}").json()
    assert body["name"] == "house-02"
    assert body["household"] == {"house_id": 2, "meter_id": 102, "active": True}
    balances = served.runtime.market.balances(h2)
    assert body["market_balances"] == {"available": str(balances.available),
                                       "locked": str(balances.locked),
                                       "escrowed": str(balances.escrowed)}
    assert int(body["wallet_balance"]) == served.runtime.chain.w3.eth.get_balance(
        served.day.houses[1].address)
    assert {o["side"] for o in body["orders"]["items"]} == {"buy"}
    assert body["deliveries"]["total"] >= 3
    page = served.client.get(f"/explorer/address/{h2}").text
    assert "house-02" in page and "meter 102" in page and "In escrow" in page


def test_summary_reports_chain_and_recent_activity(served: Served) -> None:
    body = served.client.get("/api/v1/explorer/summary").json()
    assert body["chain_id"] == 1337
    assert body["indexed_block"] == body["head_block"]
    assert body["blocks"][0]["number"] == body["head_block"]
    assert len(body["transactions"]) == 10
    page = served.client.get("/explorer").text
    assert "/explorer/static/live.js" in page and "Recent blocks" in page
    assert served.client.get("/explorer/static/live.js").status_code == 200
    assert served.client.get("/explorer/static/../routes/explorer.py").status_code == 404
    bad = served.client.get("/api/v1/explorer/addresses/0x1234")
    assert bad.status_code == 422 and bad.json()["error"]["field"] == "address"
