"""The page a browser shows when a page request fails: the same message as the API's error,
in the visitor's language, with a way back (it used to be the API's JSON)."""

from __future__ import annotations

from fastapi import Request
from fastapi.responses import Response

from gridshare.web.page_login import after_login
from gridshare.web.page_rules import OUT_OF_DATE
from gridshare.web.render import make_templates, render
from gridshare.web.security import HEADERS, current_session

TEMPLATES = make_templates()

WORDS = {  # what a resident can do about it, instead of the API's wording
    "csrf": OUT_OF_DATE,
    "not_found": "There is no page at this address.",
    "method_not_allowed": "This address is for a form on a page; nothing was done.",
}


def error_page(request: Request, status: int, code: str, message: str) -> Response:
    """`message` (or its plainer words for `code`) as a page, with a link home."""
    session = current_session(request)
    home = "/login" if session is None or session.user is None else after_login(None, session)
    title = "Page not found" if status == 404 else "Nothing was done"
    shown = render(
        TEMPLATES, request, "error.html", session, status=status, title=title,
        message=WORDS.get(code, message), home=home,
    )  # fmt: skip
    # a crash's answer is sent from outside the SecurityHeaders middleware: add them here
    for name, value in HEADERS:
        shown.headers.setdefault(name.decode(), value.decode())
    return shown
