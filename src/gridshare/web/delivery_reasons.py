"""Why a delivery ended short or expired, in a resident's words.

A delivery the buyer paid for in full needs no reason. One settled on less than was traded
(nothing, or part), or expired, gets one: the orchestrator's flag (`settlement_rules.Flag`)
where it set one; else, for one settled short, why its meters ended it (the `EndReason` of each
meter's final report, as the orchestrator kept it); else what the chain and the orchestrator's
record show (`short`, `expired`). Each is a stable code and a sentence for each
side of the trade, in English (the catalog translates it); money in them is what the contract
did: the buyer pays for the Wh settled and gets the rest of the escrow back, an expiry gives
the buyer all of it back and the seller nothing. Pure: no database, no web framework.
"""

from __future__ import annotations

from dataclasses import dataclass

from gridshare.domain import Delivery, DeliveryStatus
from gridshare.meters.reports import EndReason
from gridshare.services.settlement_rules import Flag

SHORT = "short"  # settled below the traded amount, no flag: the meters agreed
EXPIRED = "expired"  # expired, and nothing says why (no flag, or no engine record)
# settled short, no flag, and a meter's final report says why it ended (`ENDED_BY_*` below)
BUYER_SENSOR_FAULT = "buyer_sensor_fault"
SELLER_SENSOR_FAULT = "seller_sensor_fault"
BUYER_SERVER_SILENT = "buyer_server_silent"
SELLER_SERVER_SILENT = "seller_server_silent"
SELLER_SENT_ALL = "seller_sent_all"
TIME_RAN_OUT = "time_ran_out"
SERVER_STOPPED = "server_stopped"


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
    Flag.METER_CONFLICT: Reason(
        Flag.METER_CONFLICT, f"{_CONFLICT} {_PAY_ARRIVED}", f"{_CONFLICT} {_PAID_ARRIVED}"),
}

# an expired delivery (the buyer got the whole escrow back), by flag
EXPIRED_REASONS: dict[str, Reason] = {
    EXPIRED: _expired(EXPIRED, _LATE),
    Flag.NOT_STARTED: _expired(Flag.NOT_STARTED, "it never started."),
    Flag.METER_SILENT: Reason(
        Flag.METER_SILENT,
        f"Expired: your meter did not answer, and it had counted no energy arriving."
        f" {_REFUNDED}",
        f"Expired: the buyer's meter did not answer, and it had counted no energy arriving."
        f" {_NOT_PAID}",
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


def _settled_short(code: str, buyer: str, seller: str) -> Reason:
    return Reason(code, f"{buyer} {_PAY_ARRIVED}", f"{seller} {_PAID_ARRIVED}")


_TIME_RAN_OUT = _settled_short(
    TIME_RAN_OUT, "Time ran out before all of it arrived.",
    "Time ran out before all of it reached the buyer.",
)
_SERVER_STOPPED = _settled_short(
    SERVER_STOPPED, "The server stopped it before all of it arrived.",
    "The server stopped it before all of it reached the buyer.",
)

# a delivery settled short with no flag, by the end reason of the buyer's meter's final report
# (no TARGET: the buyer's meter ends there once all of it has arrived, never short)
ENDED_BY_BUYER: dict[EndReason, Reason] = {
    EndReason.SENSOR_FAULT: _settled_short(
        BUYER_SENSOR_FAULT, "Your meter had a sensor fault and stopped.",
        "The buyer's meter had a sensor fault and stopped.",
    ),
    EndReason.SERVER_SILENT: _settled_short(
        BUYER_SERVER_SILENT, "Your meter heard nothing from the server for too long and stopped.",
        "The buyer's meter heard nothing from the server for too long and stopped.",
    ),
    EndReason.DEADLINE: _TIME_RAN_OUT,
    EndReason.STOP: _SERVER_STOPPED,
}

# ... and by the end reason of the seller's meter's final report
ENDED_BY_SELLER: dict[EndReason, Reason] = {
    EndReason.SENSOR_FAULT: _settled_short(
        SELLER_SENSOR_FAULT, "The seller's meter had a sensor fault and stopped.",
        "Your meter had a sensor fault and stopped.",
    ),
    EndReason.SERVER_SILENT: _settled_short(
        SELLER_SERVER_SILENT,
        "The seller's meter heard nothing from the server for too long and stopped.",
        "Your meter heard nothing from the server for too long and stopped.",
    ),
    # it sent its cap (the amount and a line-loss allowance, `seller_cap_wh`), yet less than
    # the amount arrived: the rest was lost on the line (within the loss tolerance: no flag)
    EndReason.TARGET: _settled_short(
        SELLER_SENT_ALL,
        "The seller's meter sent all it was allowed to, but some of it was lost on the line.",
        "Your meter sent all it was allowed to, but some of it was lost on the line.",
    ),
    EndReason.DEADLINE: _TIME_RAN_OUT,
    EndReason.STOP: _SERVER_STOPPED,
}

CAUSES = (EndReason.SENSOR_FAULT, EndReason.SERVER_SILENT, EndReason.TARGET,
          EndReason.DEADLINE, EndReason.STOP)
"""Which end reason explains a short delivery when the meters give two, first first: a meter
that failed or lost the server ended it, and the other meter then ran out of time or was
stopped by the server (it stops the seller's once the buyer's has ended)."""


def ended_by_meters(buyer_end: str | None, seller_end: str | None) -> Reason | None:
    """Why a delivery settled short with no flag, from its meters' end reasons (None: neither
    explains it, e.g. no final report kept, or a reason this version does not know)."""
    for end in CAUSES:
        if buyer_end == end and end in ENDED_BY_BUYER:
            return ENDED_BY_BUYER[end]
        if seller_end == end:
            return ENDED_BY_SELLER[end]
    return None


def reason(
    delivery: Delivery,
    flag: str | None,
    buyer_end: str | None = None,
    seller_end: str | None = None,
) -> Reason | None:
    """Why `delivery` ended as it did, or None (pending, or settled in full).

    `flag` is the orchestrator's for it (None: none, or no record of it: no engine, or not
    yet followed); `buyer_end`/`seller_end` why each meter ended it, by its final report
    (None: not kept).
    A flag this version does not know (an older one's) falls back to what the meters and
    the chain show.
    """
    if delivery.status is DeliveryStatus.SETTLED:
        if delivery.delivered_wh >= delivery.amount_wh:
            return None
        if flag in SETTLED:
            return SETTLED[flag]
        return ended_by_meters(buyer_end, seller_end) or SETTLED[SHORT]
    if delivery.status is DeliveryStatus.EXPIRED:
        if flag in EXPIRED_REASONS:
            return EXPIRED_REASONS[flag]
        return EXPIRED_REASONS[EXPIRED]
    return None


_ENDED = (*ENDED_BY_BUYER.values(), *ENDED_BY_SELLER.values())
CODES = tuple(dict.fromkeys(str(code) for code in (
    *SETTLED, *(r.code for r in _ENDED), *EXPIRED_REASONS)))
"""Every code a reason can have."""


def texts() -> tuple[str, ...]:
    """Every sentence a reason can say (the pages' scripts carry their translations)."""
    every = (*SETTLED.values(), *_ENDED, *EXPIRED_REASONS.values())
    found = {text for r in every for text in (r.buyer, r.seller)}
    return tuple(sorted(found))
