"""Two residents trade in Chromium: offer, take, delivery on the simulated meters, settlement.

Also once in Urdu (right to left) and once in MetaMask mode with an injected EIP-1193 wallet.
Screenshots of every page at 360 px and 1280 px go to test-artifacts/web/.
"""

from __future__ import annotations

import json
import time
from typing import Any

from eth_account import Account
from playwright.sync_api import Browser, Page, expect
from tests.browser.conftest import ARTIFACTS, OPERATOR_PASSWORD, Server
from tests.integration.web_support import PASSWORD

from gridshare.domain import DeliveryStatus

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
    install_wallet(chanda, server)
    chanda.goto(server.url + "/login")
    chanda.fill("input[name=username]", "chanda")
    chanda.fill("input[name=password]", PASSWORD)
    chanda.click("button[type=submit]")
    chanda.wait_for_load_state()
    assert chanda.locator("#use-wallet").is_checked()
    shoot(chanda, "metamask-market")
    trade_with_wallet(amina, chanda, server)


def install_wallet(page: Page, server: Server) -> None:
    """An injected EIP-1193 provider: reads go to /rpc, transactions are signed in Python."""
    w3 = server.runtime.chain.w3

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
    page.add_init_script(f"""
      window.ethereum = {{
        isMetaMask: true,
        async request({{method, params}}) {{
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


def trade_with_wallet(seller: Page, wallet_page: Page, server: Server) -> None:
    market = server.runtime.market
    seller.goto(server.url + "/market")
    sell = seller.locator("#sell-form")
    sell.locator("[name=amount_wh]").fill("1")
    sell.locator("[name=price]").fill(PRICE_COINS)
    sell.locator("button").click()
    seller.wait_for_load_state()
    order_id = int(seller.locator("#mine tr[data-order]").first.get_attribute("data-order") or 0)
    b0 = market.balances(WALLET.address)
    count = market.delivery_count()
    wallet_page.goto(server.url + "/market")
    wallet_page.locator(f"#offers form[data-order='{order_id}'] button").click()
    deadline = time.monotonic() + 30
    while market.delivery_count() == count:
        status = wallet_page.locator("#wallet-status").inner_text()
        assert time.monotonic() < deadline, f"wallet take did not land: {status}"
        time.sleep(0.2)
    assert market.balances(WALLET.address).escrowed - b0.escrowed == PRICE_WEI
    settled = wait_settled(server, market.delivery_count())
    b1 = market.balances(WALLET.address)
    assert b0.total - b1.total == settled.delivered_wh * PRICE_WEI
