"""Pure settlement decisions: what to settle a delivery on, given the meters' reports.

Energy here is milliwatt-hours as the meters report it; the contract settles whole Wh, so
every figure is rounded down (the buyer never pays for a part-Wh they did not receive).
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum

DEFAULT_LOSS_TOLERANCE_PERCENT = 15


class Flag(StrEnum):
    """Why the operator should look at a delivery: every flag the orchestrator sets (stored
    as its value in the deliveries table; residents see it in their words, web/delivery_reasons.py).
    """

    LOSS_ABOVE_TOLERANCE = "loss_above_tolerance"  # export beyond import + line loss: on import
    IMPORT_ABOVE_EXPORT = "import_above_export"  # import beyond export: settled on the export
    SELLER_REPORT_MISSING = "seller_report_missing"  # no final seller report: on the import
    METER_SILENT = "meter_silent"  # no final buyer report: last reports, or left to expire
    METER_RESTARTED = "meter_restarted"  # a meter forgot it: settled on the last reports
    METER_CONFLICT = "meter_conflict"  # a meter holds an older one of this id: not started
    NOT_STARTED = "not_started"  # expired before its meters were told (unreachable, busy)


@dataclass(frozen=True, slots=True)
class Decision:
    """Settle on `delivered_wh`; `flag` says why the operator should look, if at all."""

    delivered_wh: int
    flag: Flag | None = None


def settle_on_reports(
    amount_wh: int,
    buyer_mwh: int,
    seller_mwh: int | None,
    tolerance_percent: int = DEFAULT_LOSS_TOLERANCE_PERCENT,
) -> Decision:
    """Settle on the buyer's import capped at the traded amount; flag a seller who disagrees.

    `seller_mwh` is the seller's final export, or None if no final seller report could be
    had (the delivery is then flagged and settled on the buyer's import alone). When the
    export and import differ by more than `tolerance_percent` of the export (line losses are
    expected to stay within it), the delivery is flagged and settled on the lower of the two.
    """
    if amount_wh < 0 or buyer_mwh < 0 or (seller_mwh is not None and seller_mwh < 0):
        raise ValueError("amounts must be >= 0")
    if not 0 <= tolerance_percent <= 100:
        raise ValueError("tolerance_percent must be between 0 and 100")
    buyer_wh = min(buyer_mwh // 1000, amount_wh)
    if seller_mwh is None:
        return Decision(buyer_wh, Flag.SELLER_REPORT_MISSING)
    if _disagree(buyer_mwh, seller_mwh, tolerance_percent):
        lower = min(buyer_mwh, seller_mwh) // 1000
        why = Flag.LOSS_ABOVE_TOLERANCE if seller_mwh > buyer_mwh else Flag.IMPORT_ABOVE_EXPORT
        return Decision(min(lower, amount_wh), why)
    return Decision(buyer_wh)


def _disagree(buyer_mwh: int, seller_mwh: int, tolerance_percent: int) -> bool:
    """The meters differ by at least 1 Wh and by more than `tolerance_percent` of the export."""
    gap = abs(seller_mwh - buyer_mwh)
    return gap * 100 > tolerance_percent * max(seller_mwh, 1) and gap >= 1000


@dataclass(frozen=True, slots=True)
class Metered:
    """A running delivery's figures at one poll: the buyer's import and the seller's export,
    in mWh (None before a meter's first report)."""

    buyer_mwh: int | None
    seller_mwh: int | None

    def short_of_export(self, tolerance_percent: int) -> bool:
        """The seller has sent more than the buyer received, beyond what settlement accepts."""
        if self.buyer_mwh is None or self.seller_mwh is None:
            return False
        return self.seller_mwh > self.buyer_mwh and _disagree(
            self.buyer_mwh, self.seller_mwh, tolerance_percent
        )

    @property
    def gap_mwh(self) -> int:
        return (self.seller_mwh or 0) - (self.buyer_mwh or 0)


def energy_not_arriving(
    before: Metered, now: Metered, tolerance_percent: int = DEFAULT_LOSS_TOLERANCE_PERCENT
) -> bool:
    """Whether to stop a running delivery: its energy is going somewhere else.

    `before` and `now` are two polls in a row, `now` from two fresh reports. True when at
    both the seller had sent more than the buyer received, by more than settlement accepts as
    line loss (`settle_on_reports`), and the gap grew in between. On a shared bus that energy
    went to another delivery's buyer (this buyer's battery is full, say), and the seller is
    paid only for what its own buyer received: stopping ends the loss there.

    Two polls, not one: a meter that samples seconds apart (or was polled just before its
    sample) is a sample behind for a moment; its gap shrinks again at the next poll.
    """
    return (
        before.short_of_export(tolerance_percent)
        and now.short_of_export(tolerance_percent)
        and now.gap_mwh > before.gap_mwh
    )


def settle_after_silence(
    amount_wh: int, last_buyer_mwh: int | None, last_seller_mwh: int | None
) -> Decision | None:
    """Past the deadline with no final buyer report: settle pro rata on the last reports.

    Returns None (expire: the buyer is refunded in full) when no authenticated report ever
    showed energy arriving; otherwise settles on the lower of the last buyer and seller
    figures, flagged because the meter fell silent.
    """
    if last_buyer_mwh is None or last_buyer_mwh < 1000:
        return None
    figures = [last_buyer_mwh] + ([last_seller_mwh] if last_seller_mwh is not None else [])
    return Decision(min(min(figures) // 1000, amount_wh), Flag.METER_SILENT)
