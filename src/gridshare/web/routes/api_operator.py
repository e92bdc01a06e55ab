"""JSON API for the operator: households and meters, top-ups, mechanism, flagged deliveries."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Depends, Response

from gridshare.chain.errors import ChainError, TransactionTimeout
from gridshare.domain import Household, coins_to_wei, format_coins
from gridshare.meters import MeterEntry, MeterKey
from gridshare.services.accounts import AccountError
from gridshare.services.households import TREASURY_SHORT
from gridshare.services.sessions import Session
from gridshare.services.trading import TradingError
from gridshare.storage.households import HouseholdRecord
from gridshare.web import queries
from gridshare.web.context import WebContext, get_context
from gridshare.web.errors import ApiError
from gridshare.web.idempotency import R_KEY, IdempotencyKey, once
from gridshare.web.openapi import SENDS_TRANSACTION
from gridshare.web.schemas import (
    Activity,
    BalancesView,
    CreatedHousehold,
    DeliveryView,
    FlaggedView,
    MechanismChoice,
    MeterChange,
    NewHousehold,
    PasswordReset,
    PathId,
    TopUp,
)
from gridshare.web.schemas import HouseholdView as HouseholdOut
from gridshare.web.security import require_operator, require_operator_read

router = APIRouter(tags=["operator"])
Ctx = Annotated[WebContext, Depends(get_context)]
Operator = Annotated[Session, Depends(require_operator)]
OperatorRead = Annotated[Session, Depends(require_operator_read)]
DENIED: dict[int | str, dict[str, Any]] = {
    401: {"description": "not logged in"},
    403: {"description": "not the operator / CSRF"},
}


def refused(exc: TradingError | AccountError, account_field: str | None = None) -> ApiError:
    """The refusal as an API error, naming the request's field: the services' amount in wei is
    its `coins`, and their `account` is `account_field` (the registration's wallet_address)."""
    status = 409 if exc.code.endswith("taken") or exc.code == "treasury_short" else 400
    field = {"wei": "coins", "account": account_field or "account"}.get(exc.field or "", exc.field)
    return ApiError(status, exc.code, exc.message, field)


UNCONFIRMED = ("The registration was sent but is not confirmed yet. It usually lands within a "
               "minute; the household can trade once it has. The login is made, and a recovery "
               "phrase shown here is shown only this once.")
NOT_YET_TOPPED_UP = ("Not topped up: the registration is not confirmed yet. Top the household "
                     "up once it is.")
TOP_UP_UNCONFIRMED = ("The household is registered; its top-up was sent but not confirmed yet. "
                      "Check its balance before topping up again.")
TOP_UP_FAILED = "The household is registered but not topped up: {reason}"


def register_household(ctx: WebContext, body: NewHousehold) -> CreatedHousehold:
    """Create the resident's login and key, register house and meter, optionally top up."""
    with ctx.lock:
        if ctx.households.repository.get(body.house_id) is not None:
            raise ApiError(409, "house_taken", f"House {body.house_id} is already registered.",
                           "house_id")
        held = ctx.households.treasury()
        if coins_to_wei(body.top_up_coins) > held:  # refuse before creating anything
            raise ApiError(409, "treasury_short", TREASURY_SHORT.format(
                coins=format_coins(held), symbol=ctx.households.coin_symbol), "top_up_coins")
        try:
            created = ctx.accounts.create_resident(
                body.username, body.password, body.house_id, wallet_address=body.wallet_address
            )
        except AccountError as exc:
            raise refused(exc) from exc
        entry = MeterEntry(body.meter_id, body.house_id, body.meter_url.rstrip("/"),
                           MeterKey.from_hex(body.meter_id, body.meter_key))
        try:
            ctx.households.register(body.name, created.user.address, body.house_id, entry)
        except TransactionTimeout:  # sent, so it may still be mined: keep the login and phrase
            return CreatedHousehold(
                house_id=body.house_id, username=created.user.username,
                address=created.user.address, recovery_phrase=created.recovery_phrase,
                registration_unconfirmed=UNCONFIRMED,
                top_up_refused=NOT_YET_TOPPED_UP if body.top_up_coins else None)
        except BaseException as exc:  # nothing is on chain: the login goes too
            ctx.users.remove(created.user.id)
            if isinstance(exc, TradingError):
                raise refused(exc, account_field="wallet_address") from exc
            raise
        # From here the household exists, so the answer must carry its recovery phrase (shown
        # once): a top-up refused now is reported in it, to be made again with POST top-up.
        top_up_refused = None
        if body.top_up_coins:
            try:
                ctx.households.deposit_for(created.user.address,
                                           coins_to_wei(body.top_up_coins))
            except TransactionTimeout:  # sent, so it may still be mined: no second top-up
                top_up_refused = TOP_UP_UNCONFIRMED
            except (TradingError, ChainError) as exc:
                top_up_refused = TOP_UP_FAILED.format(reason=exc)
    return CreatedHousehold(house_id=body.house_id, username=created.user.username,
                            address=created.user.address,
                            recovery_phrase=created.recovery_phrase,
                            topped_up_coins=0 if top_up_refused else body.top_up_coins,
                            top_up_refused=top_up_refused)


def change_meter_of(ctx: WebContext, house_id: int, body: MeterChange) -> HouseholdRecord:
    """Save a household's new meter address (and a replaced board's key); ApiError 404."""
    if not 0 < house_id < 2**63:
        raise ApiError(404, "no_household", f"There is no house {house_id}.", "house_id")
    try:
        return ctx.households.change_meter(house_id, body.meter_url, body.meter_key)
    except TradingError as exc:
        raise ApiError(404, exc.code, exc.message, exc.field) from exc


def household_out(
    ctx: WebContext, record: HouseholdRecord, household: Household | None = None
) -> HouseholdOut:
    """A household as the operator's API shows it: meter, balances, whether it may trade
    (`household`, its registration on chain, read here unless the caller has it)."""
    if household is None:
        household = ctx.trading.households([record.account])[record.account]
    return HouseholdOut(
        house_id=record.house_id, name=record.name, account=record.account,
        meter_id=record.meter_id, meter_url=record.meter_url,
        balances=BalancesView.of(ctx.runtime.market.balances(record.account)),
        active=household is not None and household.active,
    )


def known_household(ctx: WebContext, house_id: int) -> HouseholdRecord:
    """House `house_id`'s record; ApiError 404 naming house_id if there is none."""
    record = ctx.households.repository.get(house_id) if 0 < house_id < 2**63 else None
    if record is None:
        raise ApiError(404, "no_household", f"There is no house {house_id}.", "house_id")
    return record


@router.get("/households", response_model=list[HouseholdOut], responses=DENIED)
def households(_: OperatorRead, ctx: Ctx) -> list[HouseholdOut]:
    """Every registered household with its meter and balances."""
    records = ctx.households.all()
    on_chain = ctx.trading.households([r.account for r in records])  # one look for them all
    return [household_out(ctx, r, on_chain[r.account]) for r in records]


@router.post("/households", response_model=CreatedHousehold, status_code=201,
             responses={**DENIED, 409: {"description": "taken"}})
def create_household(
    body: NewHousehold, _: Operator, ctx: Ctx, response: Response
) -> CreatedHousehold:
    """Register a household, its meter (id, URL, key) and its resident's login.

    The answer carries the 12-word recovery phrase: it is shown this once and never stored.
    """
    response.headers["cache-control"] = "no-store"
    return register_household(ctx, body)


@router.post("/households/{house_id}/top-up", status_code=204,
             responses={**DENIED, 404: {"description": "no such house"}, **R_KEY,
                        **SENDS_TRANSACTION})
def top_up(
    house_id: PathId, body: TopUp, session: Operator, ctx: Ctx,
    idempotency_key: IdempotencyKey = None,
) -> None:
    """Move coins from the treasury into a household's market balance (send an
    Idempotency-Key to retry safely after a lost answer: a repeat moves nothing more)."""
    record = known_household(ctx, house_id)

    def work() -> str:
        ctx.households.deposit_for(record.account, coins_to_wei(body.coins))
        return ""

    try:
        once(ctx, session, idempotency_key, f"api:top-up:{house_id}:{body.coins}", work)
    except TradingError as exc:
        raise refused(exc) from exc


@router.put("/households/{house_id}/meter", response_model=HouseholdOut,
            responses={**DENIED, 404: {"description": "no such house"}})
def change_meter(house_id: PathId, body: MeterChange, _: Operator, ctx: Ctx) -> HouseholdOut:
    """Point a household at its meter's new address, and at a replaced board's key.

    The meter id stays (it is on chain); a replaced board is flashed with the same id
    (`gridshare meter flash --meter-id`) and its new key given here."""
    return household_out(ctx, change_meter_of(ctx, house_id, body))


@router.put("/households/{house_id}/active", response_model=HouseholdOut,
            responses={**DENIED, 404: {"description": "no such house"}, **SENDS_TRANSACTION})
def set_active(house_id: PathId, body: Activity, _: Operator, ctx: Ctx) -> HouseholdOut:
    """Stop a household trading (`{"active": false}`), or let it trade again.

    Stopped, it keeps its balances and login, may cancel its orders, and its deliveries still
    settle; its orders leave the board and nobody can take or match them."""
    record = known_household(ctx, house_id)
    try:
        ctx.households.set_active(record, body.active)
    except TradingError as exc:
        raise refused(exc) from exc
    return household_out(ctx, record)


def reset_wallet_password(ctx: WebContext, house_id: int, new_password: str) -> None:
    """House `house_id`'s wallet-only resident gets `new_password`; their sessions end."""
    record = known_household(ctx, house_id)
    user = ctx.users.by_address(record.account)
    if user is None:
        raise ApiError(404, "no_login", f"House {house_id} has no login here.", "house_id")
    try:
        with ctx.password_locks.held(user.username.lower()):
            ctx.accounts.reset_wallet_password(user, new_password)
            ctx.sessions.end_user(user.id)
    except AccountError as exc:
        raise refused(exc) from exc


@router.put("/households/{house_id}/password", status_code=204,
            responses={**DENIED, 404: {"description": "no such house"}})
def reset_password(house_id: PathId, body: PasswordReset, _: Operator, ctx: Ctx) -> Response:
    """A new password for a household that signs in its own wallet (MetaMask) and forgot its
    login's. Refused (400 `holds_key`) when the server holds the household's key: that key
    is encrypted with the password, and the resident's recovery phrase replaces it instead."""
    reset_wallet_password(ctx, house_id, body.new_password)
    return Response(status_code=204)


@router.put("/market/mechanism", response_model=MechanismChoice, responses=DENIED)
def choose_mechanism(body: MechanismChoice, _: Operator, ctx: Ctx) -> MechanismChoice:
    """Choose how orders are matched: bulletin (take only), continuous, or call auction."""
    ctx.set_mechanism(body.mechanism)
    return body


@router.get("/deliveries-flagged", response_model=list[FlaggedView], responses=DENIED)
def flagged(_: OperatorRead, ctx: Ctx) -> list[FlaggedView]:
    """Deliveries to look at: expired, settled short, or pending past their deadline."""
    return [
        FlaggedView(**DeliveryView.of(f.delivery).model_dump(), reason=f.reason)
        for f in queries.flagged(ctx, ctx.engine_flags())
    ]
