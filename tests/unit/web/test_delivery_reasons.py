"""A delivery that ended short or expired tells its buyer and its seller why, for every flag
the orchestrator can set, in words whose money is what the contract did, in English and Urdu."""

from __future__ import annotations

import ast
import re
from pathlib import Path

import pytest

from gridshare.domain import Address, Delivery, DeliveryStatus, Wei, Wh
from gridshare.services.settlement_rules import Flag
from gridshare.web import i18n
from gridshare.web.delivery_reasons import (
    CODES,
    EXPIRED,
    EXPIRED_REASONS,
    NOT_STARTED,
    SETTLED,
    SHORT,
    Reason,
    reason,
    texts,
)

SRC = Path(__file__).parents[3] / "src" / "gridshare"
SETS_FLAGS = (SRC / "services" / "orchestrator.py", SRC / "services" / "settlement_rules.py")
SETTLED_SHORT = DeliveryStatus.SETTLED
FINAL = (DeliveryStatus.SETTLED, DeliveryStatus.EXPIRED)


def delivery(status: DeliveryStatus, delivered: int = 0, amount: int = 10) -> Delivery:
    return Delivery(
        id=7, buyer=Address("0xB"), seller=Address("0xS"), amount_wh=Wh(amount),
        price_per_wh=Wei(5), deadline=1_000, status=status, delivered_wh=Wh(delivered),
    )


def _flag_arguments(tree: ast.AST) -> list[ast.expr]:
    """What the code passes as a flag: `flag=` arguments, and a `Decision(...)`'s arguments."""
    found: list[ast.expr] = []
    for node in ast.walk(tree):
        if not isinstance(node, ast.Call):
            continue
        found += [k.value for k in node.keywords if k.arg == "flag"]
        if isinstance(node.func, ast.Name) and node.func.id == "Decision":
            found += node.args
    return found


@pytest.mark.parametrize("path", SETS_FLAGS, ids=lambda p: p.name)
def test_the_orchestrator_sets_flags_only_from_the_flag_enum(path: Path) -> None:
    """So iterating `Flag` is iterating every flag the code can set: a flag written as a bare
    string would reach a resident with no reason for it."""
    arguments = _flag_arguments(ast.parse(path.read_text(encoding="utf-8")))
    assert arguments, "the scan finds where flags are set"
    literals = [ast.unparse(a) for a in arguments for c in ast.walk(a)
                if isinstance(c, ast.Constant) and isinstance(c.value, str)]
    assert literals == [], f"a flag set as a string in {path.name}: use Flag"


@pytest.mark.parametrize("flag", list(Flag))
@pytest.mark.parametrize("status", FINAL, ids=lambda s: s.name.lower())
def test_every_flag_has_its_reason_for_a_delivery_that_ended_short_or_expired(
    flag: Flag, status: DeliveryStatus,
) -> None:
    """A new flag without words for the residents fails here."""
    table = SETTLED if status is DeliveryStatus.SETTLED else EXPIRED_REASONS
    assert flag in table, f"no reason for {flag} when a delivery is {status.name.lower()}"
    why = reason(delivery(status, delivered=3), flag, reported=True)
    assert why is table[flag] and why.code == flag
    assert why.buyer and why.seller


@pytest.mark.parametrize("why", list(EXPIRED_REASONS.values()), ids=lambda r: r.code)
def test_an_expiry_says_the_buyer_got_all_back_and_the_seller_nothing(why: Reason) -> None:
    """The contract's expire() gives the buyer the whole escrow and the seller nothing."""
    assert why.buyer.startswith("Expired: ") and why.buyer.endswith(" All your money came back.")
    assert why.seller.startswith("Expired: ") and why.seller.endswith(" You were not paid.")


@pytest.mark.parametrize("why", list(SETTLED.values()), ids=lambda r: r.code)
def test_a_short_settlement_never_says_nothing_was_paid_or_all_came_back(why: Reason) -> None:
    """Settled on part of it, the buyer paid for that part and the seller was paid for it:
    the buyer pays "only for" what was metered, never nothing."""
    for text in (why.buyer, why.seller):
        assert "All your money" not in text and "not paid" not in text
    if why.code != Flag.METER_CONFLICT:  # never settled by the orchestrator (not started)
        assert "You pay only for" in why.buyer
        assert re.search(r"You are paid (only )?for", why.seller)


def test_without_a_flag_the_chain_and_the_record_say_why() -> None:
    assert reason(delivery(SETTLED_SHORT, 0), None, None) is SETTLED[SHORT]  # no engine
    assert reason(delivery(SETTLED_SHORT, 9), None, True) is SETTLED[SHORT]
    assert reason(delivery(DeliveryStatus.EXPIRED), None, None) is EXPIRED_REASONS[EXPIRED]
    assert reason(delivery(DeliveryStatus.EXPIRED), None, True) is EXPIRED_REASONS[EXPIRED]
    # the orchestrator has it, and no meter ever reported on it: its meters never started it
    assert reason(delivery(DeliveryStatus.EXPIRED), None, False) is EXPIRED_REASONS[NOT_STARTED]


def test_paid_in_full_or_still_pending_needs_no_reason() -> None:
    assert reason(delivery(SETTLED_SHORT, 10), Flag.SELLER_REPORT_MISSING, True) is None
    assert reason(delivery(DeliveryStatus.PENDING), Flag.METER_CONFLICT, False) is None


def test_a_flag_an_older_version_stored_falls_back_to_what_the_chain_shows() -> None:
    assert reason(delivery(SETTLED_SHORT, 2), "retired_flag", True) is SETTLED[SHORT]
    assert reason(delivery(DeliveryStatus.EXPIRED), "retired_flag", True) is EXPIRED_REASONS[
        EXPIRED]


def test_the_buyer_and_the_seller_each_get_their_own_words() -> None:
    why = SETTLED[Flag.LOSS_ABOVE_TOLERANCE]
    assert why.said_to(buying=True).startswith("The seller's meter sent more than reached your")
    assert why.said_to(buying=False).startswith("Your meter sent more than reached the buyer's")
    assert set(CODES) == {*map(str, Flag), SHORT, EXPIRED, NOT_STARTED}


@pytest.mark.parametrize("text", texts())
def test_every_reason_reads_in_urdu(text: str) -> None:
    """Translated sentence by sentence (the catalog holds each sentence once)."""
    shown = i18n.gettext("ur", text)
    assert not re.search(r"[A-Za-z]", shown), shown
