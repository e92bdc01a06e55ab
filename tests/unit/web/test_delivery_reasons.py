"""A delivery that ended short or expired tells its buyer and its seller why, for every flag
the orchestrator can set and every reason a meter can end a delivery for, in words whose money
is what the contract did, in English and Urdu."""

from __future__ import annotations

import ast
import re
from pathlib import Path

import pytest

from gridshare.domain import Address, Delivery, DeliveryStatus, Wei, Wh
from gridshare.meters import EndReason
from gridshare.services.settlement_rules import Flag
from gridshare.web import i18n
from gridshare.web.delivery_reasons import (
    BUYER_SENSOR_FAULT,
    BUYER_SERVER_SILENT,
    CAUSES,
    CODES,
    ENDED_BY_BUYER,
    ENDED_BY_SELLER,
    EXPIRED,
    EXPIRED_REASONS,
    SELLER_SENSOR_FAULT,
    SELLER_SENT_ALL,
    SELLER_SERVER_SILENT,
    SERVER_STOPPED,
    SETTLED,
    SHORT,
    TIME_RAN_OUT,
    Reason,
    reason,
    texts,
)
from gridshare.web.queries import FLAG_LABELS

ROOT = Path(__file__).parents[3]
SRC = ROOT / "src" / "gridshare"
FIRMWARE = ROOT / "firmware" / "gridshare_meter"
ENDED = (*ENDED_BY_BUYER.values(), *ENDED_BY_SELLER.values())
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


@pytest.mark.parametrize(("flag", "status"), [
    *((f, s) for f in Flag for s in FINAL if (f, s) != (Flag.NOT_STARTED, SETTLED_SHORT)),
])
def test_every_flag_has_its_reason_for_a_delivery_that_ended_short_or_expired(
    flag: Flag, status: DeliveryStatus,
) -> None:
    """A new flag without words for the residents fails here (`not_started` is set only when
    the orchestrator expires a delivery)."""
    table = SETTLED if status is DeliveryStatus.SETTLED else EXPIRED_REASONS
    assert flag in table, f"no reason for {flag} when a delivery is {status.name.lower()}"
    why = reason(delivery(status, delivered=3), flag)
    assert why is table[flag] and why.code == flag
    assert why.buyer and why.seller


@pytest.mark.parametrize("why", list(EXPIRED_REASONS.values()), ids=lambda r: r.code)
def test_an_expiry_says_the_buyer_got_all_back_and_the_seller_nothing(why: Reason) -> None:
    """The contract's expire() gives the buyer the whole escrow and the seller nothing."""
    assert why.buyer.startswith("Expired: ") and why.buyer.endswith(" All your money came back.")
    assert why.seller.startswith("Expired: ") and why.seller.endswith(" You were not paid.")


@pytest.mark.parametrize("why", [*SETTLED.values(), *ENDED], ids=lambda r: r.code)
def test_a_short_settlement_never_says_nothing_was_paid_or_all_came_back(why: Reason) -> None:
    """Settled on part of it, the buyer paid for that part and the seller was paid for it:
    the buyer pays "only for" what was metered, never nothing."""
    for text in (why.buyer, why.seller):
        assert "All your money" not in text and "not paid" not in text
    assert "You pay only for" in why.buyer
    assert re.search(r"You are paid (only )?for", why.seller)


def test_without_a_flag_the_chain_says_why() -> None:
    assert reason(delivery(SETTLED_SHORT, 0), None) is SETTLED[SHORT]
    assert reason(delivery(SETTLED_SHORT, 9), None) is SETTLED[SHORT]
    assert reason(delivery(DeliveryStatus.EXPIRED), None) is EXPIRED_REASONS[EXPIRED]


def test_the_operator_has_a_label_for_every_flag() -> None:
    missing = [flag for flag in Flag if flag not in FLAG_LABELS]
    assert missing == []


def test_paid_in_full_or_still_pending_needs_no_reason() -> None:
    assert reason(delivery(SETTLED_SHORT, 10), Flag.SELLER_REPORT_MISSING) is None
    assert reason(delivery(DeliveryStatus.PENDING), Flag.METER_CONFLICT) is None


def test_a_flag_an_older_version_stored_falls_back_to_what_the_chain_shows() -> None:
    assert reason(delivery(SETTLED_SHORT, 2), "retired_flag") is SETTLED[SHORT]
    assert reason(delivery(DeliveryStatus.EXPIRED), "retired_flag") is EXPIRED_REASONS[
        EXPIRED]


def test_the_buyer_and_the_seller_each_get_their_own_words() -> None:
    why = SETTLED[Flag.LOSS_ABOVE_TOLERANCE]
    assert why.said_to(buying=True).startswith("The seller's meter sent more than reached your")
    assert why.said_to(buying=False).startswith("Your meter sent more than reached the buyer's")
    assert set(CODES) == {*map(str, Flag), SHORT, EXPIRED, BUYER_SENSOR_FAULT,
                          SELLER_SENSOR_FAULT, BUYER_SERVER_SILENT, SELLER_SERVER_SILENT,
                          SELLER_SENT_ALL, TIME_RAN_OUT, SERVER_STOPPED}


@pytest.mark.parametrize("text", texts())
def test_every_reason_reads_in_urdu(text: str) -> None:
    """Translated sentence by sentence (the catalog holds each sentence once)."""
    shown = i18n.gettext("ur", text)
    assert not re.search(r"[A-Za-z]", shown), shown


def _end_reasons_the_firmware_sets() -> set[str]:
    """Every text the firmware passes as a delivery's end reason: the second argument of
    `Delivery.finish(state, reason, now)` and of `Book.stop(id, reason, now)`."""
    found: set[str] = set()
    for path in FIRMWARE.glob("*.py"):
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if (isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute)
                    and node.func.attr in ("finish", "stop") and len(node.args) == 3):
                given = node.args[1]
                if isinstance(given, ast.Constant) and isinstance(given.value, str):
                    found.add(given.value)
    return found


def test_the_firmware_ends_a_delivery_only_for_reasons_the_server_has_words_for() -> None:
    """A meter's final report says why it ended the delivery: a firmware that gains a reason
    (a battery floor, a relay fault) fails here until `EndReason` and the words below have it."""
    assert _end_reasons_the_firmware_sets() == set(EndReason)


@pytest.mark.parametrize("end", list(EndReason))
def test_every_end_reason_says_why_a_delivery_settled_short_for_either_meter(
    end: EndReason,
) -> None:
    """The buyer's meter never ends short at its target (it ends there once all arrived)."""
    assert end in CAUSES
    sides = {"seller": ENDED_BY_SELLER}
    if end is not EndReason.TARGET:
        sides["buyer"] = ENDED_BY_BUYER
    else:
        assert end not in ENDED_BY_BUYER
    for side, table in sides.items():
        assert end in table, f"no words for a {side}'s meter that ended a delivery: {end}"
        ends = {"buyer_end": end} if side == "buyer" else {"seller_end": end}
        why = reason(delivery(SETTLED_SHORT, 4), None, **ends)
        assert why is table[end] and why.buyer and why.seller


def test_new_codes_rename_none_of_the_old() -> None:
    assert {r.code for r in ENDED}.isdisjoint({*map(str, Flag), SHORT, EXPIRED})


def test_a_short_delivery_with_no_flag_says_which_meter_ended_it_and_why() -> None:
    short = delivery(SETTLED_SHORT, 3)
    # the seller's meter failed; the buyer's then waited, with nothing coming, until time ran out
    why = reason(short, None, "deadline", "sensor_fault")
    assert why is not None and why.code == SELLER_SENSOR_FAULT
    assert why.buyer == ("The seller's meter had a sensor fault and stopped. You pay only for"
                         " what arrived.")
    assert why.seller == ("Your meter had a sensor fault and stopped. You are paid only for what"
                          " arrived.")
    # the buyer's meter failed; the server then stopped the seller's
    why = reason(short, None, "sensor_fault", "stop")
    assert why is not None and why.code == BUYER_SENSOR_FAULT
    assert why.buyer.startswith("Your meter had a sensor fault and stopped.")
    assert why.seller.startswith("The buyer's meter had a sensor fault and stopped.")
    assert reason(short, None, "server_silent", "stop") is ENDED_BY_BUYER[
        EndReason.SERVER_SILENT]
    assert reason(short, None, "deadline", "server_silent") is ENDED_BY_SELLER[
        EndReason.SERVER_SILENT]
    # the seller's meter sent its whole cap; less than the amount arrived
    assert reason(short, None, "deadline", "target") is ENDED_BY_SELLER[EndReason.TARGET]
    assert ENDED_BY_SELLER[EndReason.TARGET].code == SELLER_SENT_ALL
    why = reason(short, None, "deadline", "stop")
    assert why is not None and why.code == TIME_RAN_OUT
    assert why.buyer == "Time ran out before all of it arrived. You pay only for what arrived."


def test_a_flag_or_an_unknown_end_leaves_the_reason_as_before() -> None:
    short = delivery(SETTLED_SHORT, 3)
    # the orchestrator's flag says more than the meters' ends
    assert reason(short, Flag.METER_SILENT, "server_silent", "stop") is SETTLED[
        Flag.METER_SILENT]
    # no end kept (an older record), or one a newer firmware sends: the plain "short"
    assert reason(short, None) is SETTLED[SHORT]
    assert reason(short, None, "relay_welded", None) is SETTLED[SHORT]
    # settled in full, or expired: the ends change nothing
    assert reason(delivery(SETTLED_SHORT, 10), None, "deadline", "sensor_fault") is None
    assert reason(delivery(DeliveryStatus.EXPIRED), None, "sensor_fault", "stop") is (
        EXPIRED_REASONS[EXPIRED])
