"""EnergyMarket events and calls in words: pure functions, no I/O.

    describe(event, context) -> "house-03 offered 5 Wh at 8 PKR/Wh (order 4)"
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from gridshare.domain import format_coins
from gridshare.explorer.records import Call, Event
from gridshare.local_time import UTC, date_and_time


def coins(wei: int, symbol: str) -> str:
    """Wei as coins without trailing zeros: 36800000000000000000 -> '36.8 PKR'."""
    text = format_coins(wei, decimals=18)
    if "." in text:
        text = text.rstrip("0").rstrip(".")
    return f"{text} {symbol}"


def short_address(address: str) -> str:
    """0x1234…abcd."""
    return f"{address[:6]}…{address[-4:]}" if len(address) == 42 else address


def house_name(house_id: int) -> str:
    """The default household name: house-03."""
    return f"house-{house_id:02d}"


@dataclass(frozen=True)
class Context:
    """What a sentence needs besides the event: names, coin symbol, known delivery sizes."""

    symbol: str = "PKR"
    name_of: Callable[[str], str] = short_address
    delivery_amount: Callable[[int], int | None] = lambda _id: None
    zone: dt.tzinfo = UTC


def _wh(amount: int) -> str:
    return f"{amount} Wh"


def _price(wei: int, ctx: Context) -> str:
    return f"{coins(wei, ctx.symbol)}/Wh"


def _registered(a: dict[str, Any], ctx: Context) -> str:
    return (
        f"{short_address(a['account'])} registered as {house_name(a['house_id'])} "
        f"(meter {a['meter_id']})"
    )


def _deposited(a: dict[str, Any], ctx: Context) -> str:
    amount = coins(a["amount"], ctx.symbol)
    if a["sender"] == a["account"]:
        return f"{ctx.name_of(a['account'])} deposited {amount}"
    return f"{ctx.name_of(a['sender'])} topped up {ctx.name_of(a['account'])} with {amount}"


def _placed(a: dict[str, Any], ctx: Context) -> str:
    who, amount, price = ctx.name_of(a["owner"]), _wh(a["amount_wh"]), a["price_per_wh"]
    until = date_and_time(a["expires_at"], ctx.zone)
    if a["is_buy"]:
        return (
            f"{who} asked for {amount} at up to {_price(price, ctx)} "
            f"(order {a['order_id']}, open until {until})"
        )
    return (
        f"{who} offered {amount} at {_price(price, ctx)} "
        f"(order {a['order_id']}, open until {until})"
    )


def _cancelled(a: dict[str, Any], ctx: Context) -> str:
    text = (
        f"order {a['order_id']} of {ctx.name_of(a['owner'])} cancelled "
        f"with {_wh(a['remaining_wh'])} unsold"
    )
    if a["unlocked"]:
        text += f"; {coins(a['unlocked'], ctx.symbol)} unlocked"
    return text


def _filled(a: dict[str, Any], ctx: Context) -> str:
    left = "fully filled" if a["remaining_wh"] == 0 else f"{_wh(a['remaining_wh'])} left"
    return (
        f"order {a['order_id']}: {_wh(a['amount_wh'])} went to delivery {a['delivery_id']}, "
        f"{left}"
    )


def _created(a: dict[str, Any], ctx: Context) -> str:
    cost = coins(a["amount_wh"] * a["price_per_wh"], ctx.symbol)
    orders = [f"{side} order {a[key]}" for side, key in (("buy", "buy_order_id"),
              ("sell", "sell_order_id")) if a[key]]
    return (
        f"delivery {a['delivery_id']} created: {ctx.name_of(a['seller'])} sends "
        f"{_wh(a['amount_wh'])} to {ctx.name_of(a['buyer'])} at {_price(a['price_per_wh'], ctx)}, "
        f"{cost} in escrow until {date_and_time(a['deadline'], ctx.zone)}"
        + (f" ({', '.join(orders)})" if orders else "")
    )


def _settled(a: dict[str, Any], ctx: Context) -> str:
    total = ctx.delivery_amount(a["delivery_id"])
    of = f" of {total}" if total is not None else ""
    return (
        f"delivery {a['delivery_id']} settled: {a['delivered_wh']}{of} Wh, "
        f"{coins(a['paid'], ctx.symbol)} to {ctx.name_of(a['seller'])}, "
        f"{coins(a['refunded'], ctx.symbol)} back to {ctx.name_of(a['buyer'])}"
    )


def _expired(a: dict[str, Any], ctx: Context) -> str:
    return (
        f"delivery {a['delivery_id']} expired unsettled: "
        f"{coins(a['refunded'], ctx.symbol)} back to {ctx.name_of(a['buyer'])}"
    )


_SENTENCES: dict[str, Callable[[dict[str, Any], Context], str]] = {
    "OperatorTransferStarted": lambda a, c: (
        f"operator {c.name_of(a['operator'])} offered the operator role "
        f"to {c.name_of(a['pending'])}"
    ),
    "OperatorTransferred": lambda a, c: (
        f"{short_address(a['operator'])} became the market operator"
    ),
    "TimingChanged": lambda a, c: (
        f"deliveries now have {a['delivery_window']} s to complete "
        f"and {a['settle_grace']} s grace to settle"
    ),
    "HouseholdRegistered": _registered,
    "HouseholdDeactivated": lambda a, c: f"{house_name(a['house_id'])} was deactivated",
    "Deposited": _deposited,
    "Withdrawn": lambda a, c: f"{c.name_of(a['account'])} withdrew {coins(a['amount'], c.symbol)}",
    "OrderPlaced": _placed,
    "OrderCancelled": _cancelled,
    "OrderFilled": _filled,
    "DeliveryCreated": _created,
    "DeliverySettled": _settled,
    "DeliveryExpired": _expired,
}


def describe(event: Event, context: Context) -> str:
    """One EnergyMarket event as a sentence a resident can read."""
    sentence = _SENTENCES.get(event.name)
    if sentence is None:
        return f"{event.name} " + ", ".join(f"{k}={v}" for k, v in event.args.items())
    return sentence(event.args, context)


_MONEY_ARGS = {"price_per_wh", "amount"}


def _arg(key: str, value: Any, context: Context) -> str:
    if key in _MONEY_ARGS and isinstance(value, int):
        return coins(value, context.symbol)
    if isinstance(value, str) and len(value) == 42:
        return context.name_of(value)
    return str(value)


def describe_call(call: Call, context: Context, value: int = 0) -> str:
    """A decoded function call in words: 'place_order: sell 5 Wh at 8 PKR/Wh'."""
    a = call.args
    if call.function == "place_order":
        side = "buy" if a["is_buy"] else "sell"
        return (
            f"place_order: {side} {_wh(a['amount_wh'])} at {_price(a['price_per_wh'], context)}"
            f" until {date_and_time(a['expires_at'], context.zone)}"
        )
    if call.function in ("deposit", "deposit_for"):
        target = f" for {context.name_of(a['account'])}" if "account" in a else ""
        return f"{call.function}: {coins(value, context.symbol)}{target}"
    if call.function == "withdraw":
        return f"withdraw: {coins(a['amount'], context.symbol)}"
    if call.function == "take":
        return f"take: {_wh(a['amount_wh'])} of order {a['order_id']}"
    if call.function == "match":
        return (
            f"match: buy order {a['buy_id']} with sell order {a['sell_id']}, "
            f"{_wh(a['amount_wh'])} at {_price(a['price_per_wh'], context)}"
        )
    if call.function == "match_batch":
        return f"match_batch: {len(a['matches'])} matches"
    if call.function == "settle":
        return f"settle: delivery {a['delivery_id']} with {_wh(a['delivered_wh'])} metered"
    if call.function == "settle_batch":
        return f"settle_batch: {len(a['settlements'])} deliveries"
    if call.function == "cancel_order":
        return f"cancel_order: order {a['order_id']}"
    if call.function == "expire":
        return f"expire: delivery {a['delivery_id']}"
    if call.function == "register_household":
        return (
            f"register_household: {short_address(a['account'])} as "
            f"{house_name(a['house_id'])}, meter {a['meter_id']}"
        )
    parts = [f"{k}={_arg(k, v, context)}" for k, v in a.items()]
    return f"{call.function}: {', '.join(parts)}" if parts else call.function
