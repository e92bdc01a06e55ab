"""Every operator form refuses bad input with a sentence of the page's own: the field named as
the form labels it, and its rule, in English and on the Urdu page in Urdu.

The forms used to flash pydantic's English under the field's code name ("coins: Input should
be greater than or equal to 1", "username: String should match pattern ...") even on the Urdu
page, or answer a 422 page of the same ("house_id: Input should be a valid integer"), and the
mechanism form said "Unknown mechanism.". The real app, chain and database.
"""

from __future__ import annotations

import html
import re
from collections.abc import Iterator
from dataclasses import dataclass

import pytest
from eth_account import Account
from fastapi.testclient import TestClient

from tests.integration.web_support import OPERATOR_PASSWORD, PASSWORD, log_in, register, web_app

HOUSE = 3  # registered with a wallet of its own, so its password is the operator's to reset


@dataclass
class Operator:
    client: TestClient
    csrf: str


@pytest.fixture(scope="module")
def operator(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Operator]:
    with web_app(tmp_path_factory.mktemp("server"), market_engine=False) as (_r, _s, app):
        client, csrf = log_in(app, "operator", OPERATOR_PASSWORD)
        register(client, csrf, HOUSE, "amina", "http://127.0.0.1:9", "33" * 32, coins=0,
                 wallet=Account.create().address)
        yield Operator(client, csrf)


def flashes(page: str) -> list[str]:
    return re.findall(r'<p class="flash" role="status"[^>]*>(.*?)</p>', html.unescape(page), re.S)


NEW_HOUSE = {"name": "Bilal", "username": "bilal", "password": PASSWORD, "house_id": "7",
             "meter_id": "7", "meter_url": "http://127.0.0.1:9", "meter_key": "44" * 32,
             "top_up_coins": "0"}

# (form, where it posts, what it sends, what the page says in English, and in Urdu)
REFUSALS = [
    ("register: username and key", "/operator/households",
     {**NEW_HOUSE, "username": "bilal khan", "meter_key": "12"},
     ["Username: 3-32 letters, digits, '.', '_' or '-'.",
      "Meter key (hex): 64 hex digits (0-9, a-f)."],
     ["صارف نام: 3 سے 32 حروف، ہندسے، '.'، '_' یا '-'۔",
      "میٹر کی کلید (hex): 64 hex ہندسے (0-9، a-f)۔"]),
    ("register: numbers", "/operator/households",
     {**NEW_HOUSE, "house_id": "7a", "top_up_coins": "-5"},
     ["House id: a whole number from 1 to 1,000,000.",
      "Top up: a whole number from 0 to 1,000,000,000."],
     ["گھر نمبر: 1 سے 1,000,000 تک کا پورا عدد۔",
      "رقم جمع کریں: 0 سے 1,000,000,000 تک کا پورا عدد۔"]),
    ("register: name, password, wallet", "/operator/households",
     {**NEW_HOUSE, "name": "", "password": "short", "wallet_address": "0x12"},
     ["Name: 1 to 64 characters.", "Password: at least 8 and at most 256 characters.",
      "Wallet address: 0x and 40 hex digits (0-9, a-f), or left empty."],
     ["نام: 1 سے 64 حروف۔", "پاس ورڈ: کم از کم 8 اور زیادہ سے زیادہ 256 حروف۔",
      "والٹ کا پتہ: 0x اور 40 hex ہندسے (0-9، a-f)، یا خالی چھوڑ دیں۔"]),
    ("top up", "/operator/top-up",
     {"house_id": str(HOUSE), "coins": "۰", "request_key": "k" * 20},
     ["Top up: a whole number from 1 to 1,000,000,000."],
     ["رقم جمع کریں: 1 سے 1,000,000,000 تک کا پورا عدد۔"]),
    ("change a meter", "/operator/meter",
     {"house_id": str(HOUSE), "meter_url": "ftp://meter", "meter_key": "xyz"},
     ["Meter URL: must be http://host or http://host:port (or https; port 1-65535; a path,"
      " for a meter behind a proxy, is kept), with no user, query or fragment.",
      "New meter key: 64 hex digits (0-9, a-f), or left empty to keep the key."],
     ["میٹر کا پتہ (URL): http://host یا http://host:port ہونا چاہیے (یا https؛ پورٹ 1 سے"
      " 65535؛ پراکسی کے پیچھے میٹر کا path رکھا جاتا ہے)، اس میں user، query یا fragment نہ"
      " ہو۔",
      "میٹر کی نئی کلید: 64 hex ہندسے (0-9، a-f)، یا پرانی کلید رکھنے کے لیے خالی چھوڑ دیں۔"]),
    ("change a meter: no house", "/operator/meter",
     {"house_id": "house 3", "meter_url": "http://127.0.0.1:9"},
     ["House: choose one of the registered houses."],
     ["گھر: رجسٹرڈ گھروں میں سے ایک چنیں۔"]),
    ("stop or let trade", f"/operator/households/{HOUSE}/active", {"active": "maybe"},
     ["Trading: choose Stop trading or Let it trade."],
     ["تجارت: “تجارت روکیں” یا “تجارت کی اجازت دیں” چنیں۔"]),
    ("wallet household's password", "/operator/password",
     {"house_id": str(HOUSE), "new_password": "short"},
     ["New password: at least 8 and at most 256 characters."],
     ["نیا پاس ورڈ: کم از کم 8 اور زیادہ سے زیادہ 256 حروف۔"]),
    ("mechanism", "/operator/mechanism", {"mechanism": "lottery"},
     ["Market mechanism: choose one from the list."],
     ["مارکیٹ کا طریقہ: فہرست میں سے ایک چنیں۔"]),
]


@pytest.mark.parametrize(("path", "form", "english", "urdu"),
                         [case[1:] for case in REFUSALS], ids=[case[0] for case in REFUSALS])
def test_a_refused_operator_form_names_the_field_as_labelled_and_its_rule_in_the_pages_language(
    operator: Operator, path: str, form: dict[str, str], english: list[str], urdu: list[str],
) -> None:
    client = operator.client
    for lang, said in (("en", english), ("ur", urdu)):
        client.cookies.set("gs_lang", lang)
        sent = client.post(path, data={**form, "csrf_token": operator.csrf},
                           follow_redirects=False, headers={"accept": "text/html"})
        assert sent.status_code == 303, sent.text[:500]
        assert flashes(client.get("/operator").text) == said
    households = client.get("/api/v1/households").json()  # the refusals changed nothing
    assert [(h["house_id"], h["meter_url"], h["balances"]["available"], h["active"])
            for h in households] == [(HOUSE, "http://127.0.0.1:9", "0", True)]
