"""Pure settlement decisions: buyer's import capped, disagreeing seller flagged, silence."""

from __future__ import annotations

import pytest

from gridshare.services.settlement_rules import (
    Decision,
    Metered,
    energy_not_arriving,
    settle_after_silence,
    settle_on_reports,
)


def test_settles_on_buyer_import_rounded_down_when_meters_agree() -> None:
    assert settle_on_reports(5, 4_600, 4_900, 15) == Decision(4, None)


def test_buyer_import_is_capped_at_the_traded_amount() -> None:
    assert settle_on_reports(5, 5_028, 5_400, 15) == Decision(5, None)


def test_seller_export_far_above_import_is_flagged_and_settled_on_the_lower() -> None:
    assert settle_on_reports(10, 6_000, 10_000, 15) == Decision(6, "loss_above_tolerance")


def test_import_above_export_is_flagged_and_settled_on_the_export() -> None:
    assert settle_on_reports(10, 9_000, 3_000, 15) == Decision(3, "import_above_export")


def test_missing_seller_report_is_flagged_but_settles_on_the_buyer() -> None:
    assert settle_on_reports(10, 7_500, None, 15) == Decision(7, "seller_report_missing")


def test_differences_under_one_wh_never_flag() -> None:
    assert settle_on_reports(1, 100, 900, 0).flag is None


@pytest.mark.parametrize("bad", [(-1, 0, 0), (1, -1, 0), (1, 0, -5)])
def test_negative_figures_are_refused(bad: tuple[int, int, int]) -> None:
    with pytest.raises(ValueError):
        settle_on_reports(*bad)


def test_silent_meter_with_energy_settles_pro_rata_on_the_lower_last_report() -> None:
    assert settle_after_silence(10, 4_200, 5_000) == Decision(4, "meter_silent")
    assert settle_after_silence(10, 4_200, 3_100) == Decision(3, "meter_silent")


def test_silent_meter_without_energy_means_expire() -> None:
    assert settle_after_silence(10, None, 5_000) is None
    assert settle_after_silence(10, 999, None) is None


@pytest.mark.parametrize(
    ("before", "now", "stop"),
    [
        # the buyer's import stands still while the seller's export runs on, beyond tolerance
        ((0, 1_200), (0, 1_600), True),
        ((4_000, 5_000), (4_000, 6_000), True),
        # ... or creeps (a full battery, a little standby load): the gap still grows
        ((10, 1_200), (20, 1_600), True),
        # the first poll past the line: wait for the next (a meter may be a sample behind)
        ((0, 800), (0, 1_600), False),
        # the buyer's sample came in: the gap shrank, energy is arriving
        ((0, 1_200), (1_250, 1_300), False),
        # a gap standing still (nothing moving on the bus, or between two samples)
        ((0, 1_600), (0, 1_600), False),
        # within line losses: 15 % of the export
        ((8_600, 10_000), (8_600, 10_100), False),
        # the buyer receives more than its seller sends: its seller loses nothing
        ((3_000, 1_000), (3_000, 1_200), False),
        # no report yet from one of them
        ((None, 1_200), (0, 1_600), False),
        ((0, None), (0, 1_600), False),
    ],
)
def test_a_running_delivery_is_stopped_only_when_its_energy_goes_elsewhere(
    before: tuple[int | None, int | None], now: tuple[int, int], stop: bool
) -> None:
    assert energy_not_arriving(Metered(*before), Metered(*now), 15) is stop
