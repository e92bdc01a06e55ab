"""Money on the pages is shown exactly: at least the page's decimals, more when the amount has
them (a bid at 0.00009 used to read 0.0000, and 0.009 locked in orders 0.00)."""

from __future__ import annotations

import pytest

from gridshare.domain import WEI_PER_COIN
from gridshare.web.render import MISSING, coins, measure, rounded_coins


@pytest.mark.parametrize(
    ("wei", "places", "shown"),
    [
        (WEI_PER_COIN * 9 // 100_000, 4, "0.00009"),
        (WEI_PER_COIN * 9 // 1000, 2, "0.009"),
        (WEI_PER_COIN * 1999 // 100_000, 4, "0.01999"),
        (WEI_PER_COIN * 368 // 10, 2, "36.80"),
        (WEI_PER_COIN * 5, 4, "5.0000"),
        (1, 2, "0.000000000000000001"),
        (0, 2, "0.00"),
        (-WEI_PER_COIN * 3 // 2, 2, "-1.50"),
    ],
)
def test_coins_are_shown_exactly_with_at_least_the_pages_decimals(
    wei: int, places: int, shown: str
) -> None:
    assert coins(wei, places) == shown


@pytest.mark.parametrize(("wei", "shown"), [
    (11_767_315_175_097_276, "0.0118"),  # the community's average price (was all 18 digits)
    (11_765_000_000_000_000, "0.0118"),  # half up
    (11_764_999_999_999_999, "0.0118"),
    (11_749_999_999_999_999, "0.0117"),
    (0, "0.0000"),
    (12 * WEI_PER_COIN + 5 * 10**13, "12.0001"),
])
def test_a_computed_price_is_rounded_to_four_decimals(wei: int, shown: str) -> None:
    assert rounded_coins(wei) == shown


# a meter value, its scale and places, and how the meter page shows it (app.js: the same)
MEASURES = [
    (12300, 1000, 2, "12.30"),  # was "12.3": one decimal fewer than 12.34 beside it
    (12340, 1000, 2, "12.34"),
    (12345, 1000, 2, "12.35"),  # half away from zero (the float 12.345 rounded to 12.34)
    (125, 1000, 2, "0.13"),
    (-125, 1000, 2, "-0.13"),
    (-19600, 1000, 1, "-19.6"),
    (-40, 1000, 1, "0.0"),  # not "-0.0"
    (0, 1000, 2, "0.00"),
    (450, 10, 1, "45.0"),
    (1000, 10, 1, "100.0"),
    (987654321, 1000, 1, "987654.3"),
    (7, 1, 1, "7"),  # watts are shown as they are
    (-7, 1, 1, "-7"),
    (1234, 10, 0, "123"),
]


@pytest.mark.parametrize(("value", "scale", "places", "shown"), MEASURES)
def test_a_meter_value_always_has_its_places(
    value: int, scale: int, places: int, shown: str
) -> None:
    assert measure(value, scale, places) == shown


def test_a_missing_meter_value_is_a_dash() -> None:
    assert measure(None, 1000, 2) == MISSING
