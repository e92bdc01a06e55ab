"""Two residents trade in Chromium: offer, take, delivery on the simulated meters, settlement.

Also once in Urdu (right to left) and once in MetaMask mode with an injected EIP-1193 wallet.
Screenshots of every page at 360 px and 1280 px go to test-artifacts/web/.
"""

from __future__ import annotations

import json
import re
import time
from typing import Any

from eth_account import Account
from playwright.sync_api import Browser, Page, expect
from playwright.sync_api import TimeoutError as PlaywrightTimeout
from tests.browser.conftest import ARTIFACTS, OPERATOR_PASSWORD, Server
from tests.integration.web_support import PASSWORD

from gridshare.domain import DeliveryStatus
from gridshare.storage.users import UserStore
from gridshare.web.render import coins, month_names

PRICE_COINS = "0.5"
PRICE_WEI = 5 * 10**17
WALLET = Account.from_key("0x" + "7" * 64)
PAGES = ("/market", "/account", "/meter", "/community", "/account/export")


def login(browser: Browser, server: Server, username: str, password: str, width: int = 360
          ) -> Page:
    page = browser.new_context(viewport={"width": width, "height": 800}).new_page()
    page.goto(server.url + "/login")
    page.fill("input[name=username]", username)
    page.fill("input[name=password]", password)
    page.click("button[type=submit]")
    page.wait_for_load_state()
    return page


def shoot(page: Page, name: str) -> None:
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    for width in (360, 1280):
        page.set_viewport_size({"width": width, "height": 800})
        page.screenshot(path=str(ARTIFACTS / f"{name}-{width}.png"), full_page=True)
        scroll = page.evaluate("document.documentElement.scrollWidth")
        assert scroll <= width + 1, f"{name} overflows at {width}px ({scroll}px)"


def register_house(page: Page, server: Server, house: int, username: str,
                   wallet: str = "") -> None:
    entry = server.sim.entries[house - 1]
    page.goto(server.url + "/operator")
    form = page.locator("#register-form")
    for name, value in (("name", f"House {house}"), ("username", username),
                        ("password", PASSWORD), ("house_id", str(house)),
                        ("meter_id", str(entry.meter_id)), ("meter_url", entry.url),
                        ("meter_key", entry.key.hex), ("wallet_address", wallet),
                        ("top_up_coins", "100")):
        form.locator(f"[name={name}]").fill(value)
    form.locator("button").click()
    page.wait_for_load_state()
    if not wallet:
        assert len(page.locator("#recovery-phrase").inner_text().split()) == 12
    shoot(page, f"operator-created-{house}")


def wait_settled(server: Server, delivery_id: int, timeout: float = 60) -> Any:
    """The delivery once settled or expired; fails the test if the meters never finish it."""
    end = time.monotonic() + timeout
    while time.monotonic() < end:
        delivery = server.runtime.market.delivery(delivery_id)
        if delivery is not None and delivery.status is not DeliveryStatus.PENDING:
            return delivery
        time.sleep(0.5)
    raise AssertionError(f"delivery {delivery_id} not final after {timeout}s: "
                         f"{server.runtime.market.delivery(delivery_id)}")


def trade(seller: Page, buyer: Page, server: Server, wh: int) -> None:
    """Seller posts an offer; buyer takes it; the delivery settles; balances move exactly."""
    market = server.runtime.market
    seller_addr = seller.locator("#wallet-bar").get_attribute("data-address") or ""
    buyer.goto(server.url + "/market")
    buyer_addr = buyer.locator("#wallet-bar").get_attribute("data-address") or ""
    s0, b0 = market.balances(seller_addr), market.balances(buyer_addr)
    seller.goto(server.url + "/market")
    sell = seller.locator("#sell-form")
    sell.locator("[name=amount_wh]").fill(str(wh))
    sell.locator("[name=price]").fill(PRICE_COINS)
    sell.locator("button").click()
    seller.wait_for_load_state()
    expect(seller.locator("#mine tr[data-order]")).to_have_count(1)
    order_id = int(seller.locator("#mine tr[data-order]").first.get_attribute("data-order") or 0)
    count = market.delivery_count()
    buyer.goto(server.url + "/market")
    buyer.locator(f"#offers form[data-order='{order_id}'] button").click()
    deadline = time.monotonic() + 30
    while market.delivery_count() == count:
        assert time.monotonic() < deadline, "take did not create a delivery"
        time.sleep(0.2)
    delivery_id = market.delivery_count()
    escrowed = market.balances(buyer_addr).escrowed - b0.escrowed
    assert escrowed == wh * PRICE_WEI  # the cost moved into escrow
    buyer.goto(server.url + "/account")
    expect(buyer.locator(f"tr[data-delivery='{delivery_id}']")).to_have_count(1)
    settled = wait_settled(server, delivery_id)
    assert settled.status is DeliveryStatus.SETTLED
    paid = settled.delivered_wh * PRICE_WEI
    assert settled.delivered_wh > 0
    s1, b1 = market.balances(seller_addr), market.balances(buyer_addr)
    assert s1.available - s0.available == paid
    assert b0.total - b1.total == paid and b1.escrowed == b0.escrowed
    row = buyer.locator(f"tr[data-delivery='{delivery_id}']")  # updated live by app.js
    expect(row).to_have_attribute("data-status", "settled", timeout=15_000)
    expect(row.locator(".wh")).to_have_text(str(settled.delivered_wh))
    # in the page's own words ("Purchased", "خرید لیا"), not the API's "settled"
    # the day, its month in the page's language ("Nov", "نومبر"), and the village's time
    months = "|".join(month_names(buyer.locator("html").get_attribute("lang") or "en"))
    expect(row.locator(".when")).to_have_text(re.compile(rf"^\d\d ({months}) \d\d:\d\d$"))
    word = row.get_attribute("data-label-settled") or ""
    assert word in ("Purchased", "خرید لیا"), word
    expect(row.locator(".status")).to_have_text(word)
    # the balances above move with it, without a reload (they stayed at the old escrow)
    symbol = (buyer.locator("#bal-available").text_content() or "").split()[-1]
    expect(buyer.locator("#bal-escrowed")).to_have_text(f"{coins(b1.escrowed)} {symbol}")
    expect(buyer.locator("#bal-available")).to_have_text(f"{coins(b1.available)} {symbol}")


def shoot_login(browser: Browser, server: Server, lang: str) -> None:
    page = browser.new_context(viewport={"width": 360, "height": 800}).new_page()
    page.goto(server.url + f"/lang/{lang}?next=/login")
    expect(page.locator("input[name=csrf_token]")).to_have_count(1)
    shoot(page, f"{lang}-login")
    page.context.close()


def shoot_key_export(page: Page, server: Server, name: str) -> None:
    """The key-export result page, after re-entering the password."""
    page.goto(server.url + "/account/export")
    page.fill("input[name=password]", PASSWORD)
    page.click("main button[type=submit]")
    page.wait_for_load_state()
    mine = page.request.get(server.url + "/api/v1/session").json()["user"]["address"]
    key = page.locator("#private-key").inner_text()
    assert Account.from_key(key).address == mine
    shoot(page, name)


def test_two_residents_trade_in_english_and_urdu_and_with_metamask(
    browser: Browser, server: Server
) -> None:
    operator = login(browser, server, "operator", OPERATOR_PASSWORD, 1280)
    shoot(operator, "operator")
    register_house(operator, server, 1, "amina")
    register_house(operator, server, 2, "bilal")
    register_house(operator, server, 3, "chanda", wallet=WALLET.address)

    amina = login(browser, server, "amina", PASSWORD)
    bilal = login(browser, server, "bilal", PASSWORD)
    trade(amina, bilal, server, 1)
    for path in PAGES:
        bilal.goto(server.url + path)
        shoot(bilal, "en" + path.replace("/", "-"))

    # once in Urdu: right to left, translated, same trade
    for page in (amina, bilal):
        page.goto(server.url + "/lang/ur?next=/market")
        assert page.locator("html").get_attribute("dir") == "rtl"
    expect(bilal.locator("#sell-form button")).to_have_text("پیشکش شائع کریں")
    trade(bilal, amina, server, 1)
    for path in PAGES:
        amina.goto(server.url + path)
        shoot(amina, "ur" + path.replace("/", "-"))

    # MetaMask mode: an injected EIP-1193 wallet signs; the server holds no key for chanda
    chanda = browser.new_context(viewport={"width": 360, "height": 800}).new_page()
    requests = install_wallet(chanda, server)
    chanda.goto(server.url + "/login")
    chanda.fill("input[name=username]", "chanda")
    chanda.fill("input[name=password]", PASSWORD)
    chanda.click("button[type=submit]")
    chanda.wait_for_load_state()
    assert chanda.locator("#use-wallet").is_checked()
    shoot(chanda, "metamask-market")
    trade_with_wallet(amina, chanda, server)
    sent = [r["method"] for r in requests]
    assert "eth_requestAccounts" in sent and "eth_sendTransaction" in sent  # the wallet signed
    assert_server_holds_no_key(chanda, server, "chanda")
    add_network(chanda, server, requests)

    # after the trades: the simulated buyers' batteries fill up within seconds of the start
    # (at 20x), and a buyer with a full battery draws nothing, so trades go first
    shoot_key_export(bilal, server, "en-account-export-result")
    shoot_key_export(amina, server, "ur-account-export-result")
    shoot_login(browser, server, "en")
    shoot_login(browser, server, "ur")


def assert_server_holds_no_key(page: Page, server: Server, username: str) -> None:
    """No keystore is stored for a MetaMask account, and key export is refused."""
    user = UserStore(server.runtime.database).by_username(username)
    assert user is not None and user.keystore is None and user.address == WALLET.address
    session = page.request.get(server.url + "/api/v1/session").json()
    assert session["user"]["holds_key"] is False
    refused = page.request.post(server.url + "/api/v1/me/key-export",
                                data={"password": PASSWORD},
                                headers={"X-CSRF-Token": session["csrf_token"]})
    assert refused.status == 400 and refused.json()["error"]["code"] == "no_key"
    page.goto(server.url + "/account/export")
    page.fill("input[name=password]", PASSWORD)
    page.click("main button[type=submit]")
    page.wait_for_load_state()
    expect(page.locator("#private-key")).to_have_count(0)
    expect(page.locator(".flash")).to_contain_text("does not hold a key")
    shoot(page, "metamask-account-export-refused")


def add_network(page: Page, server: Server, requests: list[dict[str, Any]]) -> None:
    """The "Add this network to MetaMask" button asks the wallet for wallet_addEthereumChain."""
    page.goto(server.url + "/market")
    assert not [r for r in requests if r["method"] == "wallet_addEthereumChain"]
    page.click("#add-network")
    expect(page.locator("#wallet-status")).to_have_text("Network added.")
    added = [r for r in requests if r["method"] == "wallet_addEthereumChain"]
    assert len(added) == 1, requests
    (chain,) = added[0]["params"]
    assert chain["chainId"] == hex(server.runtime.settings.chain_id)
    assert chain["rpcUrls"] == [server.url + "/rpc"]


def install_wallet(page: Page, server: Server) -> list[dict[str, Any]]:
    """An injected EIP-1193 provider: reads go to /rpc, transactions are signed in Python.

    Returns the list it records every request the page makes of it in ({method, params})."""
    w3 = server.runtime.chain.w3
    requests: list[dict[str, Any]] = []

    def sign(tx_json: str) -> str:
        tx = json.loads(tx_json)
        fields = {
            "from": WALLET.address, "to": tx["to"], "data": tx["data"],
            "value": int(tx.get("value", "0x0"), 16), "chainId": int(w3.eth.chain_id),
            "nonce": w3.eth.get_transaction_count(WALLET.address, "pending"),
        }
        fields["gas"] = int(w3.eth.estimate_gas(fields)) * 2  # type: ignore[arg-type]
        fields["maxFeePerGas"] = 0
        fields["maxPriorityFeePerGas"] = 0
        signed = WALLET.sign_transaction(fields)
        return "0x" + bytes(signed.raw_transaction).hex()

    page.expose_function("gsSignTransaction", sign)
    page.expose_function("gsRecord", lambda call: requests.append(json.loads(call)))
    page.add_init_script(f"""
      window.ethereum = {{
        isMetaMask: true,
        async request({{method, params}}) {{
          await window.gsRecord(JSON.stringify({{method, params: params ?? null}}));
          if (method === "eth_requestAccounts" || method === "eth_accounts")
            return ["{WALLET.address}"];
          if (method === "wallet_addEthereumChain" || method === "wallet_switchEthereumChain")
            return null;
          if (method === "eth_sendTransaction") {{
            const raw = await window.gsSignTransaction(JSON.stringify(params[0]));
            method = "eth_sendRawTransaction"; params = [raw];
          }}
          const r = await fetch("/rpc", {{method: "POST",
            headers: {{"content-type": "application/json"}},
            body: JSON.stringify({{jsonrpc: "2.0", id: 1, method, params}})}});
          const body = await r.json();
          if (body.error) throw new Error(body.error.message);
          return body.result;
        }},
      }};
    """)
    return requests


def trade_with_wallet(seller: Page, wallet_page: Page, server: Server) -> None:
    market = server.runtime.market
    seller.goto(server.url + "/market")
    sell = seller.locator("#sell-form")
    sell.locator("[name=amount_wh]").fill("1")
    sell.locator("[name=price]").fill(PRICE_COINS)
    sell.locator("button").click()
    seller.wait_for_load_state()
    order_id = int(seller.locator("#mine tr[data-order]").first.get_attribute("data-order") or 0)
    seller_addr = seller.locator("#wallet-bar").get_attribute("data-address") or ""
    s0, b0 = market.balances(seller_addr), market.balances(WALLET.address)
    count = market.delivery_count()
    wallet_page.goto(server.url + "/market")
    try:  # the page reloads once the wallet's transaction has its receipt
        with wallet_page.expect_navigation(timeout=30_000):
            wallet_page.locator(f"#offers form[data-order='{order_id}'] button").click()
    except PlaywrightTimeout:
        status = wallet_page.locator("#wallet-status").inner_text()
        raise AssertionError(f"wallet take did not land: {status}") from None
    assert market.delivery_count() == count + 1
    assert market.balances(WALLET.address).escrowed - b0.escrowed == PRICE_WEI
    settled = wait_settled(server, market.delivery_count())
    assert settled.status is DeliveryStatus.SETTLED and settled.delivered_wh > 0
    assert settled.buyer.lower() == WALLET.address.lower()
    paid = settled.delivered_wh * PRICE_WEI
    s1, b1 = market.balances(seller_addr), market.balances(WALLET.address)
    assert s1.available - s0.available == paid
    assert b0.total - b1.total == paid and b1.escrowed == b0.escrowed
