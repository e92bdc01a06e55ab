"""axe-core finds no serious or critical WCAG 2.1 A/AA violation on any page (the residents',
the operator's and the explorer's), in English and in Urdu (right to left), on a 360x740
phone.

axe-core comes from node_modules (package.json) and runs inside the page once its scripts
have drawn their charts. The pages send a strict CSP (`script-src 'self'`), which blocks a
`<script>` with axe's source; `page.evaluate` runs it through the DevTools protocol, which
the page's CSP does not govern, so the pages are checked with their real CSP, unchanged.

A server of its own with one simulated meter, and a market with something on it: amina and
bilal have open offers and demands, and amina has bought from bilal, so the order boards, the
account's tables, the delivery progress and an unreachable meter are on the pages, not only
"Nothing here yet."
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest
from playwright.sync_api import Browser, BrowserContext, Page
from tests.integration.engine.support import sim_in_thread
from tests.integration.web_support import OPERATOR_PASSWORD, PASSWORD, web_app
from tests.support.live_server import serve_in_thread
from tests.support.nodes import free_port

from gridshare.sim import SimSettings

AXE = Path(__file__).resolve().parents[2] / "node_modules" / "axe-core" / "axe.min.js"
PHONE = {"width": 360, "height": 740}
TAGS = ["wcag2a", "wcag2aa", "wcag21a", "wcag21aa"]
BLOCKING = ("serious", "critical")
UNREACHABLE = "http://127.0.0.1:9"  # bilal's meter: the community page says so
# (path, who is logged in, what the page's scripts draw before it is finished); {amina},
# {operator} and {tx} are filled in once the market is in use
PAGES = (
    ("/login", None, None),
    ("/recover", None, None),
    ("/no-such-page", None, None),
    ("/market", "amina", "#price-chart .uplot"),
    ("/account", "amina", None),
    ("/account/password", "amina", None),
    ("/meter", "amina", "#meter-chart .u-legend"),
    ("/community", "amina", None),
    ("/account/export", "amina", None),
    ("/no-such-page", "amina", None),
    ("/operator", "operator", None),
    ("/explorer", None, None),
    ("/explorer/block/1", None, None),
    ("/explorer/tx/{tx}", None, None),
    ("/explorer/address/{amina}", None, None),
    ("/explorer/address/{operator}", None, None),  # the widest tables: every registration
    ("/explorer/order/1", None, None),
    ("/explorer/delivery/1", None, None),
    ("/explorer/search?q=house", None, None),
    ("/explorer/block/999999", None, None),
)
RUN_AXE = """tags => axe.run(document, {runOnly: {type: "tag", values: tags},
                                     resultTypes: ["violations"]})
  .then(r => ({violations: r.violations.map(v => ({
                 id: v.id, impact: v.impact, help: v.help,
                 targets: v.nodes.map(n => n.target.join(" "))})),
               passes: r.passes.map(v => v.id)}))"""
# rules that pass on every page: axe ran, and found the language and the text to check
RAN = {"html-has-lang", "html-lang-valid", "document-title", "color-contrast"}


@dataclass(frozen=True)
class Site:
    url: str
    filled: dict[str, str]  # what PAGES' {names} stand for


@pytest.fixture(scope="module")
def site(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Site]:
    """A live server with amina on the simulated meter, bilal on one that never answers, and
    a market in use, all of it indexed by the explorer."""
    settings = SimSettings(
        houses=1, base_port=free_port(), speed=20.0, data_dir=tmp_path_factory.mktemp("a11y-m")
    )
    with (
        sim_in_thread(settings) as sim,
        web_app(tmp_path_factory.mktemp("a11y-server")) as (_runtime, _settings, app),
        serve_in_thread(app) as base,
    ):
        entry = sim.entries[0]
        operator = api_login(base, "operator", OPERATOR_PASSWORD)
        houses = ((entry.house_id, entry.meter_id, "amina", entry.url, entry.key.hex),
                  (entry.house_id + 1, entry.meter_id + 1, "bilal", UNREACHABLE, "33" * 32))
        for house, meter, name, meter_url, key in houses:
            body = {"name": f"House {house}", "username": name, "password": PASSWORD,
                    "house_id": house, "meter_id": meter, "meter_url": meter_url,
                    "meter_key": key, "top_up_coins": 100}
            operator.post("/api/v1/households", json=body).raise_for_status()
        amina, bilal = api_login(base, "amina", PASSWORD), api_login(base, "bilal", PASSWORD)
        offer = place(bilal, "sell", 50)
        place(bilal, "buy", 40)
        place(amina, "sell", 30)
        amina.post(f"/api/v1/orders/{offer}/take", json={"amount_wh": 20}).raise_for_status()
        deadline = time.monotonic() + 60
        while (summary := operator.get("/api/v1/explorer/summary").json())[
                "indexed_block"] != summary["head_block"]:
            assert time.monotonic() < deadline, "the explorer did not index the market"
            time.sleep(0.1)
        delivery = operator.get("/api/v1/explorer/deliveries/1").json()
        yield Site(base, {"amina": amina.get("/api/v1/me").json()["user"]["address"],
                          "operator": operator.get("/api/v1/me").json()["user"]["address"],
                          "tx": delivery["created_tx"]})


def api_login(base: str, username: str, password: str) -> httpx.Client:
    """An API client logged in as `username`, sending its CSRF token with every request."""
    client = httpx.Client(base_url=base)
    login = client.post("/api/v1/session", json={"username": username, "password": password})
    login.raise_for_status()
    client.headers["X-CSRF-Token"] = login.json()["csrf_token"]
    return client


def place(client: httpx.Client, side: str, amount_wh: int) -> int:
    placed = client.post("/api/v1/orders",
                         json={"side": side, "amount_wh": amount_wh, "price_per_wh": 10**15})
    placed.raise_for_status()
    return int(placed.json()["id"])


@pytest.fixture(scope="module")
def phone(browser: Browser, site: Site) -> Iterator[Callable[[str, str | None], Page]]:
    """A 360x740 phone for (language, who is logged in: amina, the operator or nobody), one
    per pair, kept."""
    made: dict[tuple[str, str | None], tuple[BrowserContext, Page]] = {}
    passwords = {"amina": PASSWORD, "operator": OPERATOR_PASSWORD}

    def open_(lang: str, who: str | None) -> Page:
        if (lang, who) not in made:
            context = browser.new_context(viewport=PHONE)
            context.add_cookies([{"name": "gs_lang", "value": lang, "url": site.url}])
            page = context.new_page()
            if who:
                page.goto(site.url + "/login")
                page.fill("input[name=username]", who)
                page.fill("input[name=password]", passwords[who])
                page.click("button[type=submit]")
                page.wait_for_url(lambda went: not went.endswith("/login"))
            made[lang, who] = context, page
        return made[lang, who][1]

    yield open_
    for context, _page in made.values():
        context.close()


def report(violations: list[dict[str, Any]]) -> str:
    """One line per violation: what rule, how bad, what to do, and where (the first few)."""
    lines = []
    for v in violations:
        where = ", ".join(v["targets"][:4]) + (" …" if len(v["targets"]) > 4 else "")
        lines.append(f"{v['id']} ({v['impact']}, {len(v['targets'])}x): {v['help']} at {where}")
    return "\n".join(lines)


@pytest.mark.parametrize("lang", ["en", "ur"])
@pytest.mark.parametrize(("path", "who", "drawn"), PAGES,
                         ids=[f"{p}{'-' + w if w else ''}" for p, w, _ in PAGES])
def test_axe_finds_no_serious_or_critical_violation(
    phone: Callable[[str, str | None], Page], site: Site, lang: str, path: str,
    who: str | None, drawn: str | None,
) -> None:
    page = phone(lang, who)
    address = site.url + path.format_map(site.filled)
    page.goto(address)
    assert page.url == address  # not sent to /login: the page itself is checked
    assert page.locator("html").get_attribute("lang") == lang
    assert page.locator("html").get_attribute("dir") == ("rtl" if lang == "ur" else "ltr")
    if drawn:
        page.wait_for_selector(drawn, timeout=15_000)
    page.evaluate(AXE.read_text(encoding="utf-8"))
    result = page.evaluate(RUN_AXE, TAGS)
    assert not RAN - set(result["passes"]), result  # axe ran its rules on this page
    blocking = [v for v in result["violations"] if v["impact"] in BLOCKING]
    assert not blocking, f"{path} in {lang}:\n{report(blocking)}"


@pytest.mark.parametrize("lang", ["en", "ur"])
def test_the_operators_households_table_fits_a_phone(
    phone: Callable[[str, str | None], Page], site: Site, lang: str
) -> None:
    """Every column, "Stop trading" too, shows on a 360 px phone without swiping the card
    (WCAG 1.4.10, reflow; it was 402 px wide in a 344 px card: the last column off screen)."""
    page = phone(lang, "operator")
    page.goto(site.url + "/operator")
    widths = page.evaluate("""() => {
        const card = document.querySelector("tr[data-house]").closest("section");
        return [card.scrollWidth, card.clientWidth];
    }""")
    assert widths[0] <= widths[1], widths  # nothing to scroll sideways in the card
    stop = page.locator("tr[data-house] button[type=submit].link").first  # "Stop trading"
    box = stop.bounding_box()
    assert box is not None and box["x"] >= 0 and box["x"] + box["width"] <= PHONE["width"], box
