"""Every sentence the pages can show has its Urdu: the template texts, and the messages the
server puts on a page (flash messages, error pages, form rules). A text missing from the
catalog shows in English inside a right-to-left page, its full stop on the wrong side."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest

from gridshare.chain.errors import REVERT_REASONS
from gridshare.local_time import MONTHS, village_zone
from gridshare.services.accounts import PHRASE_RULE
from gridshare.storage.request_keys import BAD_KEY
from gridshare.web import i18n
from gridshare.web.error_pages import OUT_OF_DATE, WORDS
from gridshare.web.errors import ApiError
from gridshare.web.market_form import AMOUNT_RULE, MINUTES_RULE, price_rule
from gridshare.web.operator_form import (
    HOUSE_RULE,
    MECHANISM_RULE,
    METER_RULES,
    NEW_PASSWORD_RULE,
    REGISTER_RULES,
    TOP_UP_RULE,
    TRADING_RULE,
)
from gridshare.web.page_login import LOGGED_OUT, SESSION_EXPIRED
from gridshare.web.page_rules import SENTENCES
from gridshare.web.readings import METER_STATES, RESIDENT_SENTENCES
from gridshare.web.render import day_month_time, script_texts
from gridshare.web.routes.api_operator import (
    NOT_YET_TOPPED_UP,
    TOP_UP_FAILED,
    TOP_UP_UNCONFIRMED,
    UNCONFIRMED,
)
from gridshare.web.routes.pages import STALE_PAGE
from gridshare.web.routes.pages_operator import (
    DONE,
    FORM_SENT,
    MAY_TRADE,
    MECHANISMS,
    METER_ANSWERS,
    METER_FAILED,
    METER_KEY_CHANGED,
    METER_MOVED,
    METER_NOT_CHECKED,
    METER_SAYS,
    NEW_PASSWORD,
    NO_HOUSE,
    OPERATOR_ONLY,
    OPERATOR_ONLY_ACTS,
    STOPPED,
    TOP_UP_UNFINISHED,
    TOPPED_UP,
)
from gridshare.web.routes.pages_password import CHANGED, DIFFER
from gridshare.web.security import LoginLimiter, reserve_attempt
from gridshare.web.unsent_forms import UNSENT_BACK

TEMPLATES = Path(__file__).parents[3] / "src" / "gridshare" / "web" / "templates"
URDU = json.loads((TEMPLATES / "_locales" / "ur.json").read_text(encoding="utf-8"))
LITERAL = re.compile(r"""\bt\(\s*(?:"((?:[^"\\]|\\.)*)"|'((?:[^'\\]|\\.)*)')\s*\)""")
MESSAGES = [*MECHANISMS, LOGGED_OUT, SESSION_EXPIRED, STALE_PAGE, OUT_OF_DATE, *WORDS.values(),
            UNSENT_BACK,
            UNCONFIRMED, NOT_YET_TOPPED_UP, TOP_UP_UNCONFIRMED, TOP_UP_FAILED,
            AMOUNT_RULE, MINUTES_RULE, DIFFER, CHANGED, PHRASE_RULE, *MONTHS,
            OPERATOR_ONLY, OPERATOR_ONLY_ACTS, NO_HOUSE, DONE, TOPPED_UP, FORM_SENT,
            TOP_UP_UNFINISHED, MAY_TRADE, STOPPED,
            NEW_PASSWORD, METER_MOVED, *REGISTER_RULES.values(), *METER_RULES.values(),
            TOP_UP_RULE, HOUSE_RULE, TRADING_RULE, NEW_PASSWORD_RULE, MECHANISM_RULE,
            METER_KEY_CHANGED, METER_ANSWERS, METER_NOT_CHECKED, *METER_SAYS.values(), METER_FAILED,
            *METER_STATES.values(), *RESIDENT_SENTENCES.values(), *SENTENCES, BAD_KEY,
            *(REVERT_REASONS[r].message for r in ("not operator", "zero address",
                                                  "operator account", "house taken"))]


def template_texts() -> set[str]:
    found = set()
    for template in TEMPLATES.rglob("*.html"):
        for double, single in LITERAL.findall(template.read_text(encoding="utf-8")):
            found.add(double or single)
    return found


def test_the_templates_are_read() -> None:
    texts = template_texts()
    assert {"Log in", "Forgot your password?", "connected"} <= texts  # the pattern finds them
    assert len(texts) > 60


def test_the_scripts_texts_are_found() -> None:
    assert {"Network added.", "Sent {hash}…, waiting…", "PV W"} <= set(script_texts())


@pytest.mark.parametrize("text", sorted(template_texts()) + list(script_texts()) + MESSAGES)
def test_every_text_a_page_shows_has_its_urdu(text: str) -> None:
    assert URDU.get(text, "").strip(), f"no Urdu for {text!r}"


def test_a_translated_pattern_uses_only_the_values_its_english_has() -> None:
    """A value the English message does not carry could not be filled in: a broken page."""
    holes = re.compile(r"\{(\w+)\}")
    patterned = {k: v for k, v in URDU.items() if holes.search(k)}
    assert len(patterned) >= 10
    for english, urdu in patterned.items():
        assert set(holes.findall(urdu)) == set(holes.findall(english)), english


@pytest.mark.parametrize("what", ["failed logins", "wrong passwords", "wrong recovery phrases"])
def test_the_wait_after_too_many_tries_is_said_in_urdu_with_its_seconds(what: str) -> None:
    limiter = LoginLimiter(max_failures=1)
    reserve_attempt(limiter, what, "ip:test")  # a wrong one, counted
    with pytest.raises(ApiError) as refused:
        reserve_attempt(limiter, what, "ip:test")
    shown = i18n.gettext("ur", refused.value.message)
    assert shown != refused.value.message
    assert re.search(r"\b\d+ سیکنڈ انتظار کریں۔$", shown), shown


@pytest.mark.parametrize("refusal", [
    "There is no house 99.", "House 3 is already registered.", "House 3 has no login here.",
    "The treasury holds 1,000 PKR, less than the top-up.", "Meter 4 belongs to house 3.",
    "Meter 4 is house 3's meter.", "That account is already house 3.", "'Amina' is house 3.",
    "That account is already a registered household.", "A top-up must be more than zero.",
    "A household needs a name.", "House id must be 1 or more.", "That username is taken.",
    "Username: 3-32 letters, digits, '.', '_' or '-'.", "Not an Ethereum address.",
])
def test_the_services_refusals_on_the_operator_page_are_said_in_urdu_with_their_values(
    refusal: str,
) -> None:
    """The household, account and meter services word these inline, values and all; the
    operator's forms flash them as they come."""
    shown = i18n.gettext("ur", refusal)
    assert shown != refusal
    for value in re.findall(r"\d[\d,]*|'\w+'", refusal):  # house and meter numbers, a name
        assert value in shown, (value, shown)


@pytest.mark.parametrize("said", [
    "Your offer #12 is posted: 25 Wh at 0.0190 PKR/Wh.",
    "Your demand #13 is posted: 40 Wh at 0.0200 PKR/Wh.",
    "You bought 30 Wh at 0.0120 PKR/Wh (delivery #7): My account shows it arriving.",
    "You sold 30 Wh at 0.0120 PKR/Wh (delivery #8): My account shows it leaving.",
    "Your order #12 is cancelled.",
    "House 3 was topped up with 1,500 PKR.",
])
def test_what_a_trade_did_is_said_in_urdu_with_its_numbers(said: str) -> None:
    """The market page says what was done, numbers and all, where it said "Done."."""
    shown = i18n.gettext("ur", said)
    assert shown != said
    for value in re.findall(r"#\d+|\d+\.\d+|\b\d+\b|PKR", said):
        assert value in shown, (value, shown)


@pytest.mark.parametrize("named", [
    "block 7", "order 7", "delivery 7", f"transaction 0x{'ab' * 32}", f"address 0x{'ab' * 20}",
])
def test_what_the_explorer_names_is_said_in_urdu_with_its_number(named: str) -> None:
    """The explorer's routes name what was not found, and its search the candidates, in
    English ("order 7"); the pages show them through the catalog's patterns."""
    shown = i18n.gettext("ur", named)
    assert shown != named and shown.endswith(named.split()[1])


@pytest.mark.parametrize("word", ["open", "filled", "cancelled", "expired", "pending", "settled",
                                  "overdue", "buy", "sell", "block", "tx", "address", "house",
                                  "order", "delivery"])
def test_the_explorers_statuses_sides_and_kinds_have_their_urdu(word: str) -> None:
    """Orders' and deliveries' statuses and sides, and the search's kinds, as the explorer's
    records spell them."""
    assert URDU.get(word, "").strip(), word


def test_messages_with_values_and_several_sentences_are_translated_piece_by_piece() -> None:
    rule = price_rule("PKR")
    assert i18n.gettext("ur", rule) == URDU[
        "Price per Wh: a number of {symbol} like 0.05, above 0 and at most {max}, with at most "
        "{decimals} decimals."].format(symbol="PKR", max="1,000,000", decimals="18")
    joined = i18n.gettext("ur", f"{AMOUNT_RULE} {rule}")
    assert joined == f"{URDU[AMOUNT_RULE]} {i18n.gettext('ur', rule)}"
    assert i18n.gettext("ur", "Not in the catalog at all.") == "Not in the catalog at all."
    assert i18n.gettext("en", rule) == rule


def test_a_trades_day_names_its_month_in_the_pages_language() -> None:
    karachi, epoch = village_zone("Asia/Karachi"), 1796027523  # 2026-11-30 08:32:03 UTC
    assert day_month_time(epoch, karachi) == "30 Nov 13:32"
    assert day_month_time(epoch, karachi, "ur") == "30 نومبر 13:32"
    assert day_month_time(epoch - 31 * 86400, karachi, "ur") == "30 اکتوبر 13:32"


def test_no_pattern_swallows_another_message_of_the_catalog() -> None:
    """A pattern such as "Delivery {delivery}" matched any text starting with "Delivery"
    ("Delivery window and grace must both be positive."), and the page showed half Urdu, half
    English. A value is one word unless its hole is free text."""
    for pattern, _urdu in i18n.patterns("ur"):
        for english in URDU:
            if pattern.pattern != re.escape(english) and "{" not in english:
                assert not pattern.fullmatch(english), (pattern.pattern, english)
    for sentence in ("Delivery window and grace must both be positive.",
                     "address must be 0x followed by 40 hex digits",
                     "Block 7 was mined before the explorer started"):
        assert i18n.gettext("ur", sentence) == sentence  # no translation, rather than half one
    assert i18n.gettext("ur", "Delivery 12") == URDU["Delivery {delivery}"].format(delivery="12")
    assert i18n.gettext("ur", "'Amina Bibi' is house 3.") == URDU[
        "'{name}' is house {house}."].format(name="Amina Bibi", house="3")


def test_a_refused_top_up_after_registration_says_why_in_the_pages_language() -> None:
    reason = "The treasury holds 5.00 PKR, less than the top-up."
    shown = i18n.gettext("ur", TOP_UP_FAILED.format(reason=reason))
    assert shown == URDU[TOP_UP_FAILED].format(reason=reason)  # the chain's reason, whole
