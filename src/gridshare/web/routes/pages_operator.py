"""The operator's pages: register households and meters, top up, mechanism, flagged deliveries."""

from __future__ import annotations

import logging
import re
from typing import Annotated, cast

from fastapi import APIRouter, Depends, Form, Request
from fastapi.responses import HTMLResponse, RedirectResponse
from pydantic import ValidationError

from gridshare.chain.errors import ChainError
from gridshare.domain import coins_to_wei
from gridshare.meters import MeterProblem
from gridshare.services.accounts import password_problem
from gridshare.services.backoff import MeterTrouble
from gridshare.services.sessions import Session
from gridshare.services.trading import TradingError
from gridshare.storage.disk import LOW_DISK_BYTES, free_bytes
from gridshare.storage.households import HouseholdRecord
from gridshare.storage.request_keys import RequestKeyError, RequestKeyReused, RequestUnfinished
from gridshare.web import queries
from gridshare.web.context import WebContext, get_context
from gridshare.web.errors import ApiError, chain_trouble
from gridshare.web.head_requests import asked_head
from gridshare.web.idempotency import once_per_form
from gridshare.web.market_form import KeptForms, whole_number
from gridshare.web.operator_form import (
    HOUSE_RULE,
    MECHANISM_RULE,
    METER_RULES,
    NEW_PASSWORD_RULE,
    REGISTER_RULES,
    TOP_UP_RULE,
    TRADING,
    TRADING_RULE,
    broken_rules,
    house_number,
    typed_int,
)
from gridshare.web.page_login import page_user
from gridshare.web.render import make_templates, render
from gridshare.web.routes.api_operator import (
    change_meter_of,
    known_household,
    register_household,
    reset_wallet_password,
)
from gridshare.web.schemas import MAX_TOP_UP_COINS, MeterChange, NewHousehold
from gridshare.web.security import check_form_csrf

log = logging.getLogger(__name__)
router = APIRouter(include_in_schema=False)
templates = make_templates()
Ctx = Annotated[WebContext, Depends(get_context)]
# every field is read as text and checked here: a refusal names the field as the form
# labels it, with its rule (operator_form.py), never pydantic's words under its code name
Typed = Annotated[str, Form()]
MECHANISMS = ("bulletin", "continuous", "auction")
# What the operator's forms say back; a value goes in a {name} hole (the Urdu catalog's pattern)
OPERATOR_ONLY = "Only the operator may see this."
OPERATOR_ONLY_ACTS = "Only the operator may do this."  # a form sent, not a page read
NO_HOUSE = "There is no house {house}."
DONE = "Done."
TOPPED_UP = "House {house} was topped up with {coins} {symbol}."
FORM_SENT = "That form was already sent. Send it again from here."
TOP_UP_UNFINISHED = ("The earlier top-up may not have finished: check the house's balance here"
                     " before trying again.")
MAY_TRADE = "House {house} may trade again."
STOPPED = "House {house} is stopped: it cannot trade until you let it again."
NEW_PASSWORD = "House {house} has a new password; its resident was logged out."
METER_MOVED = "House {house}'s meter is now at {url}."
METER_KEY_CHANGED = "House {house}'s meter is now at {url}, with the new key."
# what its meter says at once, after a registration or a change of meter, and what to check
METER_ANSWERS = "House {house}'s meter answers and accepts the server's key."
METER_REFUSES_KEY = ("House {house}'s meter answers but refuses the server's key: check the"
                     " meter key you typed against the one the meter was flashed with.")
METER_SILENT = ("House {house}'s meter does not answer: check its address, and that it has"
                " power and is on the village Wi-Fi.")
METER_OTHER_ID = ("House {house}'s meter answers but says it is another meter: it was flashed"
                  " with another meter id, and the house's, {meter}, cannot be changed here:"
                  " flash the board again with --meter-id {meter} and its key (--key),"
                  " docs/meters.md.")
METER_COUNTER_BEHIND = ("House {house}'s meter answers but refuses the server's command counter,"
                        " as it has obeyed a later one: set the server's clock right; if it is"
                        " right, put the meter's counters back (docs/meters.md).")
METER_LOCKED = ("House {house}'s meter answers but obeys no command, as its counter file cannot"
                " be read: put its counters back as docs/meters.md says (A meter that refuses"
                " every command).")
METER_BAD_ADDRESS = ("House {house}'s meter address is not a URL the server can send to: type it"
                     " again under Change a meter (http://host or http://host:port).")
METER_ERROR_STATUS = ("House {house}'s meter answers with an error: check that its address leads"
                      " to the meter itself (with the path, for a meter behind a proxy) and that"
                      " the meter runs the server's firmware.")
METER_BAD_SIGNATURE = ("House {house}'s meter answers, but its report is not signed with the"
                       " house's meter key: check the key against the one the meter was flashed"
                       " with, and that the address is this house's meter's.")
METER_OTHER_METER = ("Another meter answers at house {house}'s meter address: check that the"
                     " address is this house's meter's, not a neighbour's.")
METER_UNREADABLE = ("House {house}'s meter address answers, but not with a meter's report: check"
                    " that the address leads to the meter itself and not another device, and"
                    " that the meter runs the server's firmware.")
METER_NOT_CHECKED = ("House {house}'s meter could not be checked (the server's log says why):"
                     " send Change a meter with the same address to check it again.")
METER_SAYS: dict[MeterProblem, str] = {
    "refuses_key": METER_REFUSES_KEY, "not_answering": METER_SILENT,
    "other_meter_id": METER_OTHER_ID, "counter_behind": METER_COUNTER_BEHIND,
    "locked": METER_LOCKED, "bad_address": METER_BAD_ADDRESS, "error_status": METER_ERROR_STATUS,
    "bad_signature": METER_BAD_SIGNATURE, "other_meter": METER_OTHER_METER,
    "unreadable": METER_UNREADABLE,
}
# a meter the engine left alone after a failure of the server's own (a bug, the database)
METER_FAILED = ("The server failed while working with house {house}'s meter (the server's log"
                " says why); it keeps trying.")


def meter_check(ctx: WebContext, record: HouseholdRecord) -> str:
    """What the household's meter says when asked now, for the operator who just typed its
    address and key: a typo shows here, not at the house's first trade. It never fails the
    page: the household is registered (and its recovery phrase shown once) whatever it says."""
    house = record.house_id
    try:
        reading = ctx.readings.fresh(record)
    except Exception as exc:  # the check only informs: log it, say the meter was not checked
        log.warning("house %d: checking its meter failed: %s: %s", house, type(exc).__name__, exc)
        return METER_NOT_CHECKED.format(house=house)
    if reading.reachable:
        return METER_ANSWERS.format(house=house)
    said = METER_SAYS.get(reading.problem) if reading.problem else None
    return (said or METER_NOT_CHECKED).format(house=house, meter=record.meter_id)


def trouble_said(record: HouseholdRecord, trouble: MeterTrouble) -> tuple[str, str]:
    """A meter the engine cannot use, in the operator's sentence for its problem (what to
    check), and in the engine's words for the technically minded, the house's meter key
    blanked out should the meter have echoed it."""
    said = METER_SAYS.get(trouble.problem) if trouble.problem else None
    key = record.meter_key_hex
    raw = re.sub(re.escape(key), "…", trouble.reason, flags=re.IGNORECASE) if key else (
        trouble.reason)
    return (said or METER_FAILED).format(house=record.house_id, meter=record.meter_id), raw


# a refused form comes back filled in (but for the password), so the operator does not type
# a house's 64-digit meter key again, nor send Change a meter for the house first in the list
TYPED_CHARS = 256  # above the longest field the forms take (a meter URL, 200)


def keep_typed(request: Request, session: Session, form: str, typed: dict[str, str]) -> None:
    """Keep what was typed into the refused `form` for the next /operator."""
    kept = cast(KeptForms, request.app.state.kept_forms)
    kept.keep(session, {"form": form, **typed}, chars=TYPED_CHARS)


def typed_in(request: Request, session: Session) -> tuple[dict[str, str], dict[str, str]]:
    """What was typed into a refused register form, and into a refused Change a meter."""
    kept = cast(KeptForms, request.app.state.kept_forms).take(
        session, keep=asked_head(request)
    )
    form = kept.pop("form", None)
    return (kept if form == "register" else {}), (kept if form == "meter" else {})


def operator_page_user(request: Request) -> Session:
    session = page_user(request)  # a form after the session ended: the login page says so
    if not session.is_operator:
        said = OPERATOR_ONLY if request.method in ("GET", "HEAD") else OPERATOR_ONLY_ACTS
        raise ApiError(403, "operator_only", said, None)
    return session


Operator = Annotated[Session, Depends(operator_page_user)]


def _back(session: Session, message: str | tuple[str, ...]) -> RedirectResponse:
    session.flash = message
    return RedirectResponse("/operator", status_code=303)


@router.get("/operator", response_class=HTMLResponse)
def operator_page(request: Request, ctx: Ctx, session: Operator) -> HTMLResponse:
    market = ctx.runtime.market
    records = ctx.households.all()
    houses = [(r, market.balances(r.account)) for r in records]
    households = ctx.trading.households([r.account for r in records])
    stopped = {r.house_id for r in records
               if (h := households[r.account]) is not None and not h.active}
    keyless = {u.address.lower() for u in ctx.users.all() if not u.holds_key}
    wallet_only = {r.house_id for r in records if r.account.lower() in keyless}
    house_of = {r.account.lower(): r.house_id for r, _ in houses}  # who sold, who bought
    free_mb = free_bytes(ctx.runtime.settings.data_dir) // 2**20
    troubles = ctx.meter_troubles()
    # households on the chain this server has no record of (a restore from a database copy
    # older than the chain's): listed, and `?record=<house id>` fills the register form in
    recorded = {r.account for r in records}
    unrecorded = sorted(
        (h for h in ctx.trading.households(ctx.trading.registered_accounts() - recorded).values()
         if h is not None), key=lambda h: h.house_id,
    )
    again = next((h for h in unrecorded if str(h.house_id) == request.query_params.get("record")),
                 None)
    register_typed, meter_typed = typed_in(request, session)
    if again is not None and not register_typed:  # its house id, meter id and account
        register_typed = {"house_id": str(again.house_id), "meter_id": str(again.meter_id),
                          "wallet_address": again.account}
    return render(
        templates, request, "operator.html", session, houses=houses, mechanism=ctx.mechanism,
        mechanisms=MECHANISMS, stopped=stopped, wallet_only=wallet_only, house_of=house_of,
        flagged=queries.flagged(ctx, ctx.engine_flags())[:50],
        troubled=[(r, troubles[r.meter_id], *trouble_said(r, troubles[r.meter_id]))
                  for r in records if r.meter_id in troubles],
        unrecorded=unrecorded, typed=register_typed, meter_typed=meter_typed,
        rules=REGISTER_RULES, top_up_rule=TOP_UP_RULE,
        treasury=ctx.runtime.chain.w3.eth.get_balance(ctx.runtime.operator.address),
        disk_free_mb=free_mb if free_mb < LOW_DISK_BYTES // 2**20 else None,  # a warning
    )


@router.post("/operator/households", response_class=HTMLResponse, response_model=None)
def add_household(
    request: Request, ctx: Ctx, session: Operator, name: Typed = "", username: Typed = "",
    password: Typed = "", house_id: Typed = "", meter_id: Typed = "", meter_url: Typed = "",
    meter_key: Typed = "", top_up_coins: Typed = "", wallet_address: Typed = "",
    csrf_token: Typed = "",
) -> HTMLResponse | RedirectResponse:
    check_form_csrf(session, csrf_token)
    typed = {"name": name, "username": username, "house_id": house_id, "meter_id": meter_id,
             "meter_url": meter_url, "meter_key": meter_key, "wallet_address": wallet_address,
             "top_up_coins": top_up_coins}  # not the password

    def refused(message: str | tuple[str, ...]) -> RedirectResponse:
        keep_typed(request, session, "register", typed)
        return _back(session, message)

    try:
        body = NewHousehold.model_validate({  # numbers that are none stay text, refused
            "name": name, "username": username, "password": password,
            "house_id": typed_int(house_id), "meter_id": typed_int(meter_id),
            "meter_url": meter_url, "meter_key": meter_key,
            "top_up_coins": typed_int(top_up_coins.strip() or "0"),
            "wallet_address": wallet_address or None,
        })
        created = register_household(ctx, body)
    except ValidationError as exc:
        return refused(broken_rules(exc, REGISTER_RULES))
    except ApiError as exc:
        return refused(exc.message)
    except ChainError as exc:  # the login was removed again unless the house is on chain
        return refused(chain_trouble(exc)[2])
    record = ctx.households.repository.get(created.house_id)
    checked = None if record is None else meter_check(ctx, record)
    response = render(templates, request, "created.html", session, created=created,
                      meter_checked=checked)
    response.headers["cache-control"] = "no-store"  # the recovery phrase is shown once
    return response


@router.post("/operator/top-up")
def top_up(
    ctx: Ctx, session: Operator, house_id: Typed = "", coins: Typed = "", csrf_token: Typed = "",
    request_key: Typed = "",
) -> RedirectResponse:
    """A top-up from the households table, once per form (`request_key`): sending the form
    again after a lost answer (reload, back button) moves no more coins."""
    check_form_csrf(session, csrf_token)
    house, amount = house_number(house_id), whole_number(coins, MAX_TOP_UP_COINS)
    if house is None:
        return _back(session, HOUSE_RULE)
    if amount is None:
        return _back(session, TOP_UP_RULE)
    record = ctx.households.repository.get(house)
    if record is None:
        return _back(session, NO_HOUSE.format(house=house))

    def work() -> str:  # which house, how much: "Done." left a row of them to check
        ctx.households.deposit_for(record.account, coins_to_wei(amount))
        return TOPPED_UP.format(house=house, coins=f"{amount:,}",
                                symbol=ctx.runtime.settings.coin_symbol)

    try:
        message = once_per_form(ctx, session, request_key, f"form:top-up:{house}:{amount}", work)
    except TradingError as exc:
        return _back(session, exc.message)
    except RequestKeyReused:
        return _back(session, FORM_SENT)
    except RequestUnfinished:
        return _back(session, TOP_UP_UNFINISHED)
    except RequestKeyError as exc:
        return _back(session, str(exc))
    except ChainError as exc:
        return _back(session, chain_trouble(exc)[2])
    return _back(session, message)


@router.post("/operator/households/{house_id}/active")
def set_active(
    ctx: Ctx, session: Operator, house_id: str, active: Typed = "", csrf_token: Typed = "",
) -> RedirectResponse:
    check_form_csrf(session, csrf_token)
    house, trading = house_number(house_id), TRADING.get(active)
    if house is None:
        return _back(session, HOUSE_RULE)
    if trading is None:
        return _back(session, TRADING_RULE)
    try:
        record = known_household(ctx, house)
        ctx.households.set_active(record, trading)
    except ApiError as exc:
        return _back(session, exc.message)
    except TradingError as exc:
        return _back(session, exc.message)
    except ChainError as exc:
        return _back(session, chain_trouble(exc)[2])
    return _back(session, (MAY_TRADE if trading else STOPPED).format(house=house))


@router.post("/operator/password")
def reset_password(
    ctx: Ctx, session: Operator, house_id: Typed = "", new_password: Typed = "",
    csrf_token: Typed = "",
) -> RedirectResponse:
    check_form_csrf(session, csrf_token)
    house = house_number(house_id)
    if house is None:
        return _back(session, HOUSE_RULE)
    if password_problem(new_password) is not None:
        return _back(session, NEW_PASSWORD_RULE)
    try:
        reset_wallet_password(ctx, house, new_password)
    except ApiError as exc:
        return _back(session, exc.message)
    return _back(session, NEW_PASSWORD.format(house=house))


@router.post("/operator/meter")
def change_meter(
    request: Request, ctx: Ctx, session: Operator, house_id: Typed = "", meter_url: Typed = "",
    meter_key: Typed = "", csrf_token: Typed = "",
) -> RedirectResponse:
    check_form_csrf(session, csrf_token)

    def refused(message: str | tuple[str, ...]) -> RedirectResponse:
        typed = {"house_id": house_id, "meter_url": meter_url, "meter_key": meter_key}
        keep_typed(request, session, "meter", typed)
        return _back(session, message)

    house = house_number(house_id)
    if house is None:
        return refused(HOUSE_RULE)
    try:
        record = change_meter_of(
            ctx, house, MeterChange(meter_url=meter_url.strip(), meter_key=meter_key or None)
        )
    except ValidationError as exc:
        return refused(broken_rules(exc, METER_RULES))
    except ApiError as exc:
        return refused(exc.message)
    moved = METER_KEY_CHANGED if meter_key else METER_MOVED
    return _back(session, (moved.format(house=record.house_id, url=record.meter_url),
                           meter_check(ctx, record)))


@router.post("/operator/mechanism")
def mechanism(
    ctx: Ctx, session: Operator, mechanism: Typed = "", csrf_token: Typed = "",
) -> RedirectResponse:
    check_form_csrf(session, csrf_token)
    if mechanism not in MECHANISMS:
        return _back(session, MECHANISM_RULE)
    ctx.set_mechanism(mechanism)
    return _back(session, DONE)
