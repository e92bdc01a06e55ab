"""Explorer pages in Debian's Chromium on a 360 px phone: screenshots, no overflow, live updates."""

from __future__ import annotations

from typing import Any

from tests.browser.explorer.conftest import ARTIFACTS, ExplorerServer

from gridshare.chain import TxRequest


def _phone(chromium: Any) -> Any:
    context = chromium.new_context(viewport={"width": 360, "height": 740}, device_scale_factor=1)
    return context.new_page()


def test_pages_fit_a_phone_and_are_saved_as_screenshots(
    explorer_server: ExplorerServer, chromium: Any
) -> None:
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    house = explorer_server.day.houses[0].address.lower()
    api = explorer_server.url + "/api/v1/explorer/deliveries/1"
    page = _phone(chromium)
    errors: list[str] = []
    page.on("console", lambda m: errors.append(m.text)
            if m.type == "error" and "404" not in m.text else None)
    failed: list[str] = []
    page.on("response", lambda r: failed.append(r.url)
            if r.status >= 400 and not r.url.endswith("/favicon.ico") else None)
    created_tx = page.request.get(api).json()["created_tx"]
    screens = {
        "index": "/explorer",
        "block": "/explorer/block/5",
        "tx": f"/explorer/tx/{created_tx}",
        "address": f"/explorer/address/{house}",
        "order": "/explorer/order/1",
        "delivery": "/explorer/delivery/1",
        "search": "/explorer/search?q=2",
    }
    for name, path in screens.items():
        response = page.goto(explorer_server.url + path)
        assert response is not None and response.status == 200, path
        assert page.evaluate("document.documentElement.scrollWidth") <= 360, f"{path} overflows"
        page.screenshot(path=str(ARTIFACTS / f"{name}-phone.png"), full_page=True)
    page.context.close()
    desktop = chromium.new_page(viewport={"width": 1280, "height": 900})
    desktop.goto(explorer_server.url + "/explorer")
    desktop.screenshot(path=str(ARTIFACTS / "index-desktop.png"), full_page=True)
    desktop.close()
    assert not errors, errors  # e.g. a CSP violation or a failed script
    assert not failed, failed  # stylesheet and script load
    assert len(list(ARTIFACTS.glob("*.png"))) >= 8


def test_search_box_takes_a_house_name_to_its_address(
    explorer_server: ExplorerServer, chromium: Any
) -> None:
    page = _phone(chromium)
    page.goto(explorer_server.url + "/explorer")
    page.fill("#q", "house-02")
    page.click("form.search button")
    page.wait_for_url("**/explorer/address/**")
    assert page.locator("h1").inner_text() == "house-02"
    page.context.close()


def test_index_page_shows_new_blocks_without_a_reload(
    explorer_server: ExplorerServer, chromium: Any
) -> None:
    page = _phone(chromium)
    page.goto(explorer_server.url + "/explorer")
    before = page.locator("#blocks tr").first.inner_text()
    runtime = explorer_server.runtime
    runtime.transactor.transact(
        runtime.operator, TxRequest(explorer_server.day.stranger.address, b"", 1))
    head = str(runtime.chain.w3.eth.block_number)
    page.wait_for_function(
        "n => document.querySelector('#blocks tr td').textContent === n", arg=head,
        timeout=15_000)
    assert page.locator("#blocks tr").first.inner_text() != before
    assert page.locator("#head-block").inner_text() == head
    page.context.close()
