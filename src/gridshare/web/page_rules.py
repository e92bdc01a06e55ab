"""What a page says when a request to it fails FastAPI's own checks (a form field missing or
too long, a page number out of range, an id in the address not written in digits).

The API answers such a request with pydantic's English under the field's code name
("username: Field required"); a page showed the same, in English even in the Urdu pages. A
page says instead, in the catalog's words: the rule of a field the visitor typed, as the form
labels it; for a number in the address, that it must be digits; for anything the page itself
fills in (a hidden token, request key or return address), that the page was out of date.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from gridshare.services.accounts import PHRASE_RULE

OUT_OF_DATE = "This page was out of date, so nothing was done. Go back, reload it and try again."
NEW_PASSWORD_RULE = "New password: at least 8 and at most 256 characters."
PAGE_NUMBER_RULE = "Page number: a whole number from 1 to 1,000,000."
TYPED_RULES = {  # the fields a visitor types on a page, by their form names
    "username": "Username: 1 to 64 characters.",
    "password": "Password: 1 to 256 characters.",
    "new_password": NEW_PASSWORD_RULE,
    "new_password_again": NEW_PASSWORD_RULE,
    "recovery_phrase": PHRASE_RULE,
    "q": "Search: at most 200 characters.",  # the explorer's search
    "page": PAGE_NUMBER_RULE,  # the explorer's address pages
    "orders": PAGE_NUMBER_RULE,
    "deliveries": PAGE_NUMBER_RULE,
}
ADDRESS_NUMBER = ("A number in this address is not written with the digits 0-9 only, so"
                  " nothing was done.")
SENTENCES = (OUT_OF_DATE, ADDRESS_NUMBER, *TYPED_RULES.values())


def page_rule(error: Mapping[str, Any]) -> str:
    """The sentence a page shows for FastAPI's validation `error` (its first)."""
    loc = [str(part) for part in error.get("loc", ())]
    source, name = (loc[0], loc[-1]) if loc else ("", "")
    if source == "path":
        return ADDRESS_NUMBER
    return TYPED_RULES.get(name, OUT_OF_DATE)
