"""Random order/cancel/tick command streams, and a runner checking mechanism against reference."""

from __future__ import annotations

import random
from collections import defaultdict
from dataclasses import dataclass

from gridshare.domain import Address, Order, OrderStatus, Side, Wei, Wh
from gridshare.market import CallAuction, Fill, Mechanism, OrderBook, mechanism_named

from .reference import FillTuple, ReferenceMarket

INTERVAL_S = 60
OWNERS = tuple(Address(f"0x{n:040x}") for n in range(1, 7))


@dataclass(frozen=True)
class Place:
    order: Order


@dataclass(frozen=True)
class Cancel:
    order_id: int


@dataclass(frozen=True)
class Tick:
    seconds: int


Command = Place | Cancel | Tick


def make_order(
    order_id: int, owner: Address, is_buy: bool, amount: int, price: int, expires_at: int
) -> Order:
    return Order(
        id=order_id,
        owner=owner,
        side=Side.BUY if is_buy else Side.SELL,
        amount_wh=Wh(amount),
        remaining_wh=Wh(amount),
        price_per_wh=Wei(price),
        expires_at=expires_at,
        status=OrderStatus.OPEN,
    )


def random_commands(seed: int, count: int) -> list[Command]:
    """`count` commands: ~55% orders, ~25% cancels (mostly recent ids), ~20% clock ticks."""
    rng = random.Random(seed)
    now = 0
    next_id = 1
    commands: list[Command] = []
    for _ in range(count):
        roll = rng.random()
        if roll < 0.55:
            lifetime = rng.randint(1, 300) if rng.random() > 0.03 else 0
            order = make_order(
                next_id,
                rng.choice(OWNERS),
                rng.random() < 0.5,
                rng.randint(1, 10),
                rng.randint(1, 20),
                now + lifetime,
            )
            commands.append(Place(order))
            next_id += 1
        elif roll < 0.80:
            if next_id > 1:
                commands.append(Cancel(rng.randint(max(1, next_id - 60), next_id - 1)))
        else:
            seconds = rng.randint(1, 30)
            commands.append(Tick(seconds))
            now += seconds
    return commands


def as_tuple(fill: Fill) -> FillTuple:
    return (fill.buy_id, fill.sell_id, fill.buyer, fill.seller, fill.amount_wh,
            fill.price_per_wh)


def book_state(book: OrderBook, now: int) -> list[tuple[int, int]]:
    return [(o.id, o.remaining_wh) for side in (Side.BUY, Side.SELL)
            for o in book.orders(side, now)]


@dataclass
class RunResult:
    fills: list[FillTuple]
    final_book: list[tuple[int, int]]
    placed: dict[int, Order]


def run(name: str, commands: list[Command], check_every: int = 1000) -> RunResult:
    """Drive `name` and the reference with `commands`; assert they agree at every step."""
    mechanism: Mechanism = mechanism_named(name, interval_s=INTERVAL_S)
    auction = CallAuction(INTERVAL_S)
    book = OrderBook()
    ref = ReferenceMarket(name)
    now = 0
    next_clear = auction.next_clearing(now)
    all_fills: list[FillTuple] = []
    placed: dict[int, Order] = {}
    for n, command in enumerate(commands):
        if isinstance(command, Place):
            placed[command.order.id] = command.order
            got = [as_tuple(f) for f in mechanism.submit(book, command.order, now)]
            want = ref.submit(command.order, now)
        elif isinstance(command, Cancel):
            cancelled = book.cancel(command.order_id)
            assert (cancelled is not None and now < cancelled.expires_at) == ref.cancel(
                command.order_id, now
            ), f"command {n}: cancel {command.order_id}"
            got, want = [], []
        else:
            now += command.seconds
            got, want = [], []
            if now >= next_clear:
                got = [as_tuple(f) for f in mechanism.clear(book, now)]
                want = ref.clear(now)
                next_clear = auction.next_clearing(now)
        assert got == want, f"command {n} ({command}): fills differ"
        all_fills.extend(got)
        if n % check_every == 0:
            assert book_state(book, now) == ref.book(now), f"command {n}: books differ"
    final = book_state(book, now)
    assert final == ref.book(now), "final books differ"
    return RunResult(all_fills, final, placed)


def check_conservation(result: RunResult) -> None:
    """Every Wh sold is bought, every wei paid is received, limits and owners respected."""
    filled: dict[int, int] = defaultdict(int)
    energy: dict[str, int] = defaultdict(int)
    money: dict[str, int] = defaultdict(int)
    for buy_id, sell_id, buyer, seller, wh, price in result.fills:
        buy, sell = result.placed[buy_id], result.placed[sell_id]
        assert buy.side is Side.BUY and sell.side is Side.SELL
        assert buyer == buy.owner != sell.owner == seller
        assert sell.price_per_wh <= price <= buy.price_per_wh
        assert wh > 0
        filled[buy_id] += wh
        filled[sell_id] += wh
        energy[buyer] += wh
        energy[seller] -= wh
        money[buyer] -= wh * price
        money[seller] += wh * price
    assert sum(energy.values()) == 0
    assert sum(money.values()) == 0
    for order_id, wh in filled.items():
        assert wh <= result.placed[order_id].amount_wh
    for order_id, remaining in result.final_book:
        assert remaining + filled[order_id] == result.placed[order_id].amount_wh
