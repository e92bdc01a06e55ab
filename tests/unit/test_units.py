"""Wei as coins in a sentence: exact (never cut to two decimals), grouped in thousands."""

from __future__ import annotations

import pytest

from gridshare.domain import WEI_PER_COIN, coins_said


@pytest.mark.parametrize(
    ("wei", "said"),
    [(0, "0"), (5 * WEI_PER_COIN, "5"), (5000 * WEI_PER_COIN, "5,000"),
     (997_979 * WEI_PER_COIN + WEI_PER_COIN // 2, "997,979.5"),
     (WEI_PER_COIN * 9 // 1000, "0.009"), (1, "0.000000000000000001"),
     (-1234 * WEI_PER_COIN, "-1,234")],
)
def test_coins_said_is_exact_and_grouped(wei: int, said: str) -> None:
    assert coins_said(wei) == said
