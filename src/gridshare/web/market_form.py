"""The market page's order forms: their rules in words, their fields read from text, and what
a resident typed into a refused form, kept to fill it in again once."""

from __future__ import annotations

import threading
from collections import OrderedDict

from gridshare.domain import WEI_PER_COIN
from gridshare.services.sessions import Session
from gridshare.services.trading import MAX_AMOUNT_WH, MAX_PRICE_PER_WH
from gridshare.web.render import parse_coins

MAX_MINUTES = 7 * 1440  # an order is valid for at most a week
PRICE_DECIMALS = 18  # parse_coins reads at most 18 decimals (wei)
MAX_PRICE_COINS = MAX_PRICE_PER_WH // WEI_PER_COIN
FIELD_CHARS = 64  # longer input is refused with the field's rule (and never parsed)
AMOUNT_RULE = f"Amount (Wh): a whole number from 1 to {MAX_AMOUNT_WH:,}."
TAKE_RULE = "Take amount (Wh): a whole number from 1 to what the order has left."
MINUTES_RULE = f"Valid for (minutes): a whole number from 1 to {MAX_MINUTES:,} (7 days)."


def price_rule(symbol: str) -> str:
    """The price field's rule, in the village's coin."""
    return (
        f"Price per Wh: a number of {symbol} like 0.05, above 0 and at most "
        f"{MAX_PRICE_COINS:,}, with at most {PRICE_DECIMALS} decimals."
    )


class KeptForms:
    """What was typed into a form the server refused, by session, shown once.

    The next /market (or /operator) fills that form in again instead of drawing it empty.
    """

    def __init__(self, limit: int = 1000) -> None:
        self._values: OrderedDict[str, dict[str, str]] = OrderedDict()
        self._lock = threading.Lock()
        self._limit = limit

    def keep(self, session: Session, values: dict[str, str], chars: int = FIELD_CHARS) -> None:
        """Keep `values` (each cut to `chars`) for the session's next page."""
        with self._lock:
            self._values[session.id] = {k: v[:chars] for k, v in values.items()}
            self._values.move_to_end(session.id)
            while len(self._values) > self._limit:  # sessions that never came back
                self._values.popitem(last=False)

    def take(self, session: Session, *, keep: bool = False) -> dict[str, str]:
        """The values kept for the session, given once (or left there too, if `keep`)."""
        with self._lock:
            if keep:
                return dict(self._values.get(session.id, {}))
            return self._values.pop(session.id, {})


# An Urdu keyboard types ۰-۹ (and an Arabic one ٠-٩, with ٫ for the decimal point): the
# same numbers, read as the ASCII digits they stand for. Other scripts' digits stay refused.
LOCAL_DIGITS = str.maketrans(
    {**{chr(0x06F0 + d): str(d) for d in range(10)},
     **{chr(0x0660 + d): str(d) for d in range(10)}, "\u066b": "."}
)


def typed_number(text: str) -> str:
    """What a resident typed into a number field, with Urdu and Arabic digits as ASCII."""
    return text.strip().translate(LOCAL_DIGITS)


def whole_number(text: str, high: int) -> int | None:
    """`text` as a whole number from 1 to `high` in ASCII digits, or Urdu or Arabic ones
    ("1e3", "²" are not); or None."""
    text = typed_number(text)
    if not (0 < len(text) <= FIELD_CHARS and text.isascii() and text.isdigit()):
        return None
    value = int(text)
    return value if 1 <= value <= high else None


def price_wei(text: str) -> int | None:
    """A form's price in coins per Wh as wei, above 0 and at most the market's maximum; or None."""
    wei = parse_coins(typed_number(text)) if len(text) <= FIELD_CHARS else None
    return wei if wei is not None and 0 < wei <= MAX_PRICE_PER_WH else None
