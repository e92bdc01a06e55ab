"""JSON API for residents: session, my account, the market (everything the pages do)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Annotated, Any, TypeVar

from eth_account.signers.local import LocalAccount
from fastapi import APIRouter, Depends, FastAPI, Request, Response
from fastapi.responses import PlainTextResponse

from gridshare.domain import Side
from gridshare.runtime import Runtime
from gridshare.services.accounts import AccountError
from gridshare.services.sessions import Session
from gridshare.services.trading import TradingError
from gridshare.storage.users import User
from gridshare.web import queries
from gridshare.web.context import WebContext, get_context, install_context
from gridshare.web.errors import ApiError
from gridshare.web.idempotency import R_KEY, IdempotencyKey, once
from gridshare.web.openapi import SENDS_TRANSACTION
from gridshare.web.routes.api_operator import router as operator_router
from gridshare.web.schemas import (
    BalancesView,
    Community,
    Credentials,
    DeliveryView,
    ExportedKey,
    MarketInfo,
    MeterReading,
    MeView,
    MyDeliveryView,
    NewOrder,
    NewPassword,
    OrderView,
    Password,
    PathId,
    Recovery,
    SessionView,
    Take,
    Trade,
    UserView,
)
from gridshare.web.security import (
    SESSION_COOKIE,
    client_address,
    login_keys,
    require_csrf,
    require_user,
    reserve_attempt,
    set_session_cookie,
)

router = APIRouter(prefix="/api/v1")
Ctx = Annotated[WebContext, Depends(get_context)]
Reader = Annotated[Session, Depends(require_user)]
Writer = Annotated[Session, Depends(require_csrf)]
R401: dict[int | str, dict[str, Any]] = {401: {"description": "not logged in"}}
R403: dict[int | str, dict[str, Any]] = {
    403: {"description": "CSRF token missing or wrong, or not allowed"}
}
R429: dict[int | str, dict[str, Any]] = {429: {"description": "too many wrong passwords"}}
MAX_ORDER_ID = 2**63 - 1  # ids are uint256 on chain; none here gets past SQLite's INTEGER
# The contract's names for fields (chain/errors.py, shared with the operator) that residents
# send under another name.
REQUEST_FIELDS = {"amount": "amount_wh"}
OPERATOR_DOES_NOT_TRADE = "The operator does not trade: log in as a household to buy or sell."


def install(app: FastAPI, runtime: Runtime) -> None:
    """Build the web services (sessions, accounts, page context)."""
    install_context(app, runtime)


def user_view(user: User) -> UserView:
    return UserView(
        username=user.username, role=user.role.value, address=user.address,
        house_id=user.house_id, holds_key=user.holds_key,
    )


def log_in(ctx: WebContext, request: Request, username: str, password: str) -> Session:
    """Check the password (rate limited), unlock the key, start a fresh session.

    The attempt counts as a failure from before the check until the password proves right
    (an error on the way keeps it counted), so concurrent wrong passwords cannot all be
    checked before one is counted.
    """
    username = username.strip()  # a phone keyboard's trailing space (no username has one)
    keys = login_keys(client_address(request), username)
    attempt = reserve_attempt(ctx.limiter, "failed logins", *keys)
    login = ctx.accounts.login(username, password)
    if login is None:
        raise ApiError(401, "bad_login", "Wrong username or password.", "password")
    ctx.limiter.release(attempt)
    old = request.cookies.get(SESSION_COOKIE)
    if old:
        ctx.sessions.delete(old)
    session = ctx.sessions.new(login.user, login.signer)
    stored = ctx.users.by_id(login.user.id)
    if stored is None or stored.password_hash != login.user.password_hash:
        # the password changed while this login was checked: the change ended every session
        # before this one existed, so this one must not stand either
        ctx.sessions.delete(session.id)
        raise ApiError(401, "bad_login", "Wrong username or password.", "password")
    return session


T = TypeVar("T")


def limited(
    ctx: WebContext, what: str, keys: tuple[str, ...], check: Callable[[], T], *,
    wrong: str = "wrong_password", field: str = "password",
) -> T:
    """`check()`, counted as a failure under `keys` until it proves right (like a login).

    The 6th failure within a minute, and every try until the minute has passed (even a right
    one), is refused with 429 naming `field`. A refusal other than `wrong` (a rule the new
    password breaks, no key held) is not a guess and is not counted; any other error is.
    """
    attempt = reserve_attempt(ctx.limiter, what, *keys, field=field)
    try:
        result = check()
    except AccountError as exc:
        if exc.code != wrong:
            ctx.limiter.release(attempt)
        raise
    ctx.limiter.release(attempt)
    return result


def password_key(user: User) -> tuple[str]:
    """The limiter's key for re-typed passwords at key export: one per user."""
    return (f"password:{user.username.lower()}",)


def limited_key_export(ctx: WebContext, user: User, password: str) -> str:
    """The user's private key, after the password; wrong passwords are limited like logins."""
    return limited(ctx, "wrong passwords", password_key(user),
                   lambda: ctx.accounts.export_key(user, password))


def change_password(
    ctx: WebContext, session: Session, password: str, new_password: str
) -> Session:
    """A new password for the session's user, and a fresh session for them: every session they
    had ends, this one too (its cookie may be what leaked), so the caller sets the new one.

    Wrong current passwords are limited per session: a stolen cookie gets five guesses a
    minute, and cannot lock the resident out of changing their password elsewhere."""
    user = session.user
    assert user is not None
    with ctx.password_locks.held(user.username.lower()):
        changed = limited(ctx, "wrong passwords", (f"password-change:{session.id}",),
                          lambda: ctx.accounts.change_password(user, password, new_password))
        ctx.sessions.end_user(changed.id)
        return ctx.sessions.new(changed, session.signer)


def recover(
    ctx: WebContext, request: Request, username: str, phrase: str, new_password: str
) -> Session:
    """A new password proved by the recovery phrase, then a fresh session (the others end).

    Wrong phrases are limited per client only: guessing 12 words is hopeless anyway, and a
    limit per username would let a stranger keep a resident from recovering their account."""
    username = username.strip()
    keys = (f"recover-ip:{client_address(request)}",)
    with ctx.password_locks.held(username.lower()):
        login = limited(ctx, "wrong recovery phrases", keys,
                        lambda: ctx.accounts.recover(username, phrase, new_password),
                        wrong="wrong_phrase", field="recovery_phrase")
        ctx.sessions.end_user(login.user.id)
        return ctx.sessions.new(login.user, login.signer)


def known_order(order_id: int) -> int:
    """`order_id` if it can name an order; else 404 no_order (past uint256 it was a 500)."""
    if not 0 < order_id <= MAX_ORDER_ID:
        raise ApiError(404, "no_order", f"There is no order #{order_id}.", "order_id")
    return order_id


def signer_of(session: Session) -> LocalAccount:
    """The session's unlocked key; wallet accounts must sign in their wallet."""
    if session.is_operator:  # the treasury tops households up; it has no energy to trade
        raise ApiError(403, "not_a_household", OPERATOR_DOES_NOT_TRADE, None)
    if session.signer is None:
        raise ApiError(409, "use_wallet",
                       "This account signs in its own wallet (MetaMask); the server holds no key.",
                       None)
    return session.signer


def trading_error(exc: TradingError | AccountError) -> ApiError:
    status = 409 if exc.code in ("insufficient_balance", "order_closed", "order_expired") else 400
    if exc.code in ("not_owner", "operator_password"):
        status = 403
    if exc.code in ("no_order",):
        status = 404
    field = REQUEST_FIELDS.get(exc.field, exc.field) if exc.field else None
    return ApiError(status, exc.code, exc.message, field)


# -- session ---------------------------------------------------------------


@router.post("/session", response_model=SessionView, tags=["session"],
             responses={401: {"description": "wrong credentials"}, 429: {"description": "limited"}})
def create_session(
    body: Credentials, request: Request, response: Response, ctx: Ctx
) -> SessionView:
    """Log in: a fresh session cookie and the CSRF token for later writes."""
    session = log_in(ctx, request, body.username, body.password)
    set_session_cookie(request, response, session)
    assert session.user is not None
    return SessionView(user=user_view(session.user), csrf_token=session.csrf)


@router.post("/session/recovery", response_model=SessionView, tags=["session"],
             responses={400: {"description": "a phrase or password the rules refuse"},
                        401: {"description": "the phrase is not this username's"},
                        429: {"description": "limited"}})
def recover_session(
    body: Recovery, request: Request, response: Response, ctx: Ctx
) -> SessionView:
    """Forgot the password: the 12-word recovery phrase sets a new one, and logs in.

    Every other session of that resident ends. Five wrong phrases within a minute from one
    client are refused for the rest of the minute (429)."""
    try:
        session = recover(ctx, request, body.username, body.recovery_phrase, body.new_password)
    except AccountError as exc:
        status = 401 if exc.code == "wrong_phrase" else 400
        raise ApiError(status, exc.code, exc.message, exc.field) from exc
    set_session_cookie(request, response, session)
    assert session.user is not None
    return SessionView(user=user_view(session.user), csrf_token=session.csrf)


@router.get("/session", response_model=SessionView, tags=["session"], responses=R401)
def read_session(session: Reader) -> SessionView:
    """Who is logged in, and the CSRF token."""
    assert session.user is not None
    return SessionView(user=user_view(session.user), csrf_token=session.csrf)


@router.delete("/session", status_code=204, tags=["session"], responses={**R401, **R403})
def delete_session(session: Writer, ctx: Ctx, response: Response) -> Response:
    """Log out: the session (and any unlocked key) is forgotten."""
    ctx.sessions.delete(session.id)
    out = Response(status_code=204)
    out.delete_cookie(SESSION_COOKIE, path="/")
    return out


# -- my account ------------------------------------------------------------


@router.get("/me", response_model=MeView, tags=["account"], responses=R401)
def me(session: Reader, ctx: Ctx) -> MeView:
    """My address and market balances (available, locked in orders, escrowed)."""
    assert session.user is not None
    balances = ctx.runtime.market.balances(session.user.address)
    return MeView(user=user_view(session.user), balances=BalancesView.of(balances),
                  coin_symbol=ctx.runtime.settings.coin_symbol)


@router.get("/me/orders", response_model=list[OrderView], tags=["account"], responses=R401)
def my_orders(session: Reader, ctx: Ctx) -> list[OrderView]:
    """All my orders, newest first."""
    assert session.user is not None
    return [OrderView.of(o) for o in queries.my_orders(ctx, session.user)]


@router.get("/me/deliveries", response_model=list[MyDeliveryView], tags=["account"],
            responses=R401)
def my_deliveries(session: Reader, ctx: Ctx) -> list[MyDeliveryView]:
    """My purchases and sales (deliveries), newest first; one that expired or settled short
    of its amount says why (`reason`)."""
    assert session.user is not None
    mine = queries.my_deliveries(ctx, session.user)
    why = queries.reasons(ctx.engine, mine)
    return [MyDeliveryView.mine(d, why.get(d.id), session.user.address) for d in mine]


@router.get("/me/statement.csv", response_class=PlainTextResponse, tags=["account"],
            responses=R401)
def statement(session: Reader, ctx: Ctx) -> PlainTextResponse:
    """My statement as CSV."""
    assert session.user is not None
    body = queries.statement_csv(ctx, session.user, ctx.runtime.settings.coin_symbol)
    return PlainTextResponse(body, media_type="text/csv", headers={
        "content-disposition": 'attachment; filename="statement.csv"'})


@router.post("/me/key-export", response_model=ExportedKey, tags=["account"],
             responses={**R401, **R403, **R429})
def export_key(body: Password, session: Writer, ctx: Ctx, response: Response) -> ExportedKey:
    """My private key (to import into MetaMask), after re-entering my password.

    Five wrong passwords within a minute lock key export for the rest of the minute (429).
    """
    assert session.user is not None
    response.headers["cache-control"] = "no-store"
    try:
        key = limited_key_export(ctx, session.user, body.password)
    except AccountError as exc:
        raise trading_error(exc) from exc
    return ExportedKey(address=session.user.address, private_key=key)


@router.put("/me/password", response_model=SessionView, tags=["account"],
            responses={**R401, **R403, **R429,
                       400: {"description": "wrong current password, or a too short new one"}})
def new_password(
    body: NewPassword, session: Writer, ctx: Ctx, request: Request, response: Response
) -> SessionView:
    """Change my password (the server-held key is re-encrypted with it).

    Every session of mine ends, this one too: the answer sets a new session cookie and
    carries its CSRF token. Five wrong current passwords within a minute, in one session,
    are refused for the rest of the minute (429)."""
    try:
        fresh = change_password(ctx, session, body.password, body.new_password)
    except AccountError as exc:
        raise trading_error(exc) from exc
    set_session_cookie(request, response, fresh)
    assert fresh.user is not None
    return SessionView(user=user_view(fresh.user), csrf_token=fresh.csrf)


@router.get("/me/meter", response_model=MeterReading, tags=["account"],
            responses={**R401, 404: {"description": "no meter"}})
def my_meter(session: Reader, ctx: Ctx) -> MeterReading:
    """Live readings from my household's meter."""
    assert session.user is not None
    record = queries.household_of(ctx, session.user)
    if record is None:
        raise ApiError(404, "no_meter", "No meter is registered for this account.", None)
    return ctx.readings.get(record)


# -- market ----------------------------------------------------------------


@router.get("/market", response_model=MarketInfo, tags=["market"])
def market_info(ctx: Ctx) -> MarketInfo:
    """The mechanism in force, coin, chain id and contract address (for wallets), and the
    chain's time now."""
    limits = ctx.runtime.market.limits
    return MarketInfo(
        mechanism=ctx.mechanism, coin_symbol=ctx.runtime.settings.coin_symbol,
        chain_id=ctx.runtime.settings.chain_id, rpc_path="/rpc",
        contract_address=ctx.runtime.market.address,
        max_amount_wh=limits.max_amount_wh, max_price_per_wh=limits.max_price_per_wh,
        now=ctx.now(),
    )


@router.get("/orders", response_model=list[OrderView], tags=["market"], responses=R401)
def open_orders(_: Reader, ctx: Ctx) -> list[OrderView]:
    """Every live offer and demand on the board, oldest first."""
    return [OrderView.of(o) for o in queries.open_board(ctx)]


@router.post("/orders", response_model=OrderView, status_code=201, tags=["market"],
             responses={**R401, **R403, **R_KEY, **SENDS_TRANSACTION})
def place_order(
    body: NewOrder, session: Writer, ctx: Ctx, idempotency_key: IdempotencyKey = None
) -> OrderView:
    """Post an offer (sell) or a demand (buy); a buy locks its cost."""
    signer = signer_of(session)

    def work() -> str:
        order = ctx.trading.place_order(
            signer, Side(body.side), body.amount_wh, body.price_per_wh, body.ttl_s
        )
        return OrderView.of(order).model_dump_json()

    try:
        answer = once(ctx, session, idempotency_key, f"api:place:{body.model_dump_json()}", work)
    except TradingError as exc:
        raise trading_error(exc) from exc
    return OrderView.model_validate_json(answer)


@router.post("/orders/{order_id}/take", response_model=DeliveryView, status_code=201,
             tags=["market"],
             responses={**R401, **R403, 404: {"description": "no order"}, **R_KEY,
                        **SENDS_TRANSACTION})
def take_order(
    order_id: PathId, body: Take, session: Writer, ctx: Ctx, idempotency_key: IdempotencyKey = None
) -> DeliveryView:
    """Take (Buy / Sell button) part or all of another household's order at its price."""
    known_order(order_id)
    signer = signer_of(session)

    def work() -> str:
        delivery = ctx.trading.take(signer, order_id, body.amount_wh)
        return DeliveryView.of(delivery).model_dump_json()

    fingerprint = f"api:take:{order_id}:{body.amount_wh}"
    try:
        answer = once(ctx, session, idempotency_key, fingerprint, work)
    except TradingError as exc:
        raise trading_error(exc) from exc
    return DeliveryView.model_validate_json(answer)


@router.delete("/orders/{order_id}", status_code=204, tags=["market"],
               responses={**R401, **R403, 404: {"description": "no such order of yours"}, **R_KEY,
                          **SENDS_TRANSACTION})
def cancel_order(
    order_id: PathId, session: Writer, ctx: Ctx, idempotency_key: IdempotencyKey = None
) -> Response:
    """Cancel one of my open orders (another household's order: 404)."""
    assert session.user is not None
    order = ctx.runtime.market.order(order_id) if 0 < order_id < 2**63 else None
    if order is None or not queries.same(order.owner, session.user.address):
        raise ApiError(404, "no_order", f"You have no order #{order_id}.", "order_id")
    signer = signer_of(session)

    def work() -> str:
        ctx.trading.cancel(signer, order_id)
        return ""

    try:
        once(ctx, session, idempotency_key, f"api:cancel:{order_id}", work)
    except TradingError as exc:
        raise trading_error(exc) from exc
    return Response(status_code=204)


@router.get("/trades", response_model=list[Trade], tags=["market"], responses=R401)
def recent_trades(_: Reader, ctx: Ctx) -> list[Trade]:
    """The last 200 trades: time, Wh and price (for the price chart)."""
    return queries.trades(ctx)


@router.get("/community", response_model=Community, tags=["community"], responses=R401)
def community(_: Reader, ctx: Ctx) -> Community:
    """Every house's generation, load and SoC; energy traded today and its average price."""
    return queries.community(ctx)


router.include_router(operator_router)
