"""A market form sent after its session ended, kept through the login that follows.

The session lives in memory: a restart, twelve idle hours or a logout in another tab end it
while the market page is open, and the form sent from that page did nothing. What was typed
waits here, in memory, under a random id that only the login form of the browser that sent it
carries (a hidden field: never a URL, which history and a Referer would keep), for a few
minutes; the login of the account the page was drawn for takes it once and the market page
fills the form in again, to be checked and sent again. Any other login, or a later one, gets
nothing. Bounded in count, each value cut to the form's field length: a stranger sending forms
without a session can only push out older waiting forms (whose owners still see "nothing was
sent" and type again), never grow the server's memory.
"""

from __future__ import annotations

import secrets
import threading
import time
from collections import OrderedDict
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from urllib.parse import urlsplit

from fastapi import Request

from gridshare.web.market_form import FIELD_CHARS

UNSENT_TTL_S = 600.0  # ten minutes to log in again on a phone
MAX_UNSENT = 200  # forms waiting at once, the oldest forgotten first
UNSENT_BACK = (
    "Nothing was sent. The form is filled in again as you typed it: check it and send it again."
)


@dataclass(frozen=True)
class Unsent:
    """What was typed into a form on `page`, drawn for account `owner`, sent from `browser`
    (the anonymous session that was sent to the login page) at `made`."""

    browser: str
    owner: str
    page: str
    values: Mapping[str, str]
    made: float


class UnsentForms:
    """Forms waiting for their login, by random id; at most one per browser."""

    def __init__(
        self, ttl_s: float = UNSENT_TTL_S, limit: int = MAX_UNSENT,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self._forms: OrderedDict[str, Unsent] = OrderedDict()
        self._lock = threading.Lock()
        self._ttl, self._limit, self._clock = ttl_s, limit, clock

    def _forget_old(self, now: float) -> None:
        """Drop expired forms and any beyond the limit (oldest first); call under the lock."""
        while self._forms:
            first_id, first = next(iter(self._forms.items()))
            if now - first.made <= self._ttl and len(self._forms) <= self._limit:
                return
            del self._forms[first_id]

    def keep(self, browser: str, owner: str, page: str, values: Mapping[str, str]) -> str:
        """Keep `values` (each cut to the field length) for `owner`'s next login from
        `browser`; the id the login form carries. An earlier form of the browser goes."""
        unsent = Unsent(browser, owner.lower(), page,
                        {k: v[:FIELD_CHARS] for k, v in values.items()}, self._clock())
        form_id = secrets.token_urlsafe(24)
        with self._lock:
            for old in [i for i, f in self._forms.items() if f.browser == browser]:
                del self._forms[old]
            self._forms[form_id] = unsent
            self._forget_old(unsent.made)
        return form_id

    def waiting(self, browser: str) -> str | None:
        """The id of the form `browser` sent, if it still waits (for its login page)."""
        with self._lock:
            self._forget_old(self._clock())
            return next((i for i, f in self._forms.items() if f.browser == browser), None)

    def claim(self, form_id: str, browser: str, owner: str) -> Unsent | None:
        """The form, for a login of `owner` from `browser`; else None. Either way it is gone:
        a login of someone else on the same phone ends it."""
        with self._lock:
            self._forget_old(self._clock())
            unsent = self._forms.pop(form_id, None) if form_id else None
        if unsent is None or unsent.browser != browser or unsent.owner != owner.lower():
            return None
        return unsent

    def __len__(self) -> int:
        return len(self._forms)


def same_origin(request: Request) -> bool:
    """Whether a browser sent this form from one of our pages (not another site's form).

    Browsers say so on every POST: `Sec-Fetch-Site`, or (older ones) `Origin`, which our
    `Referrer-Policy: no-referrer` makes "null" in Chromium even from our own pages. A client
    that sends neither is no browser a page could drive: what it keeps comes back only to it."""
    site = request.headers.get("sec-fetch-site")
    if site is not None:
        return site == "same-origin"
    origin = request.headers.get("origin")
    return origin is None or urlsplit(origin).netloc == request.headers.get("host")
