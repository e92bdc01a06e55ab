"""The operator page's forms: each field's rule in words, naming the field as the form labels
it, and the fields read from the text a form sends.

A refused form says these sentences (translated on an Urdu page), never pydantic's English
under the field's code name ("coins: Input should be greater than or equal to 1"); the JSON
API keeps its own error shape, the field's name and pydantic's rule."""

from __future__ import annotations

from collections.abc import Mapping

from pydantic import ValidationError

from gridshare.meters.address import RULE as ADDRESS_RULE
from gridshare.services.accounts import MAX_PASSWORD, MIN_PASSWORD, USERNAME_RULE
from gridshare.web.market_form import FIELD_CHARS, typed_number, whole_number
from gridshare.web.schemas import MAX_HOUSE_ID, MAX_NAME, MAX_TOP_UP_COINS

NAME_RULE = f"Name: 1 to {MAX_NAME} characters."
PASSWORD_RULE = f"Password: at least {MIN_PASSWORD} and at most {MAX_PASSWORD} characters."
HOUSE_ID_RULE = f"House id: a whole number from 1 to {MAX_HOUSE_ID:,}."
METER_ID_RULE = f"Meter id: a whole number from 1 to {MAX_HOUSE_ID:,}."
METER_URL_RULE = f"Meter URL: {ADDRESS_RULE}."
METER_KEY_RULE = "Meter key (hex): 64 hex digits (0-9, a-f)."
WALLET_RULE = "Wallet address: 0x and 40 hex digits (0-9, a-f), or left empty."
FIRST_TOP_UP_RULE = f"Top up: a whole number from 0 to {MAX_TOP_UP_COINS:,}."
TOP_UP_RULE = f"Top up: a whole number from 1 to {MAX_TOP_UP_COINS:,}."
HOUSE_RULE = "House: choose one of the registered houses."
TRADING_RULE = "Trading: choose Stop trading or Let it trade."
NEW_KEY_RULE = "New meter key: 64 hex digits (0-9, a-f), or left empty to keep the key."
NEW_PASSWORD_RULE = (f"New password: at least {MIN_PASSWORD} and at most {MAX_PASSWORD}"
                     " characters.")
MECHANISM_RULE = "Market mechanism: choose one from the list."

# each form's fields (the model's names) in the form's order, with their rules
REGISTER_RULES: Mapping[str, str] = {
    "name": NAME_RULE, "username": USERNAME_RULE, "password": PASSWORD_RULE,
    "house_id": HOUSE_ID_RULE, "meter_id": METER_ID_RULE, "meter_url": METER_URL_RULE,
    "meter_key": METER_KEY_RULE, "wallet_address": WALLET_RULE,
    "top_up_coins": FIRST_TOP_UP_RULE,
}
METER_RULES: Mapping[str, str] = {"meter_url": METER_URL_RULE, "meter_key": NEW_KEY_RULE}
TRADING = {"true": True, "false": False}  # what the households table's buttons send
MAX_ROW_ID = 2**63 - 1  # a house id beyond SQLite's INTEGER names no house


def broken_rules(exc: ValidationError, rules: Mapping[str, str]) -> tuple[str, ...]:
    """The rules of the fields `exc` refused, in the form's order, each once (all of them
    if it names none of the form's fields)."""
    refused = {str(error["loc"][0]) for error in exc.errors() if error["loc"]}
    return tuple(rule for name, rule in rules.items() if name in refused) or tuple(
        rules.values())


def typed_int(text: str) -> int | str:
    """A number field's text as the whole number its digits spell (ASCII, Urdu or Arabic),
    else the text as it came, for the form's model to refuse under the field's rule."""
    digits = typed_number(text)
    if 0 < len(digits) <= FIELD_CHARS and digits.isascii() and digits.isdigit():
        return int(digits)
    return text


def house_number(text: str) -> int | None:
    """The house a form names (a select's value, a hidden field, a URL's part), or None."""
    return whole_number(text, MAX_ROW_ID)
