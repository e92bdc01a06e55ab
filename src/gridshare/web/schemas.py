"""JSON bodies of the /api/v1 web endpoints, and the views that fill them from domain objects."""

from __future__ import annotations

import re
from typing import Annotated, Any, Literal

from pydantic import (
    AfterValidator,
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    PlainSerializer,
    WithJsonSchema,
)
from pydantic_core import PydanticCustomError

from gridshare.domain import Balances, Delivery, Order
from gridshare.meters.address import meter_url_problem
from gridshare.meters.problems import MeterProblem
from gridshare.services.trading import MAX_AMOUNT_WH, MAX_PRICE_PER_WH
from gridshare.web.delivery_reasons import CODES as REASON_CODES
from gridshare.web.delivery_reasons import Reason

StrictModel = ConfigDict(extra="forbid", strict=True)
"""Request bodies: no unknown fields, and JSON types as the schema says (`true` or "5" is not an
integer: pydantic's lax mode would take them as 1 and 5)."""

WEI_NOTE = ("wei, as a decimal string: amounts pass 2**53, beyond which a JSON number loses"
            " digits in JavaScript")
WeiOut = Annotated[
    int, PlainSerializer(str, return_type=str, when_used="json"),
    WithJsonSchema({"type": "string", "pattern": "^[0-9]+$", "description": WEI_NOTE}),
]
"""An amount of wei in an answer: a decimal string, as the explorer's API and JSON-RPC's
quantities carry them (a balance of 99999999999999999999 wei read as 1e20 in a browser)."""

MAX_WEI_DIGITS = 80
_DIGITS = re.compile(r"[0-9]+")


def _written_in_digits(value: Any) -> Any:
    if isinstance(value, str) and not (value.isascii() and value.isdigit()):
        raise PydanticCustomError(
            "int_parsing", "must be a whole number written with the digits 0-9"
        )
    return value


PathId = Annotated[int, BeforeValidator(_written_in_digits)]
"""An order, delivery or house number in a URL path: ASCII digits only. Path values go
through pydantic's lax int, which reads "1.0", "+1" and " 1" as 1, and "1_0" as 10."""


def _wei_in(value: Any) -> Any:
    """A request's wei: a JSON integer, or the same as a decimal string (what a JavaScript
    client can send exactly); anything else is left for the integer check to refuse."""
    if isinstance(value, str):
        if not _DIGITS.fullmatch(value):
            raise PydanticCustomError("wei", "a whole number of wei: digits only")
        if len(value) > MAX_WEI_DIGITS:  # int() of a huge string costs, and no price is so long
            raise PydanticCustomError("wei", f"a whole number of wei: at most {MAX_WEI_DIGITS}"
                                      " digits")
        return int(value)
    return value


def _meter_url(url: str) -> str:
    problem = meter_url_problem(url)
    if problem:
        raise PydanticCustomError("meter_url", problem)
    return url


MeterUrl = Annotated[
    str, Field(max_length=200, description="http://host:port the meter answers at"),
    AfterValidator(_meter_url),
]
"""A meter's address the server's client can send to (`meters/address.py` says why not)."""

PriceIn = Annotated[
    int, BeforeValidator(_wei_in), Field(ge=1, le=MAX_PRICE_PER_WH),
    WithJsonSchema({"anyOf": [
        {"type": "integer", "minimum": 1, "maximum": MAX_PRICE_PER_WH},
        {"type": "string", "pattern": "^[0-9]+$", "maxLength": MAX_WEI_DIGITS},
    ], "description": "wei per Wh: an integer, or its decimal string (for JavaScript)"}),
]
"""A price in a request: a JSON integer or its decimal string, from 1 to the market's limit."""


class Credentials(BaseModel):
    model_config = StrictModel
    username: str = Field(min_length=1, max_length=64)
    password: str = Field(min_length=1, max_length=256)


class Password(BaseModel):
    model_config = StrictModel
    password: str = Field(min_length=1, max_length=256)


class NewPassword(BaseModel):
    model_config = StrictModel
    password: str = Field(min_length=1, max_length=256, description="the current password")
    new_password: str = Field(min_length=1, max_length=256, description="8 to 256 characters")


class Recovery(BaseModel):
    model_config = StrictModel
    username: str = Field(min_length=1, max_length=64)
    recovery_phrase: str = Field(
        min_length=1, max_length=400,
        description="the 12 words shown when the household was registered",
    )
    new_password: str = Field(min_length=1, max_length=256, description="8 to 256 characters")


class UserView(BaseModel):
    username: str
    role: str
    address: str
    house_id: int | None
    holds_key: bool


class SessionView(BaseModel):
    user: UserView
    csrf_token: str


class BalancesView(BaseModel):
    available: WeiOut
    locked: WeiOut
    escrowed: WeiOut

    @classmethod
    def of(cls, b: Balances) -> BalancesView:
        return cls(available=b.available, locked=b.locked, escrowed=b.escrowed)


class MeView(BaseModel):
    user: UserView
    balances: BalancesView
    coin_symbol: str


class OrderView(BaseModel):
    id: int
    owner: str
    side: Literal["buy", "sell"]
    amount_wh: int
    remaining_wh: int
    price_per_wh: WeiOut
    expires_at: int
    status: Literal["open", "filled", "cancelled"]

    @classmethod
    def of(cls, o: Order) -> OrderView:
        return cls(
            id=o.id, owner=o.owner, side=o.side.value, amount_wh=o.amount_wh,
            remaining_wh=o.remaining_wh, price_per_wh=o.price_per_wh, expires_at=o.expires_at,
            status=o.status.name.lower(),  # type: ignore[arg-type]
        )


class DeliveryView(BaseModel):
    id: int
    buyer: str
    seller: str
    amount_wh: int
    price_per_wh: WeiOut
    deadline: int
    status: Literal["pending", "settled", "expired"]
    delivered_wh: int

    @classmethod
    def of(cls, d: Delivery) -> DeliveryView:
        return cls(
            id=d.id, buyer=d.buyer, seller=d.seller, amount_wh=d.amount_wh,
            price_per_wh=d.price_per_wh, deadline=d.deadline,
            status=d.status.name.lower(),  # type: ignore[arg-type]
            delivered_wh=d.delivered_wh,
        )


REASON_NOTE = (
    "why the delivery ended short or expired (null while pending and when settled in full): "
    "the orchestrator's flag where it set one: loss_above_tolerance (the seller's meter sent "
    "clearly more than reached the buyer's; settled on the buyer's import), "
    "import_above_export (the buyer's meter counted clearly more than the seller's sent; "
    "settled on the export), seller_report_missing (no final reading from the seller's meter; "
    "settled on the buyer's import), meter_silent (the buyer's meter stopped answering: "
    "settled on the meters' last figures, or expired when none showed energy), "
    "meter_restarted (a meter restarted and forgot it: settled on the last figures), "
    "meter_conflict (a meter held an older delivery of this number, so it never started), "
    "not_started (expired before its meters were started: unreachable or busy); "
    "else short (settled below the traded amount, the meters agreeing) or expired (expired, "
    "nothing else known)"
)


class DeliveryReasonView(BaseModel):
    code: Annotated[str, WithJsonSchema({"type": "string", "enum": list(REASON_CODES)})] = Field(
        description="stable, for programs: one of the codes listed on `reason`"
    )
    text: str = Field(
        description="the reason in plain English for this resident, as the buyer or the seller"
        " of it (the account page shows it in the resident's language)"
    )


class MyDeliveryView(DeliveryView):
    reason: DeliveryReasonView | None = Field(default=None, description=REASON_NOTE)

    @classmethod
    def mine(cls, d: Delivery, reason: Reason | None, me: str) -> MyDeliveryView:
        """`d` as its buyer or seller `me` sees it, with the reason it ended as it did."""
        view = DeliveryView.of(d).model_dump()
        why = None if reason is None else DeliveryReasonView(
            code=reason.code, text=reason.said_to(d.buyer.lower() == me.lower())
        )
        return cls(**view, reason=why)


class FlaggedView(DeliveryView):
    reason: str = Field(
        description="meters disagreed (loss_above_tolerance, import_above_export), a meter fell "
        "silent (meter_silent), a meter restarted mid-delivery (meter_restarted), a meter holds "
        "an older delivery of this number from before a restore (meter_conflict), "
        "seller_report_missing, expired, short (settled below the traded amount) or late "
        "(pending past its deadline)"
    )


class NewOrder(BaseModel):
    model_config = StrictModel
    side: Literal["buy", "sell"]
    amount_wh: int = Field(ge=1, le=MAX_AMOUNT_WH)
    price_per_wh: PriceIn
    ttl_s: int = Field(default=3600, ge=60, le=7 * 86400)


class Take(BaseModel):
    model_config = StrictModel
    amount_wh: int = Field(ge=1, le=MAX_AMOUNT_WH)


class Trade(BaseModel):
    id: int
    time: int
    amount_wh: int
    price_per_wh: WeiOut
    status: str


class MarketInfo(BaseModel):
    mechanism: str
    coin_symbol: str
    chain_id: int
    rpc_path: str
    contract_address: str
    max_amount_wh: int
    max_price_per_wh: WeiOut
    now: int = Field(description="the chain's time now (Unix seconds): an order's `expires_at` "
                     "counts from it, not from a phone's clock, which may be off (or, in a "
                     "demo, behind the simulated clock)")


class MeterReading(BaseModel):
    house_id: int
    reachable: bool
    voltage_mv: int | None = None
    current_ma: int | None = None
    power_mw: int | None = None
    relay_closed: bool | None = None
    soc_permille: int | None = None
    pv_w: int | None = None
    load_w: int | None = None
    last_contact: int | None = None
    error: str | None = Field(default=None, description="why there is no reading, in English "
                              "words for the resident")
    problem: MeterProblem | None = Field(default=None, description="why there is no reading, "
                                         "as a code")


class Community(BaseModel):
    houses: list[MeterReading]
    traded_today_wh: int
    average_price_per_wh: WeiOut | None
    trades_today: int


MAX_NAME = 64  # a household's name, in characters
MAX_HOUSE_ID = 10**6  # house and meter ids
MAX_TOP_UP_COINS = 10**9


class NewHousehold(BaseModel):
    model_config = StrictModel
    name: str = Field(min_length=1, max_length=MAX_NAME)
    username: str = Field(min_length=3, max_length=32, pattern=r"^[A-Za-z0-9_.-]+$")
    password: str = Field(min_length=8, max_length=256)
    house_id: int = Field(ge=1, le=MAX_HOUSE_ID)
    meter_id: int = Field(ge=1, le=MAX_HOUSE_ID)
    meter_url: MeterUrl
    meter_key: str = Field(pattern=r"^[0-9a-fA-F]{64}$", description="256-bit key, hex")
    wallet_address: str | None = Field(default=None, pattern=r"^0x[0-9a-fA-F]{40}$")
    top_up_coins: int = Field(default=0, ge=0, le=MAX_TOP_UP_COINS)


class MeterChange(BaseModel):
    """A household's meter moved (a new address) or was replaced (a new board, a new key)."""

    model_config = StrictModel
    meter_url: MeterUrl
    meter_key: str | None = Field(
        default=None, pattern=r"^[0-9a-fA-F]{64}$",
        description="the new board's 256-bit key, hex (left out: the key stays)",
    )


class CreatedHousehold(BaseModel):
    house_id: int
    username: str
    address: str
    recovery_phrase: str | None
    topped_up_coins: int = 0
    top_up_refused: str | None = None
    """Set when the household was registered but its top-up was not made (try it again)."""
    registration_unconfirmed: str | None = None
    """Set when the registration was sent but not confirmed: it may still land (check later)."""


class HouseholdView(BaseModel):
    house_id: int
    name: str
    account: str
    meter_id: int
    meter_url: str
    balances: BalancesView
    active: bool = Field(description="may trade (False: stopped by the operator)")


class PasswordReset(BaseModel):
    model_config = StrictModel
    new_password: str = Field(min_length=1, max_length=256, description="8 to 256 characters")


class Activity(BaseModel):
    model_config = StrictModel
    active: bool = Field(description="False stops the household trading; True lets it again")


class TopUp(BaseModel):
    model_config = StrictModel
    coins: int = Field(ge=1, le=MAX_TOP_UP_COINS)


class MechanismChoice(BaseModel):
    model_config = StrictModel
    mechanism: Literal["bulletin", "continuous", "auction"]


class ExportedKey(BaseModel):
    address: str
    private_key: str
