"""Explorer pages in Debian's Chromium at 360 px and 1280 px: screenshots, no overflow, live
updates."""

from __future__ import annotations

from typing import Any

from tests.browser.explorer.conftest import ARTIFACTS, ExplorerServer

from gridshare.chain import TxRequest

WIDTHS = (360, 1280)  # a cheap phone and a laptop


def _phone(chromium: Any) -> Any:
    context = chromium.new_context(viewport={"width": 360, "height": 740}, device_scale_factor=1)
    return context.new_page()


def _transfer_and_wait_for_its_block(explorer_server: ExplorerServer, page: Any) -> str:
    """Send a transfer; once the open index page has drawn its block live, that block's number."""
    runtime = explorer_server.runtime
    runtime.transactor.transact(
        runtime.operator, TxRequest(explorer_server.day.stranger.address, b"", 1))
    head = str(runtime.chain.w3.eth.block_number)
    page.wait_for_function(
        "n => document.querySelector('#blocks tr td').textContent === n", arg=head,
        timeout=15_000)
    return head


def test_pages_fit_a_phone_and_a_desktop_and_are_saved_as_screenshots(
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
    saved = []
    for width in WIDTHS:
        page.set_viewport_size({"width": width, "height": 900})
        for name, path in screens.items():
            response = page.goto(explorer_server.url + path)
            assert response is not None and response.status == 200, path
            scroll = page.evaluate("document.documentElement.scrollWidth")
            assert scroll <= width, f"{path} overflows at {width}px ({scroll}px)"
            shot = ARTIFACTS / f"{name}-{width}.png"
            shot.unlink(missing_ok=True)
            page.screenshot(path=str(shot), full_page=True)
            saved.append(shot)
    page.context.close()
    assert not errors, errors  # e.g. a CSP violation or a failed script
    assert not failed, failed  # stylesheet and script load
    assert len(saved) == len(screens) * len(WIDTHS)
    assert all(shot.stat().st_size > 0 for shot in saved)


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
    head = _transfer_and_wait_for_its_block(explorer_server, page)
    assert page.locator("#blocks tr").first.inner_text() != before
    assert page.locator("#head-block").inner_text() == head
    drawn = page.locator("#blocks tr td").last.inner_text()  # the oldest row, drawn live
    assert drawn.endswith(" PKT"), drawn
    page.reload()
    assert page.locator("#blocks tr td").last.inner_text() == drawn  # as the server writes it
    page.context.close()


def test_in_urdu_the_live_rows_speak_urdu_and_the_tables_read_from_the_right(
    explorer_server: ExplorerServer, chromium: Any
) -> None:
    """The rows the script redraws carry the page's words, not English ones, and a table's
    texts start at the right of their cells, as the page reads."""
    page = _phone(chromium)
    page.context.add_cookies([{"name": "gs_lang", "value": "ur", "url": explorer_server.url}])
    page.goto(explorer_server.url + "/explorer")
    assert page.locator("html").get_attribute("dir") == "rtl"
    _transfer_and_wait_for_its_block(explorer_server, page)
    assert page.locator("#live-note").inner_text().startswith("براہِ راست · ")
    rows = page.locator("#txs tbody").inner_text()
    assert "کامیاب" in rows and "success" not in rows, rows  # drawn by live.js
    assert "منتقلی" in rows and "transfer" not in rows, rows  # the transfer just sent
    # a heading's text sits at its cell's right side (text-align: start), not at its left
    gaps = page.evaluate("""() => {
        const cell = document.querySelector("#txs th");
        const range = document.createRange();
        range.selectNodeContents(cell);
        const text = range.getBoundingClientRect(), box = cell.getBoundingClientRect();
        return [text.left - box.left, box.right - text.right];
    }""")
    assert gaps[1] < 12 < gaps[0], gaps
    page.context.close()
