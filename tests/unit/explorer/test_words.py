"""EnergyMarket events in words: pure, no chain."""

from __future__ import annotations

from dataclasses import replace

from gridshare.domain import WEI_PER_COIN
from gridshare.explorer import Call, Context, Event, coins, describe, describe_call
from gridshare.local_time import village_zone

SELLER, BUYER = "0x" + "03" * 20, "0x" + "07" * 20
NAMES = {SELLER: "house-03", BUYER: "house-07"}
CTX = Context("PKR", lambda a: NAMES.get(a, a), lambda i: 5 if i == 12 else None)
MILLI = WEI_PER_COIN // 1000


def test_coins_trims_zeros_without_floats() -> None:
    assert coins(36_800 * MILLI, "PKR") == "36.8 PKR"
    assert coins(8 * WEI_PER_COIN, "PKR") == "8 PKR"
    assert coins(8 * 10**15, "PKR") == "0.008 PKR"
    assert coins(1, "PKR") == "0.000000000000000001 PKR"


def test_offer_reads_as_in_the_issue() -> None:
    event = Event("OrderPlaced", {"order_id": 4, "owner": SELLER, "is_buy": False,
                                  "amount_wh": 5, "price_per_wh": 8 * WEI_PER_COIN,
                                  "expires_at": 0})
    assert describe(event, CTX).startswith("house-03 offered 5 Wh at 8 PKR/Wh (order 4,")


def test_settlement_names_both_sides_and_the_delivered_share() -> None:
    event = Event("DeliverySettled", {"delivery_id": 12, "buyer": BUYER, "seller": SELLER,
                                      "delivered_wh": 4, "paid": 32 * WEI_PER_COIN,
                                      "refunded": 8 * WEI_PER_COIN})
    assert describe(event, CTX) == (
        "delivery 12 settled: 4 of 5 Wh, 32 PKR to house-03, 8 PKR back to house-07")


def test_unknown_delivery_size_is_left_out_not_guessed() -> None:
    event = Event("DeliverySettled", {"delivery_id": 13, "buyer": BUYER, "seller": SELLER,
                                      "delivered_wh": 0, "paid": 0, "refunded": 1})
    assert describe(event, CTX).startswith("delivery 13 settled: 0 Wh,")


def test_every_contract_event_has_a_sentence() -> None:
    from gridshare.chain import compile_contract

    names = {i["name"] for i in compile_contract().abi if i.get("type") == "event"}
    for name in names:
        args: dict[str, object] = {
            "account": BUYER, "sender": SELLER, "owner": SELLER, "buyer": BUYER,
            "seller": SELLER, "operator": SELLER, "pending": BUYER, "previous": BUYER}
        numbers = ("house_id", "meter_id", "amount", "order_id", "amount_wh", "price_per_wh",
                   "expires_at", "remaining_wh", "unlocked", "delivery_id", "deadline",
                   "buy_order_id", "sell_order_id", "delivered_wh", "paid", "refunded",
                   "delivery_window", "settle_grace")
        args.update({n: 1 for n in numbers})
        text = describe(Event(name, {**args, "is_buy": True}), CTX)
        assert not text.startswith(name), name


def test_calls_read_as_actions() -> None:
    take = Call("take", {"order_id": 4, "amount_wh": 5})
    assert describe_call(take, CTX) == "take: 5 Wh of order 4"
    deposit = Call("deposit_for", {"account": BUYER})
    assert describe_call(deposit, CTX, 10 * WEI_PER_COIN) == "deposit_for: 10 PKR for house-07"


def test_times_in_sentences_are_on_the_villages_clock() -> None:
    placed = Event("OrderPlaced", {"order_id": 4, "owner": SELLER, "is_buy": False,
                                   "amount_wh": 5, "price_per_wh": 8 * WEI_PER_COIN,
                                   "expires_at": 1796027523})  # 2026-11-30 08:32:03 UTC
    assert describe(placed, CTX).endswith("until 2026-11-30 08:32 UTC)")
    karachi = replace(CTX, zone=village_zone("Asia/Karachi"))
    assert describe(placed, karachi).endswith("until 2026-11-30 13:32 PKT)")
