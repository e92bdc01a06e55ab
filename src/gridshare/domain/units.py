"""Units: energy in whole watt-hours, money in wei (the chain's smallest coin unit).

Both are plain integers: no floats ever touch energy or money.
"""

from typing import NewType

Wh = NewType("Wh", int)
"""Energy in watt-hours."""

Wei = NewType("Wei", int)
"""Money in the chain's smallest unit (1 coin = 10**18 wei)."""

Address = NewType("Address", str)
"""A checksummed 0x-prefixed account address."""

WEI_PER_COIN = 10**18


def coins_to_wei(coins: int) -> Wei:
    """Whole coins to wei."""
    return Wei(coins * WEI_PER_COIN)


def coins_said(wei: int) -> str:
    """Wei as coins for a sentence: exact, all the decimals there are and none more, with
    thousands separators ("489.85", "5,000", "997,979.004")."""
    whole, _, frac = format_coins(abs(wei), 18).partition(".")
    frac = frac.rstrip("0")
    return f"{'-' if wei < 0 else ''}{int(whole):,}{'.' + frac if frac else ''}"


def format_coins(amount: int, decimals: int = 2) -> str:
    """Render wei as coins with `decimals` places, rounding toward zero, without floats."""
    sign = "-" if amount < 0 else ""
    whole, frac = divmod(abs(amount), WEI_PER_COIN)
    if decimals <= 0:
        return f"{sign}{whole}"
    frac_digits = str(frac).rjust(18, "0")[:decimals]
    return f"{sign}{whole}.{frac_digits}"
