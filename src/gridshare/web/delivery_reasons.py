"""Why a delivery ended short or expired, in a resident's words.

A delivery the buyer paid for in full needs no reason. One settled on less than was traded
(nothing, or part), or expired, gets one: the orchestrator's flag (`settlement_rules.Flag`)
where it set one, else what the chain and the orchestrator's record show (`short`, `expired`,
`not_started`). Each is a stable code and a sentence for each side of the trade, in English
(the catalog translates it); money in them is what the contract did: the buyer pays for the
Wh settled and gets the rest of the escrow back, an expiry gives the buyer all of it back
and the seller nothing. Pure: no database, no web framework.
"""

from __future__ import annotations

from dataclasses import dataclass

from gridshare.domain import Delivery, DeliveryStatus
from gridshare.services.settlement_rules import Flag

SHORT = "short"  # settled below the traded amount, no flag: the meters agreed
EXPIRED = "expired"  # expired, and nothing says why (no engine record, or it had figures)
NOT_STARTED = "not_started"  # expired, no flag, and no meter ever reported on it


@dataclass(frozen=True, slots=True)
class Reason:
    """One reason: its code (a flag, or one of the codes above) and its words for each side."""

    code: str
    buyer: str
    seller: str

    def said_to(self, buying: bool) -> str:
        """The sentence for the buyer, or for the seller."""
        return self.buyer if buying else self.seller


_PAY_ARRIVED = "You pay only for what arrived."
_PAID_ARRIVED = "You are paid only for what arrived."
_PAY_BEFORE = "You pay only for what the meters showed before that."
_PAID_BEFORE = "You are paid only for what the meters showed before that."
_REFUNDED = "All your money came back."
_NOT_PAID = "You were not paid."
_CONFLICT = "A meter still held an old delivery with this number, so this one could not start."


def _expired(code: str, why: str) -> Reason:
    return Reason(code, f"Expired: {why} {_REFUNDED}", f"Expired: {why} {_NOT_PAID}")


_LATE = "it was not settled in time."

# a delivery settled on less than was traded, by flag (and SHORT: no flag)
SETTLED: dict[str, Reason] = {
    SHORT: Reason(
        SHORT,
        f"The delivery ended before all of it arrived. {_PAY_ARRIVED}",
        f"The delivery ended before all of it reached the buyer. {_PAID_ARRIVED}",
    ),
    Flag.LOSS_ABOVE_TOLERANCE: Reason(
        Flag.LOSS_ABOVE_TOLERANCE,
        f"The seller's meter sent more than reached your meter: the rest went elsewhere on the"
        f" line. {_PAY_ARRIVED}",
        f"Your meter sent more than reached the buyer's meter: the rest went elsewhere on the"
        f" line. {_PAID_ARRIVED}",
    ),
    Flag.IMPORT_ABOVE_EXPORT: Reason(
        Flag.IMPORT_ABOVE_EXPORT,
        "Your meter counted more than the seller's meter sent. You pay only for what the"
        " seller's meter sent.",
        "The buyer's meter counted more than your meter sent. You are paid for what your meter"
        " sent.",
    ),
    Flag.SELLER_REPORT_MISSING: Reason(
        Flag.SELLER_REPORT_MISSING,
        f"The seller's meter did not send its final reading. {_PAY_ARRIVED}",
        f"Your meter did not send its final reading. {_PAID_ARRIVED}",
    ),
    Flag.METER_SILENT: Reason(
        Flag.METER_SILENT,
        f"Your meter stopped answering. {_PAY_BEFORE}",
        f"The buyer's meter stopped answering. {_PAID_BEFORE}",
    ),
    Flag.METER_RESTARTED: Reason(
        Flag.METER_RESTARTED,
        f"A meter restarted and lost this delivery. {_PAY_BEFORE}",
        f"A meter restarted and lost this delivery. {_PAID_BEFORE}",
    ),
    # never settled by the orchestrator (it starts it first, which clears the flag); the
    # operator's own settlement would be the only way
    Flag.METER_CONFLICT: Reason(Flag.METER_CONFLICT, _CONFLICT, _CONFLICT),
}

# an expired delivery (the buyer got the whole escrow back), by flag
EXPIRED_REASONS: dict[str, Reason] = {
    EXPIRED: _expired(EXPIRED, _LATE),
    NOT_STARTED: _expired(NOT_STARTED, "it never started."),
    Flag.METER_SILENT: Reason(
        Flag.METER_SILENT,
        f"Expired: your meter did not answer, and no energy was counted. {_REFUNDED}",
        f"Expired: the buyer's meter did not answer, and no energy was counted. {_NOT_PAID}",
    ),
    Flag.METER_CONFLICT: _expired(
        Flag.METER_CONFLICT, "it never started, because a meter still held an old delivery."
    ),
    # decided for settlement, but the settlement never reached the chain before its grace
    # ended and someone expired it (the orchestrator settles a decided delivery at once)
    **{flag: _expired(flag, _LATE) for flag in (
        Flag.LOSS_ABOVE_TOLERANCE, Flag.IMPORT_ABOVE_EXPORT, Flag.SELLER_REPORT_MISSING,
        Flag.METER_RESTARTED,
    )},
}


def reason(delivery: Delivery, flag: str | None, reported: bool | None) -> Reason | None:
    """Why `delivery` ended as it did, or None (pending, or settled in full).

    `flag` is the orchestrator's for it; `reported` whether any meter ever reported on it
    (None when the orchestrator has no record of it: no engine, or not yet followed). A flag
    this version does not know (an older one's) falls back to what the chain shows.
    """
    if delivery.status is DeliveryStatus.SETTLED:
        if delivery.delivered_wh >= delivery.amount_wh:
            return None
        return SETTLED.get(flag or SHORT, SETTLED[SHORT])
    if delivery.status is DeliveryStatus.EXPIRED:
        if flag in EXPIRED_REASONS:
            return EXPIRED_REASONS[flag]
        return EXPIRED_REASONS[NOT_STARTED if reported is False else EXPIRED]
    return None


CODES = tuple(dict.fromkeys(str(code) for code in (*SETTLED, *EXPIRED_REASONS)))
"""Every code a reason can have."""


def texts() -> tuple[str, ...]:
    """Every sentence a reason can say (the pages' scripts carry their translations)."""
    found = {text for table in (SETTLED, EXPIRED_REASONS) for r in table.values()
             for text in (r.buyer, r.seller)}
    return tuple(sorted(found))
