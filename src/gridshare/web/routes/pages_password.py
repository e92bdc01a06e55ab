"""A resident's password: change it (knowing it), or set a new one with the recovery phrase."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Form, Request, Response
from fastapi.responses import HTMLResponse, RedirectResponse

from gridshare.services.accounts import AccountError
from gridshare.services.sessions import Session
from gridshare.web.context import WebContext, get_context
from gridshare.web.errors import ApiError
from gridshare.web.page_login import after_login, form_session, page_user, session_page
from gridshare.web.render import make_templates, render
from gridshare.web.routes.api import change_password, recover
from gridshare.web.security import check_form_csrf, current_session, set_session_cookie

router = APIRouter(include_in_schema=False)
templates = make_templates()
Ctx = Annotated[WebContext, Depends(get_context)]
User = Annotated[Session, Depends(page_user)]
Secret = Annotated[str, Form(max_length=256)]
DIFFER = "The two new passwords differ; type the same one twice."
CHANGED = "Your password is changed. Anyone else logged in as you has been logged out."


def refused_page(
    request: Request, session: Session, name: str, exc: AccountError | ApiError, **values: str
) -> HTMLResponse:
    """The form again, its message flashed and its field marked: 429 when limited (with
    Retry-After), 401 for a wrong phrase, 403 for the operator, else 400."""
    if isinstance(exc, ApiError):
        status = exc.status
    else:
        status = {"wrong_phrase": 401, "operator_password": 403}.get(exc.code, 400)
    response = render(templates, request, name, session, status=status, field=exc.field,
                      **values)
    if isinstance(exc, ApiError) and exc.headers:
        response.headers.update(exc.headers)
    return response


@router.get("/account/password", response_class=HTMLResponse)
def password_page(request: Request, session: User) -> HTMLResponse:
    return render(templates, request, "password.html", session)


@router.post("/account/password", response_model=None)
def password_change(
    request: Request, ctx: Ctx, session: User, password: Secret, new_password: Secret,
    new_password_again: Secret, csrf_token: Annotated[str, Form(max_length=128)] = "",
) -> Response:
    check_form_csrf(session, csrf_token)
    try:
        if new_password != new_password_again:
            raise AccountError("passwords_differ", DIFFER, "new_password_again")
        fresh = change_password(ctx, session, password, new_password)
    except (AccountError, ApiError) as exc:
        session.flash = exc.message
        return refused_page(request, session, "password.html", exc)
    fresh.flash = CHANGED
    response = RedirectResponse("/account", status_code=303)
    set_session_cookie(request, response, fresh)
    return response


@router.get("/recover", response_class=HTMLResponse)
def recovery_page(request: Request, ctx: Ctx) -> HTMLResponse:
    session = current_session(request) or ctx.sessions.new()
    return session_page(templates, request, "recover.html", session)


@router.post("/recover", response_model=None)
def recovery(
    request: Request, ctx: Ctx, username: Annotated[str, Form(max_length=64)],
    recovery_phrase: Annotated[str, Form(max_length=400)], new_password: Secret,
    new_password_again: Secret, csrf_token: Annotated[str, Form(max_length=128)] = "",
) -> Response:
    anonymous, token_ok = form_session(request, ctx.sessions, csrf_token)
    if not token_ok:
        return session_page(templates, request, "recover.html", anonymous, status=403)
    try:
        if new_password != new_password_again:
            raise AccountError("passwords_differ", DIFFER, "new_password_again")
        session = recover(ctx, request, username, recovery_phrase, new_password)
    except (AccountError, ApiError) as exc:
        anonymous.flash = exc.message
        return refused_page(request, anonymous, "recover.html", exc, username=username.strip())
    session.flash = CHANGED
    response = RedirectResponse(after_login(None, session), status_code=303)
    set_session_cookie(request, response, session)
    return response
