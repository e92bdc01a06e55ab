"""A resident's phone at 360x640 in Chromium: the MetaMask button is readable, taps in the
header hit 44 px targets and every other link or button at least 24 px, no page scrolls
sideways (nor at 200% zoom), tables fit, the meter's last contact stays a time of day as app.js
updates it live and its chart tells the village's time (whatever the phone's zone and clock)
and follows the phone's turning, a wallet's offer expires by the chain's clock, the amount
fields take the digits an Urdu keyboard types, and without JavaScript the market shows no
control that needs it.

A server of its own (as conftest.py starts one) with one simulated meter, so the checks do not
depend on what the other browser tests registered.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Any
from urllib.parse import urlsplit

import httpx
import pytest
from eth_abi.abi import decode as abi_decode
from playwright.sync_api import Browser, BrowserContext, Page, expect
from tests.browser.conftest import OPERATOR_PASSWORD
from tests.integration.engine.support import sim_in_thread
from tests.integration.web_support import PASSWORD, web_app
from tests.support.live_server import serve_in_thread
from tests.support.nodes import free_port
from tests.unit.web.test_render import MEASURES

from gridshare.local_time import time_of_day, village_zone
from gridshare.sim import SimSettings
from gridshare.web import i18n
from gridshare.web.render import measure

PHONE = {"width": 360, "height": 640}
PAGES = ("/market", "/account", "/meter", "/community", "/account/export")
ZONE = "Asia/Karachi"  # the village's clock: pages show PKT, UTC+5
CLOCK = re.compile(r"^\d\d:\d\d:\d\d PKT$")

# relative luminance and contrast ratio (WCAG 2), computed in the page from computed styles
CONTRAST_JS = """el => {
  const rgb = (c) => c.match(/[\\d.]+/g).map(Number);
  const lum = ([r, g, b]) => [r, g, b].map((v) => {
    v /= 255; return v <= 0.03928 ? v / 12.92 : ((v + 0.055) / 1.055) ** 2.4;
  }).reduce((s, v, i) => s + v * [0.2126, 0.7152, 0.0722][i], 0);
  let bg = el;  // the first ancestor (or itself) with an opaque background
  while (bg && rgb(getComputedStyle(bg).backgroundColor)[3] === 0) bg = bg.parentElement;
  const back = rgb(getComputedStyle(bg || document.body).backgroundColor);
  const fore = rgb(getComputedStyle(el).color);
  const [hi, lo] = [lum(fore), lum(back)].sort((a, b) => b - a);
  return {color: getComputedStyle(el).color, background: getComputedStyle(bg).backgroundColor,
          ratio: (hi + 0.05) / (lo + 0.05)};
}"""


@pytest.fixture(scope="module")
def url(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """A live server with amina registered on the one simulated meter."""
    settings = SimSettings(
        houses=1, base_port=free_port(), speed=20.0, data_dir=tmp_path_factory.mktemp("ui-meters")
    )
    with (
        sim_in_thread(settings) as sim,
        web_app(tmp_path_factory.mktemp("ui-server"), timezone=ZONE) as (_runtime, _settings, app),
        serve_in_thread(app) as base,
    ):
        entry = sim.entries[0]
        with httpx.Client(base_url=base) as operator:
            login = operator.post(
                "/api/v1/session", json={"username": "operator", "password": OPERATOR_PASSWORD}
            )
            assert login.status_code == 200, login.text
            made = operator.post(
                "/api/v1/households",
                headers={"X-CSRF-Token": login.json()["csrf_token"]},
                json={
                    "name": "House 1",
                    "username": "amina",
                    "password": PASSWORD,
                    "house_id": entry.house_id,
                    "meter_id": entry.meter_id,
                    "meter_url": entry.url,
                    "meter_key": entry.key.hex,
                    "top_up_coins": 100,
                },
            )
            assert made.status_code == 201, made.text
        yield base


def logged_in(browser: Browser, url: str, **phone: Any) -> tuple[BrowserContext, Page]:
    """amina, logged in on a 360x640 phone (close the context when done); `phone` is more of
    playwright's context options (its time zone, say)."""
    context = browser.new_context(viewport=PHONE, **phone)
    page = context.new_page()
    page.goto(url + "/login")
    page.fill("input[name=username]", "amina")
    page.fill("input[name=password]", PASSWORD)
    page.click("button[type=submit]")
    page.wait_for_load_state()
    return context, page


@pytest.fixture
def phone(browser: Browser, url: str) -> Iterator[Page]:
    """amina, logged in on a 360x640 phone."""
    context, page = logged_in(browser, url)
    yield page
    context.close()


def test_the_metamask_button_is_readable_and_nothing_scrolls_sideways(
    phone: Page, url: str
) -> None:
    phone.add_init_script("window.ethereum = { request: async () => null };")  # it shows then
    phone.goto(url + "/market")
    button = phone.locator("#add-network")
    expect(button).to_be_visible()
    seen = button.evaluate(CONTRAST_JS)
    assert seen["color"] != seen["background"], seen  # was white on the page's near-white
    assert seen["ratio"] >= 4.5, seen
    for path in PAGES:
        phone.goto(url + path)
        width = phone.evaluate("document.documentElement.scrollWidth")
        assert width <= PHONE["width"], f"{path} scrolls sideways ({width}px)"


def test_header_links_and_log_out_are_44px_tap_targets(phone: Page, url: str) -> None:
    phone.goto(url + "/market")
    targets = phone.locator("header.top a, header.top button")
    assert targets.count() >= 6  # brand, 4 nav links, language, Log out
    for i in range(targets.count()):
        box = targets.nth(i).bounding_box()
        assert box is not None and box["height"] >= 43.5, (targets.nth(i).inner_text(), box)
    seen = phone.locator("#logout").evaluate(CONTRAST_JS)
    assert seen["ratio"] >= 4.5, seen  # Log out stays white on the green header


SMALL_TARGETS_JS = """() => [...document.querySelectorAll("a, button")]
  .filter((el) => el.getClientRects().length)  // shown
  .map((el) => ({el, box: el.getBoundingClientRect()}))
  .filter(({box}) => box.height < 24)
  .map(({el, box}) => `${el.tagName} ${(el.textContent || el.name || "").trim().slice(0, 30)}: `
                      + `${box.width.toFixed(0)}x${box.height.toFixed(0)}`)"""


@pytest.mark.parametrize("lang", ["en", "ur"])
def test_every_link_and_button_on_the_residents_pages_is_a_24px_tap_target(
    phone: Page, url: str, lang: str
) -> None:
    """WCAG 2.2's target size (24 CSS px): the table's "delivery" links, "Cancel" and the
    links in the cards were about 19 px tall, hard to hit with a thumb."""
    phone.goto(url + f"/lang/{lang}?next=/market")
    sell = phone.locator("#sell-form")  # an order of my own, so the page has its Cancel
    sell.locator("[name=amount_wh]").fill("5")
    sell.locator("[name=price]").fill("0.02")
    sell.locator("button").click()
    phone.wait_for_load_state()
    small = {}
    for path in PAGES:
        phone.goto(url + path)
        small[path] = phone.evaluate(SMALL_TARGETS_JS)
    assert small == {path: [] for path in PAGES}


# each shown checkbox or radio: its box, its label's box (the tap target), and the lines
# its label's words take (a Range over the label after the box)
CHOICES_JS = """() => [...document.querySelectorAll("input[type=checkbox], input[type=radio]")]
  .filter((el) => el.getClientRects().length)
  .map((el) => {
    const label = el.closest("label");
    const words = document.createRange();
    words.selectNodeContents(label);
    words.setStartAfter(el);
    const box = el.getBoundingClientRect();
    return {id: el.id, box: [box.top, box.bottom, box.width, box.height],
            target: label.getBoundingClientRect().height,
            lines: [...words.getClientRects()].filter((r) => r.width > 1)
              .map((r) => [r.top, r.bottom])};
  })"""


@pytest.mark.parametrize("lang", ["en", "ur"])
def test_a_checkbox_is_drawn_as_one_beside_its_words_and_is_a_24px_tap_target(
    phone: Page, url: str, lang: str
) -> None:
    """"Use MetaMask" was a 13x44 px box (the 44 px min-height every input has) with its
    words on the next line, on a 360 px phone. Every checkbox and radio on the resident's
    pages: a square box, on the line of its words, its label at least 24 px tall."""
    phone.goto(url + f"/lang/{lang}?next=/market")
    seen = {}
    for path in PAGES:
        phone.goto(url + path)
        seen[path] = phone.evaluate(CHOICES_JS)
    assert [choice["id"] for choice in seen["/market"]] == ["use-wallet"]
    for path, choices in seen.items():
        for choice in choices:
            top, bottom, width, height = choice["box"]
            assert 12 <= width <= 30 and abs(width - height) <= 2, (path, choice)  # square
            assert choice["target"] >= 24, (path, choice)
            assert len({round(line_top) for line_top, _ in choice["lines"]}) == 1, (path, choice)
            for line_top, line_bottom in choice["lines"]:  # beside the box, not under it
                assert top <= (line_top + line_bottom) / 2 <= bottom, (path, choice)


def test_meter_last_contact_stays_a_time_of_day_when_updated_live(phone: Page, url: str) -> None:
    phone.goto(url + "/meter")
    contact = phone.locator("time[data-field=last_contact]")
    first = contact.inner_text()
    assert CLOCK.match(first), first
    expect(contact).not_to_have_text(first, timeout=15_000)  # app.js updated it from the SSE
    epoch = contact.get_attribute("data-epoch")
    assert epoch is not None
    assert contact.inner_text() == time_of_day(int(epoch), village_zone(ZONE))  # as the server
    assert "None" not in phone.locator(".readings").inner_text()


def test_meter_values_keep_the_servers_decimals_when_updated_live(phone: Page, url: str) -> None:
    """app.js redrew every scaled value with one decimal ("12.3" V where the page came with
    "12.34"), so the figures jumped in width at the first update; it formats as `measure`."""
    served = phone.request.get(url + "/meter").text()  # as the server wrote it, before app.js
    before = re.findall(r"<span data-field=\"\w+\" data-scale[^>]*>([^<]*)</span>", served)
    phone.goto(url + "/meter")
    contact = phone.locator("time[data-field=last_contact]")
    expect(contact).not_to_have_text(contact.inner_text(), timeout=15_000)  # one live update
    after = phone.locator("[data-field][data-scale]").all_inner_texts()
    places = [[len(text.partition(".")[2]) for text in texts] for texts in (before, after)]
    assert places == [[2, 2, 1, 1]] * 2, (before, after)  # V, A, W, % as measure() gives them
    # and the very digits: app.js's formatter against the server's, on the same values
    cases = [(v, scale, p) for v in [*range(-2100, 2100, 7), *(m[0] for m in MEASURES)]
             for scale, p in ((1000, 2), (1000, 1), (10, 1))]  # fmt: skip
    shown = phone.evaluate("cases => cases.map(c => window.gridshareMeasure(...c))", cases)
    assert shown == [measure(*case) for case in cases]


def test_a_phone_without_a_wallet_does_not_download_the_wallet_library(
    phone: Page, url: str
) -> None:
    """ethers is 0.5 MB, most of /market's weight on a cheap phone's slow Wi-Fi, and only a
    browser with a wallet (MetaMask) uses it."""
    fetched: list[str] = []
    failed: list[str] = []
    phone.on("request", lambda request: fetched.append(request.url))
    phone.on("response", lambda r: failed.append(r.url) if r.status >= 400 else None)
    phone.goto(url + "/market")
    phone.wait_for_load_state("networkidle")
    assert any(urlsplit(u).path == "/static/wallet.js" for u in fetched), fetched
    assert not any("ethers" in u for u in fetched), fetched
    assert failed == []  # not even /favicon.ico


def test_in_urdu_the_scripts_speak_urdu_too(phone: Page, url: str) -> None:
    """What app.js and wallet.js write (the no-wallet note every phone shows, the chart's
    legend, the relay's state) comes from the page's words, not English in the script."""
    phone.goto(url + "/lang/ur?next=/market")
    note = phone.locator("#wallet-note")
    expect(note).to_have_text(
        "اس براؤزر میں کوئی والٹ نہیں: آپ کے آرڈر یہیں، میٹا ماسک کے بغیر، دستخط ہوتے ہیں۔")
    price = phone.locator("form input[name=price]").first  # typed on an Urdu keyboard
    validity = []
    for typed in ("۰.۰۵", "٠٫٠٥", "0.05", "abc", "١,٥"):
        price.fill(typed)
        validity.append(price.evaluate("el => el.checkValidity()"))
    assert validity == [True, True, True, False, False]
    phone.goto(url + "/meter")
    expect(phone.locator(".u-legend")).to_contain_text("شمسی واٹ", timeout=15_000)
    expect(phone.locator("dd[data-field=relay_closed]")).to_have_text(
        re.compile("^(جڑا ہوا|منقطع)$"))
    phone.goto(url + "/lang/en?next=/market")
    expect(note).to_have_text(
        "No wallet in this browser: your orders are signed here, without MetaMask.")


# a wallet on another network or ours; "Add this network" moves it to the page's, and so does
# window.switchChain (as the user would in MetaMask itself, which tells the page)
FAKE_WALLET = """let chain = "%s"; const heard = [];
window.ethereum = { request: async ({method, params}) => {
  if (method === "eth_chainId") return chain;
  if (method === "wallet_addEthereumChain") chain = params[0].chainId;
  return null; },
  on: (event, listener) => { if (event === "chainChanged") heard.push(listener); } };
window.switchChain = (id) => { chain = id; heard.forEach((listener) => listener(id)); };"""


@pytest.mark.parametrize(
    ("wallet", "note"),
    [
        (None, "No wallet in this browser: your orders are signed here, without MetaMask."),
        ("0x1", "MetaMask is on another network: tap “Add this network to MetaMask”."),
        ("switched to ours", None),
    ],
    ids=["no wallet", "wallet on another chain", "connected"],
)
def test_the_wallet_bar_says_one_true_thing_for_its_state(
    browser: Browser, url: str, wallet: str | None, note: str | None
) -> None:
    """Without a wallet the bar said orders are signed here, without MetaMask, and offered
    "Add this network to MetaMask", whose tap answered "install MetaMask"; a wallet on
    another network was not told at all."""
    context, page = logged_in(browser, url)
    chain = hex(int(page.locator("#wallet-bar").get_attribute("data-chain-id") or 0))
    if wallet is not None:
        page.add_init_script(FAKE_WALLET % "0x1")  # another network first
    page.goto(url + "/market")
    page.wait_for_load_state("networkidle")
    shown = page.locator("#wallet-note:visible, #wallet-status:visible:not(:empty)")
    if wallet == "switched to ours":
        expect(shown).to_have_count(1)  # the other network's note, until the switch
        page.evaluate(f"window.switchChain('{chain}')")
    if note is None:
        expect(shown).to_have_count(0)
    else:
        expect(shown).to_have_text([note])
    expect(page.locator("#add-network")).to_be_visible(visible=wallet is not None)
    if wallet == "0x1":
        page.click("#add-network")
        expect(shown).to_have_text(["Network added."])  # and the note went with the reason
    context.close()


def test_back_after_posting_an_offer_shows_an_empty_form_not_the_one_sent(
    phone: Page, url: str
) -> None:
    """Back, then the same tap again, placed a second identical order: the page
    comes with a new request key, so the server cannot tell the second send from a new order."""
    phone.goto(url + "/market")
    sell = phone.locator("#sell-form")
    sell.locator("[name=amount_wh]").fill("25")
    sell.locator("[name=price]").fill("0.019")
    sell.locator("button").click()
    phone.wait_for_load_state()
    expect(phone.locator("p.flash")).to_have_text(re.compile(r"^Your offer #\d+ is posted: 25 Wh"))
    phone.go_back()
    phone.wait_for_load_state()
    back = phone.locator("#sell-form")
    expect(back.locator("[name=amount_wh]")).to_have_value("")
    expect(back.locator("[name=price]")).to_have_value("")


def test_an_offer_typed_on_an_urdu_keyboard_is_placed_with_its_amount(
    phone: Page, url: str
) -> None:
    """Chromium's type=number input dropped every digit an Urdu keyboard types (۰-۹), so the
    amount stayed empty and the form would not send; the server reads those digits."""
    phone.goto(url + "/lang/ur?next=/market")
    sell = phone.locator("#sell-form")
    sell.locator("[name=amount_wh]").press_sequentially("۲۷")  # keys, as a keyboard types
    sell.locator("[name=price]").press_sequentially("۰٫۰۲۱")
    minutes = sell.locator("[name=minutes]")
    minutes.fill("")
    minutes.press_sequentially("٩٠")  # an Arabic keyboard's digits
    expect(sell.locator("[name=amount_wh]")).to_have_value("۲۷")
    sell.locator("button").click()
    phone.wait_for_load_state()
    expect(phone.locator("p.flash")).to_contain_text("27")
    phone.goto(url + "/lang/en?next=/market")
    mine = phone.locator("#mine tbody tr").last
    expect(mine.locator("td").nth(2)).to_have_text("27")  # the amount, as typed
    expect(mine.locator("td").nth(3)).to_have_text("0.0210")


def test_in_wallet_mode_an_amount_above_the_limit_is_refused_with_its_rule_before_the_wallet(
    phone: Page, url: str
) -> None:
    """type=number held the amount to its max; the text field that replaced it does not, so
    wallet.js checks data-max as the server would, instead of sending the wallet a
    transaction the market refuses."""
    phone.add_init_script("""
      window.gsAsked = [];
      window.ethereum = { request: async ({method}) => { window.gsAsked.push(method);
        if (method === "eth_requestAccounts") return ["0x0000000000000000000000000000000000000001"];
        return null; } };
    """)
    phone.goto(url + "/market")
    phone.locator("#use-wallet").check()
    sell = phone.locator("#sell-form")
    sell.locator("[name=amount_wh]").press_sequentially("۲۰۰۰۰۰۰۰۰۰")  # 2,000,000,000
    sell.locator("[name=price]").fill("0.02")
    sell.locator("button").click()
    expect(phone.locator("#sell-form + .form-note")).to_have_text(
        "Amount (Wh): a whole number from 1 to 1,000,000,000.")
    asked = phone.evaluate("window.gsAsked")
    assert "eth_requestAccounts" not in asked and "eth_sendTransaction" not in asked, asked


def test_in_wallet_mode_an_offer_expires_by_the_chains_clock_not_the_phones(
    browser: Browser, url: str
) -> None:
    """wallet.js counted an offer's expiry from the phone's clock: a phone with no network
    to set it (here: a year behind) sent the wallet an offer that had expired a year ago, and
    a demo's chain, ahead of any wall clock, refused every offer made in wallet mode."""
    context, page = logged_in(browser, url)
    try:
        page.clock.set_system_time(datetime.now(UTC) - timedelta(days=365))
        page.add_init_script("""
          window.gsSent = [];
          const bar = () => document.getElementById("wallet-bar").dataset;
          window.ethereum = { request: async ({method, params}) => {
            if (method === "eth_requestAccounts") return [bar().address];
            if (method === "eth_chainId") return "0x" + Number(bar().chainId).toString(16);
            if (method === "eth_sendTransaction") {
              window.gsSent.push(params[0]); throw new Error("declined");
            }
            return null; } };
        """)
        page.goto(url + "/market")
        page.locator("#use-wallet").check()
        before = page.request.get(url + "/api/v1/market").json()["now"]
        sell = page.locator("#sell-form")
        sell.locator("[name=amount_wh]").fill("5")
        sell.locator("[name=price]").fill("0.02")
        sell.locator("[name=minutes]").fill("30")
        sell.locator("button").click()
        expect(page.locator("#sell-form + .form-note")).to_have_text("declined")
        after = page.request.get(url + "/api/v1/market").json()["now"]
        (tx,) = page.evaluate("window.gsSent")
        _is_buy, amount, _price, expires_at = abi_decode(
            ["bool", "uint256", "uint256", "uint256"], bytes.fromhex(tx["data"][10:])
        )
        assert amount == 5
        assert before + 30 * 60 <= expires_at <= after + 30 * 60, (before, expires_at, after)
    finally:
        context.close()


# each scrolling box (a table's .scroll, a card) whose content is wider than the box
CUT_JS = """() => [...document.querySelectorAll(".scroll, .card")]
  .filter((el) => el.scrollWidth > el.clientWidth + 1)
  .map((el) => `${el.getAttribute("aria-label") || el.querySelector("h1, h2").textContent}: `
               + `${el.scrollWidth}px in ${el.clientWidth}px`)"""


@pytest.mark.parametrize("lang", ["en", "ur"])
def test_at_200_percent_zoom_no_page_scrolls_sideways(
    phone: Page, url: str, lang: str
) -> None:
    """A 360 px phone with its text at 200% lays pages out 180 px wide. A table wider than
    that scrolls in its own box, but the headers only screen readers read (.hidden-label,
    position: absolute) stuck out of the box, so /market and /account scrolled sideways as a
    whole (193 and 273 px): each box now holds them."""
    phone.goto(url + f"/lang/{lang}?next=/market")
    sell = phone.locator("#sell-form")  # my open orders and my account's orders have rows
    sell.locator("[name=amount_wh]").fill("5")
    sell.locator("[name=price]").fill("0.02")
    sell.locator("button").click()
    phone.wait_for_load_state()
    phone.set_viewport_size({"width": PHONE["width"] // 2, "height": PHONE["height"] // 2})
    wide = {}
    for path in PAGES:
        phone.goto(url + path)
        wide[path] = phone.evaluate("document.documentElement.scrollWidth")
    assert wide == {path: PHONE["width"] // 2 for path in PAGES}


@pytest.mark.parametrize("lang", ["en", "ur"])
def test_the_community_table_fits_the_phone(phone: Page, url: str, lang: str) -> None:
    """The houses' table was 14 px wider than its box on a 360 px phone: its last column
    showed "not connec" unless the resident knew to swipe the table."""
    phone.goto(url + f"/lang/{lang}?next=/community")
    expect(phone.locator("table.list td").nth(4)).to_have_text(
        re.compile("not connected|^connected|منقطع|جڑا ہوا"))  # the meter answered
    assert phone.evaluate(CUT_JS) == []


def test_without_javascript_the_market_shows_no_controls_that_need_it(
    browser: Browser, url: str
) -> None:
    """With JavaScript off a phone still trades (the forms post), but "Use MetaMask" and
    "Add this network to MetaMask" were shown and did nothing when tapped, and "Recent trade
    prices" was an empty 200 px box; with JavaScript on they are there as before."""
    seen = {}
    for script in (False, True):
        context = browser.new_context(viewport=PHONE, java_script_enabled=script)
        page = context.new_page()
        page.goto(url + "/login")
        page.fill("input[name=username]", "amina")
        page.fill("input[name=password]", PASSWORD)
        page.click("button[type=submit]")
        page.wait_for_load_state()
        if script:
            expect(page.locator("#price-chart .uplot")).to_be_visible()  # drawn
        seen[script] = [page.locator(s).is_visible()
                        for s in ("#use-wallet", "#add-network", "#price-chart", "#sell-form")]
        context.close()
    assert seen == {False: [False, False, False, True], True: [True, False, True, True]}


# every text drawn on a canvas (uPlot draws its axes there)
CANVAS_TEXTS = """window.drawn = [];
const fillText = CanvasRenderingContext2D.prototype.fillText;
CanvasRenderingContext2D.prototype.fillText = function (text, ...rest) {
  window.drawn.push(String(text));
  return fillText.call(this, text, ...rest);
};"""


@pytest.mark.parametrize("lang", ["en", "ur"])
def test_the_meter_chart_tells_time_on_the_village_clock_and_fits_a_turned_phone(
    browser: Browser, url: str, lang: str
) -> None:
    """uPlot's own time axis used the phone's zone, US dates and English ("10:44am",
    "12/1/26", ":30.000"; drawn "30.000:" in Urdu) beside "Last contact 15:44:29 PKT"; its
    legend said "Time: --" (values that follow a mouse); and a chart drawn in landscape stuck
    out of its card once the phone was turned upright; and its points were put at the phone's
    clock. A phone on New York time, a year and five hours behind: the axis reads the village's
    clock (PKT), 24-hour, left to right, near the last contact."""
    context = browser.new_context(viewport={"width": 640, "height": 360},
                                  timezone_id="America/New_York")
    context.add_init_script(CANVAS_TEXTS)
    page = context.new_page()
    # and its clock a year and five hours off (no network to set it; not whole days, which
    # would read the same time of day): the points are the meter's last contacts
    page.clock.set_system_time(datetime.now(UTC) - timedelta(days=365, hours=5))
    page.goto(url + f"/lang/{lang}?next=/login")
    page.fill("input[name=username]", "amina")
    page.fill("input[name=password]", PASSWORD)
    page.click("button[type=submit]")
    page.wait_for_load_state()
    page.goto(url + "/meter")
    expect(page.locator("#meter-chart .uplot")).to_be_visible(timeout=15_000)
    page.wait_for_function("() => window.drawn.some((text) => /:/.test(text))")
    contact = int(page.locator("time[data-field=last_contact]").get_attribute("data-epoch") or 0)
    near = {time_of_day(contact + s, village_zone(ZONE))[:8] for s in range(-600, 601)}
    ticks = [text for text in page.evaluate("window.drawn") if ":" in text]
    assert ticks and all(re.fullmatch(r"\d\d:\d\d(:\d\d)?", text) for text in ticks), ticks
    assert all(any(t.startswith(text) for t in near) for text in ticks), (ticks, contact)
    canvas = page.locator("#meter-chart canvas")
    assert canvas.evaluate("el => getComputedStyle(el).direction") == "ltr"
    assert "--" not in page.locator("#meter-chart .u-legend").inner_text()
    page.set_viewport_size(PHONE)  # turned upright
    card = page.locator("#meter")
    page.wait_for_function("el => el.scrollWidth <= el.clientWidth", arg=card.element_handle())
    context.close()


def test_in_wallet_mode_a_server_that_does_not_answer_is_said_in_the_pages_words(
    browser: Browser, url: str
) -> None:
    """Asking the server for the chain's time (for the offer's expiry) showed the browser's
    own English, "Failed to fetch", on an Urdu page when the server did not answer at all,
    and an amount past the limit went unchecked until the server answered. Now the amount's
    rule comes first, then the page's sentence for no answer; the wallet is asked nothing."""
    context, page = logged_in(browser, url)
    try:
        context.add_cookies([{"name": i18n.COOKIE, "value": "ur", "url": url}])
        page.add_init_script("""
          window.gsAsked = [];
          window.ethereum = { request: async ({method}) => { window.gsAsked.push(method);
            return null; } };
        """)
        page.goto(url + "/market")
        page.route("**/api/v1/market", lambda route: route.abort())  # the Wi-Fi dropped
        page.locator("#use-wallet").check()
        sell = page.locator("#sell-form")
        note = page.locator("#sell-form + .form-note")
        sell.locator("[name=amount_wh]").fill("5")
        sell.locator("[name=price]").fill("0.02")
        sell.locator("button").click()
        expect(note).to_have_text(i18n.gettext("ur", "The server did not answer; try again."))
        assert note.inner_text() != "The server did not answer; try again."  # it has its Urdu
        sell.locator("[name=amount_wh]").fill("2000000000")
        sell.locator("button").click()
        expect(note).to_have_text(i18n.gettext(
            "ur", "Amount (Wh): a whole number from 1 to 1,000,000,000."))
        asked = page.evaluate("window.gsAsked")
        assert "eth_requestAccounts" not in asked and "eth_sendTransaction" not in asked, asked
    finally:
        context.close()


def test_a_form_sent_after_logging_out_in_another_tab_comes_back_after_logging_in(
    browser: Browser, url: str
) -> None:
    """The Sell form filled in, the session ended in another tab, the form sent: the login
    page says nothing was done, and after logging in again the form is as it was sent (it
    used to be empty), with a message to check it and send it again."""
    context, market = logged_in(browser, url)
    try:
        market.goto(url + "/market")
        sell = market.locator("#sell-form")
        sell.locator("[name=amount_wh]").fill("77")
        sell.locator("[name=price]").fill("0.045")
        other_tab = context.new_page()
        other_tab.goto(url + "/account")
        other_tab.locator("form[action='/logout'] button").click()
        other_tab.wait_for_load_state()
        sell.locator("button").click()
        market.wait_for_load_state()
        assert market.url == url + "/login?next=%2Fmarket&unsent=1"  # no values in it
        expect(market.locator("p.flash")).to_contain_text("so what you sent was not done")
        market.fill("input[name=username]", "amina")
        market.fill("input[name=password]", PASSWORD)
        market.click("button[type=submit]")
        market.wait_for_load_state()
        assert market.url == url + "/market"
        expect(market.locator("p.flash")).to_have_text(re.compile(r"^Nothing was sent\."))
        again = market.locator("#sell-form")
        expect(again.locator("[name=amount_wh]")).to_have_value("77")
        expect(again.locator("[name=price]")).to_have_value("0.045")
        expect(market.locator("#mine")).not_to_contain_text("0.0450")  # nothing was placed
    finally:
        context.close()
