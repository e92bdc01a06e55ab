"""Server-rendered pages for residents: login, market, my account, my meter, community."""

from __future__ import annotations

from collections.abc import Callable
from functools import partial
from typing import Annotated, cast

from fastapi import APIRouter, Depends, FastAPI, Form, Query, Request, Response
from fastapi.responses import FileResponse, HTMLResponse, PlainTextResponse, RedirectResponse

from gridshare.chain.errors import ChainError
from gridshare.domain import DeliveryStatus, Side
from gridshare.runtime import Runtime
from gridshare.services.sessions import Session
from gridshare.services.trading import MAX_AMOUNT_WH, TradingError
from gridshare.storage.request_keys import RequestKeyError, RequestKeyReused, RequestUnfinished
from gridshare.web import delivery_reasons, i18n, queries
from gridshare.web.assets import KeptStatic
from gridshare.web.context import WebContext, get_context, install_context
from gridshare.web.errors import ApiError, chain_trouble
from gridshare.web.head_requests import asked_head
from gridshare.web.idempotency import once_per_form
from gridshare.web.market_form import (
    AMOUNT_RULE,
    MAX_MINUTES,
    MAX_PRICE_COINS,
    MINUTES_RULE,
    PRICE_DECIMALS,
    TAKE_RULE,
    KeptForms,
    price_rule,
    price_wei,
    whole_number,
)
from gridshare.web.page_login import (
    LOGGED_OUT,
    after_login,
    form_session,
    known_page,
    login_location,
    page_user,
    session_page,
    visitor,
)
from gridshare.web.readings import METER_STATES
from gridshare.web.render import (
    ASSETS,
    STATIC,
    VENDOR,
    coins,
    language,
    make_templates,
    node_modules,
    render,
    script_words,
)
from gridshare.web.routes.api import (
    OPERATOR_DOES_NOT_TRADE,
    known_order,
    limited_key_export,
    log_in,
)
from gridshare.web.routes.pages_operator import router as operator_router
from gridshare.web.routes.pages_password import router as password_router
from gridshare.web.schemas import PathId
from gridshare.web.security import (
    SESSION_COOKIE,
    check_form_csrf,
    current_session,
    set_session_cookie,
)
from gridshare.web.unsent_forms import UNSENT_BACK, UnsentForms, same_origin

router = APIRouter(include_in_schema=False)
templates = make_templates()
ACCOUNT_ROWS = 50  # newest purchases, sales and orders on My account; the statement has all
Ctx = Annotated[WebContext, Depends(get_context)]


def install(app: FastAPI, runtime: Runtime) -> None:
    """Serve static files and make sure the web services exist."""
    install_context(app, runtime)
    app.state.kept_forms = KeptForms()
    app.state.unsent_forms = UnsentForms()
    app.mount("/static", KeptStatic(ASSETS, directory=str(STATIC)), name="static")


User = Annotated[Session, Depends(page_user)]
Visitor = Annotated[Session | None, Depends(visitor)]  # None: the session ended


def back(path: str) -> RedirectResponse:
    return RedirectResponse(path, status_code=303)


def done(session: Session, path: str, message: str = "Done.") -> RedirectResponse:
    session.flash = message
    return back(path)


@router.get("/")
def home(request: Request) -> RedirectResponse:
    session = current_session(request)
    return back("/market" if session is not None and session.user is not None else "/login")


@router.get("/login", response_class=HTMLResponse)
def login_page(
    request: Request, ctx: Ctx,
    page: Annotated[str | None, Query(alias="next")] = None,  # one of ours, else ignored:
    unsent: Annotated[str | None, Query()] = None,  # a long one was an English error page
) -> Response:
    session = current_session(request) or ctx.sessions.new()
    if session.user is not None:  # already logged in: the login form would only confuse
        return back(after_login(page, session))
    if unsent and session.flash is None:
        session.flash = LOGGED_OUT
    return session_page(templates, request, "login.html", session, next_page=known_page(page),
                        unsent_form=unsent_forms(request).waiting(session.id))


@router.post("/login", response_model=None)
def login(
    request: Request, ctx: Ctx, username: Annotated[str, Form(max_length=64)],
    password: Annotated[str, Form(max_length=256)],
    csrf_token: Annotated[str, Form(max_length=128)] = "",
    next_page: Annotated[str | None, Form(max_length=64)] = None,
    unsent_form: Annotated[str, Form(max_length=64)] = "",
) -> Response:
    anonymous, token_ok = form_session(request, ctx.sessions, csrf_token)
    if not token_ok:
        return session_page(templates, request, "login.html", anonymous, status=403,
                            username=username)
    browser = anonymous.id  # the login makes a new session: the form waits for this one
    try:
        session = log_in(ctx, request, username, password)
    except ApiError as exc:
        anonymous.flash = exc.message if exc.status == 429 else "Wrong username or password."
        refused = render(
            templates, request, "login.html", anonymous, status=exc.status,
            next_page=known_page(next_page), username=username, unsent_form=unsent_form,
        )
        refused.headers.update(exc.headers or {})  # Retry-After when limited
        return refused
    assert session.user is not None
    unsent = unsent_forms(request).claim(unsent_form, browser, session.user.address)
    if unsent is not None:  # filled in again on its page, to be checked and sent again
        kept_forms(request).keep(session, dict(unsent.values))
        session.flash = UNSENT_BACK
        next_page = unsent.page
    response = back(after_login(next_page, session))
    set_session_cookie(request, response, session)
    return response


@router.post("/logout")
def logout(
    request: Request, ctx: Ctx, session: User, csrf_token: Annotated[str, Form()] = ""
) -> RedirectResponse:
    check_form_csrf(session, csrf_token)
    ctx.sessions.delete(session.id)
    response = back("/login")
    response.delete_cookie(SESSION_COOKIE, path="/")
    return response


@router.get("/lang/{code}")
def choose_language(code: str, request: Request) -> RedirectResponse:
    target = request.query_params.get("next", "/")
    response = back(target if target.startswith("/") and not target.startswith("//") else "/")
    response.set_cookie(i18n.COOKIE, i18n.pick(code), samesite="strict", max_age=365 * 86400)
    return response


@router.get("/vendor/{name}")
def vendor(request: Request, name: str) -> FileResponse:
    """Front-end libraries from node_modules (uPlot, ethers), served locally."""
    root = node_modules()
    if name not in VENDOR or root is None:
        raise ApiError(404, "not_found", "No such file.", None)
    file = root / VENDOR[name]
    version = request.query_params.get("v")
    return FileResponse(file, headers={"cache-control": ASSETS.cache_control(file, version)})


STALE_PAGE = "This page was out of date, so nothing was sent. Here it is again: try once more."


def kept_forms(request: Request) -> KeptForms:
    return cast(KeptForms, request.app.state.kept_forms)


def unsent_forms(request: Request) -> UnsentForms:
    return cast(UnsentForms, request.app.state.unsent_forms)


def to_login(
    request: Request, ctx: WebContext, typed: dict[str, str], account: str
) -> RedirectResponse:
    """A market form sent after its session ended: nothing is done, and the login page says
    so. What was typed waits for the login of `account` (whom the page was drawn for) from
    this browser, if one of our pages sent it (`unsent_forms.py`)."""
    response = back(login_location("/market", lost=True))
    if account and same_origin(request):
        browser = current_session(request)  # an anonymous one, if the cookie names one
        if browser is None:
            browser = ctx.sessions.new()
            set_session_cookie(request, response, browser)
        unsent_forms(request).keep(browser.id, account, "/market", typed)
    return response


def cannot_sign(session: Session) -> str | None:
    """Why the server cannot sign this session's trade (as signer_of says to the API)."""
    if session.is_operator:
        return OPERATOR_DOES_NOT_TRADE
    return "This account signs in its wallet: use MetaMask." if session.signer is None else None


def form_refused(
    request: Request, session: Session, message: str, typed: dict[str, str] | None = None
) -> RedirectResponse:
    """Back to /market with `message`; the form that was sent comes back filled in."""
    if typed:
        kept_forms(request).keep(session, typed)
    return done(session, "/market", message)


def stale_form(
    request: Request, session: Session, csrf_token: str, typed: dict[str, str] | None = None,
    account: str = "",
) -> RedirectResponse | None:
    """A market form from a page older than the session (e.g. a re-login in another tab).

    What was typed comes back only if the page was drawn for this session's account
    (`account`): not another resident's, who logged in on the same phone meanwhile."""
    try:
        check_form_csrf(session, csrf_token)
    except ApiError:
        assert session.user is not None
        if not queries.same(account, session.user.address):
            typed = None
        return form_refused(request, session, STALE_PAGE, typed)
    return None


@router.get("/market", response_class=HTMLResponse)
def market_page(request: Request, ctx: Ctx, session: User) -> HTMLResponse:
    assert session.user is not None
    me = session.user.address
    others = [o for o in queries.open_board(ctx) if not queries.same(o.owner, me)]
    return render(
        templates, request, "market.html", session,
        offers=queries.best_first(others, Side.SELL),
        demands=queries.best_first(others, Side.BUY),
        mine=queries.live_mine(ctx, session.user),
        by_agent=queries.placed_by_agent(ctx, session.user),
        mechanism=ctx.mechanism, balances=ctx.runtime.market.balances(me),
        chain_id=ctx.runtime.settings.chain_id, contract=ctx.runtime.market.address,
        kept=kept_forms(request).take(session, keep=asked_head(request)),
        max_amount_wh=MAX_AMOUNT_WH, max_minutes=MAX_MINUTES, price_decimals=PRICE_DECIMALS,
        price_chars=len(str(MAX_PRICE_COINS)) + 1 + PRICE_DECIMALS,
        rules={"amount_wh": AMOUNT_RULE, "minutes": MINUTES_RULE,
               "price": price_rule(ctx.runtime.settings.coin_symbol)},
    )  # fmt: skip


# What the market page says after a trade: what was done, with its numbers, since the order
# itself is listed a screen further down ("Done." alone left the resident scrolling)
OFFER_POSTED = "Your offer #{order} is posted: {amount} Wh at {price} {symbol}/Wh."
DEMAND_POSTED = "Your demand #{order} is posted: {amount} Wh at {price} {symbol}/Wh."
BOUGHT = ("You bought {amount} Wh at {price} {symbol}/Wh (delivery #{delivery}): My account "
          "shows it arriving.")
SOLD = ("You sold {amount} Wh at {price} {symbol}/Wh (delivery #{delivery}): My account shows "
        "it leaving.")
CANCELLED = "Your order #{order} is cancelled."


def _trade(
    ctx: Ctx, session: Session, request_key: str, fingerprint: str, run: Callable[[], str],
    refused: Callable[[str], RedirectResponse],
) -> RedirectResponse:
    """Run a resident's trade, once per form (`request_key`); its answer, or a refusal, is
    the page's message.

    `refused` answers a refusal that surely sent nothing (the form comes back filled in).
    """
    try:
        message = once_per_form(ctx, session, request_key, fingerprint, run)
    except TradingError as exc:
        return refused(exc.message)
    except RequestKeyReused:  # e.g. an old page from the back button, sent with other values
        return refused("That form was already sent. Send it again from here.")
    except RequestUnfinished:
        return done(session, "/market", "Your earlier request may not have finished: check "
                    "your orders here before trying again.")  # fmt: skip
    except RequestKeyError as exc:  # a malformed key: not one this page made
        return refused(str(exc))
    except ChainError as exc:  # not the contract's refusal: the node failed or was slow
        return done(session, "/market", chain_trouble(exc)[2])
    return done(session, "/market", message)


# checked by the request keys' own rule (a refusal the market page words): 101 characters were
# pydantic's English error page, 7 the page's own message
RequestKey = Annotated[str, Form()]
Typed = Annotated[str, Form()]  # read as text and checked here: a refusal names field and rule


@router.post("/market/orders")
def post_order(
    request: Request, ctx: Ctx, session: Visitor, side: Typed = "", amount_wh: Typed = "",
    price: Typed = "", minutes: Typed = "", csrf_token: Typed = "",
    request_key: RequestKey = "", account: Typed = "",
) -> RedirectResponse:
    """Place an order from the Buy Energy / Sell Energy form; blank minutes are 60.

    `account`: the address the page was drawn for, so what was typed comes back only to it."""
    typed = {"form": side, "amount_wh": amount_wh, "price": price, "minutes": minutes}
    if session is None:
        return to_login(request, ctx, typed, account)
    stale = stale_form(request, session, csrf_token, typed, account)
    if stale is not None:
        return stale
    if side not in ("buy", "sell"):
        return form_refused(request, session, "Choose Buy Energy or Sell Energy.")
    amount = whole_number(amount_wh, MAX_AMOUNT_WH)
    wei = price_wei(price)
    ttl = whole_number(minutes, MAX_MINUTES) if minutes.strip() else 60
    problems = [
        rule for rule, bad in (
            (AMOUNT_RULE, amount is None),
            (price_rule(ctx.runtime.settings.coin_symbol), wei is None),
            (MINUTES_RULE, ttl is None),
        ) if bad
    ]  # fmt: skip
    if problems or amount is None or wei is None or ttl is None:
        return form_refused(request, session, " ".join(problems), typed)
    if (cannot := cannot_sign(session)) is not None:
        return form_refused(request, session, cannot, typed)
    signer = session.signer
    assert signer is not None
    symbol = ctx.runtime.settings.coin_symbol

    def place() -> str:
        order = ctx.trading.place_order(signer, Side(side), amount, wei, ttl * 60)
        posted = OFFER_POSTED if order.side is Side.SELL else DEMAND_POSTED
        return posted.format(order=order.id, amount=order.amount_wh,
                             price=coins(order.price_per_wh, 4), symbol=symbol)

    return _trade(
        ctx, session, request_key, f"form:place:{side}:{amount}:{wei}:{ttl}", place,
        lambda message: form_refused(request, session, message, typed),
    )  # fmt: skip


@router.post("/market/orders/{order_id}/take")
def take_order(
    order_id: PathId, request: Request, ctx: Ctx, session: Visitor, amount_wh: Typed = "",
    csrf_token: Typed = "", request_key: RequestKey = "", account: Typed = "",
) -> RedirectResponse:
    typed = {"form": f"take-{order_id}", "amount_wh": amount_wh}
    if session is None:
        return to_login(request, ctx, typed, account)
    stale = stale_form(request, session, csrf_token, typed, account)
    if stale is not None:
        return stale
    known_order(order_id)
    amount = whole_number(amount_wh, MAX_AMOUNT_WH)
    if amount is None:
        return form_refused(request, session, TAKE_RULE, typed)
    if (cannot := cannot_sign(session)) is not None:
        return form_refused(request, session, cannot, typed)
    signer = session.signer
    assert signer is not None

    def take() -> str:
        delivery = ctx.trading.take(signer, order_id, amount)
        bought = queries.same(delivery.buyer, signer.address)
        return (BOUGHT if bought else SOLD).format(
            amount=delivery.amount_wh, price=coins(delivery.price_per_wh, 4),
            symbol=ctx.runtime.settings.coin_symbol, delivery=delivery.id)

    return _trade(
        ctx, session, request_key, f"form:take:{order_id}:{amount}", take,
        lambda message: form_refused(request, session, message, typed),
    )  # fmt: skip


@router.post("/market/orders/{order_id}/cancel")
def cancel_order(
    order_id: PathId, request: Request, ctx: Ctx, session: User, csrf_token: Typed = "",
    request_key: RequestKey = "",
) -> RedirectResponse:
    stale = stale_form(request, session, csrf_token)
    if stale is not None:
        return stale
    assert session.user is not None
    order = ctx.runtime.market.order(order_id) if 0 < order_id < 2**63 else None
    if order is None or not queries.same(order.owner, session.user.address):
        raise ApiError(404, "no_order", f"You have no order #{order_id}.", "order_id")
    if (cannot := cannot_sign(session)) is not None:
        return done(session, "/market", cannot)
    signer = session.signer
    assert signer is not None

    def cancel() -> str:
        ctx.trading.cancel(signer, order_id)
        return CANCELLED.format(order=order_id)

    return _trade(
        ctx, session, request_key, f"form:cancel:{order_id}", cancel,
        lambda message: done(session, "/market", message),
    )  # fmt: skip


@router.get("/account", response_class=HTMLResponse)
def account_page(request: Request, ctx: Ctx, session: User) -> HTMLResponse:
    assert session.user is not None
    me = session.user.address
    deliveries = queries.my_deliveries(ctx, session.user)
    purchases = [d for d in deliveries if queries.same(d.buyer, me)]
    sales = [d for d in deliveries if queries.same(d.seller, me)]
    totals = {"purchases": len(purchases), "sales": len(sales)}
    orders = queries.my_orders(ctx, session.user)
    # newest first; a year of 15-minute trading is thousands of rows: too many for a phone
    purchases, sales = purchases[:ACCOUNT_ROWS], sales[:ACCOUNT_ROWS]
    return render(
        templates, request, "account.html", session,
        balances=ctx.runtime.market.balances(me), pending=DeliveryStatus.PENDING,
        purchases=purchases, sales=sales, reasons=queries.reasons(ctx.engine, purchases + sales),
        # a delivery that ends while the page is open says why in the page's language too
        script_words=script_words(language(request), delivery_reasons.texts()),
        orders=orders[:ACCOUNT_ROWS], made=ctx.created_at,
        order_state=partial(queries.order_state, now=ctx.now()),
        totals={**totals, "orders": len(orders)},
    )


@router.get("/account/statement.csv")
def statement(ctx: Ctx, session: User) -> PlainTextResponse:
    assert session.user is not None
    body = queries.statement_csv(ctx, session.user, ctx.runtime.settings.coin_symbol)
    return PlainTextResponse(body, media_type="text/csv", headers={
        "content-disposition": 'attachment; filename="statement.csv"'})


@router.post("/account/export", response_class=HTMLResponse)
def export_key(
    request: Request, ctx: Ctx, session: User, password: Annotated[str, Form(max_length=256)],
    csrf_token: Annotated[str, Form()] = "",
) -> HTMLResponse:
    check_form_csrf(session, csrf_token)
    assert session.user is not None
    try:
        key = limited_key_export(ctx, session.user, password)
    except Exception as exc:  # AccountError: wrong password or no key held; ApiError: 429
        session.flash = getattr(exc, "message", "Refused.")
        status = exc.status if isinstance(exc, ApiError) else 400
        refused = render(templates, request, "export.html", session, key=None, status=status)
        refused.headers.update(getattr(exc, "headers", None) or {})  # Retry-After when limited
        return refused
    response = render(templates, request, "export.html", session, key=key)
    response.headers["cache-control"] = "no-store"
    return response


@router.get("/account/export", response_class=HTMLResponse)
def export_page(request: Request, session: User) -> HTMLResponse:
    return render(templates, request, "export.html", session, key=None)


@router.get("/meter", response_class=HTMLResponse)
def meter_page(request: Request, ctx: Ctx, session: User) -> HTMLResponse:
    assert session.user is not None
    record = queries.household_of(ctx, session.user)
    reading = ctx.readings.get(record) if record is not None else None
    return render(templates, request, "meter.html", session, reading=reading, record=record)


@router.get("/community", response_class=HTMLResponse)
def community_page(request: Request, ctx: Ctx, session: User) -> HTMLResponse:
    return render(templates, request, "community.html", session,
                  community=queries.community(ctx), meter_states=METER_STATES)


router.include_router(operator_router)
router.include_router(password_router)
