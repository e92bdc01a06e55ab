"""Who is looking at a page: the logged-in visitor, or a trip to the login page and back."""

from __future__ import annotations

from typing import Any
from urllib.parse import urlencode

from fastapi import HTTPException, Request
from fastapi.responses import HTMLResponse
from fastapi.templating import Jinja2Templates

from gridshare.services.sessions import Session, SessionStore
from gridshare.web.render import render
from gridshare.web.security import current_session, set_session_cookie

SESSION_EXPIRED = "Your session expired; please try again."
LOGGED_OUT = (
    "You were logged out (the server restarted, or you were away a long time), so what you"
    " sent was not done. Log in and try again."
)


def page_user(request: Request) -> Session:
    """The logged-in visitor; anyone else goes to the login page, which brings them back.

    A form sent after the session ended (a restart, twelve idle hours) did nothing: the login
    page says so, instead of a silent redirect that looks as if the order went through."""
    session = current_session(request)
    if session is None or session.user is None:
        path = request.url.path
        page = "/" + path.split("/")[1]  # the page a form was on: /market/orders
        lost = request.method == "POST" and path != "/logout"  # logging out needs no retry
        raise HTTPException(303, "Log in first.", headers={"Location": login_location(page, lost)})
    return session


def login_location(page: str, lost: bool) -> str:
    """The login page that returns to `page`, saying a form sent was not done if `lost`."""
    query = {"next": page} | ({"unsent": "1"} if lost else {})
    return f"/login?{urlencode(query)}"


def visitor(request: Request) -> Session | None:
    """The logged-in visitor, or None: for a form that keeps what was typed through the
    login (`unsent_forms.py`) instead of `page_user`'s plain trip to the login page."""
    session = current_session(request)
    return session if session is not None and session.user is not None else None


def form_session(request: Request, sessions: SessionStore, token: str) -> tuple[Session, bool]:
    """The anonymous session a login or recovery form came from, and whether its token holds;
    a fresh session saying so when it does not (the page sat open past a restart)."""
    anonymous = current_session(request)
    if anonymous is not None and anonymous.csrf_ok(token):
        return anonymous, True
    fresh = sessions.new()
    fresh.flash = SESSION_EXPIRED
    return fresh, False


def session_page(
    templates: Jinja2Templates, request: Request, name: str, session: Session,
    status: int = 200, **values: Any,
) -> HTMLResponse:
    """A page whose form posts with `session`'s token (the login and recovery forms, whose
    visitor may have no cookie yet): rendered, and the cookie set."""
    response = render(templates, request, name, session, status=status, **values)
    set_session_cookie(request, response, session)
    return response


RESIDENT_PAGES = ("/market", "/account", "/meter", "/community")
OPERATOR_PAGES = ("/operator", "/community")


def after_login(next_page: str | None, session: Session) -> str:
    """Where a login goes: back to the page that asked for it, if the user may see it."""
    if session.is_operator:
        return next_page if next_page in OPERATOR_PAGES else "/operator"
    return next_page if next_page in RESIDENT_PAGES else "/market"


def known_page(page: str | None) -> str | None:
    """`page` if it is one of ours a login may return to, else None."""
    return page if page in RESIDENT_PAGES or page in OPERATOR_PAGES else None
