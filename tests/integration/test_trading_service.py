"""TradingService refuses every bad input before sending, naming the field at fault."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from eth_account import Account
from eth_account.signers.local import LocalAccount

from gridshare.config import Settings
from gridshare.domain import WEI_PER_COIN, Side
from gridshare.runtime import Runtime, build_runtime
from gridshare.services.chain_clock import ChainClock
from gridshare.services.trading import TradingError, TradingService
from tests.integration.trading_support import register_households

World = tuple[Runtime, TradingService, list[LocalAccount]]


@pytest.fixture(scope="module")
def world(tmp_path_factory: pytest.TempPathFactory) -> Iterator[World]:
    runtime = build_runtime(
        Settings(data_dir=Path(tmp_path_factory.mktemp("trading")), market_engine=False)
    )
    households, accounts = register_households(runtime, 3)
    households.deposit_for(accounts[0].address, 10 * WEI_PER_COIN)
    households.deposit_for(accounts[1].address, 10 * WEI_PER_COIN)
    households.set_active(households.repository.by_account(accounts[2].address), False)
    yield runtime, TradingService(runtime.market, ChainClock(runtime.market.w3)), accounts
    runtime.close()


def _refused(field: str | None, code: str, call: object, *args: object) -> None:
    with pytest.raises(TradingError) as info:
        call(*args)  # type: ignore[operator]
    assert (info.value.field, info.value.code) == (field, code), info.value.message
    assert info.value.message


def test_place_refuses_bad_amount_price_ttl_balance_and_inactive(world: World) -> None:
    runtime, trading, (alice, _bob, carol) = world
    before = runtime.market.order_count()
    _refused("amount_wh", "bad_amount", trading.place_order, alice, Side.SELL, 0, 5, 60)
    _refused("amount_wh", "bad_amount", trading.place_order, alice, Side.SELL, -3, 5, 60)
    _refused("amount_wh", "bad_amount", trading.place_order, alice, Side.SELL, 10**9 + 1, 5, 60)
    _refused("price_per_wh", "bad_price", trading.place_order, alice, Side.SELL, 5, 0, 60)
    _refused("price_per_wh", "bad_price", trading.place_order, alice, Side.SELL, 5, 10**24 + 1,
             60)  # fmt: skip
    _refused("ttl_s", "bad_ttl", trading.place_order, alice, Side.SELL, 5, 5, 0)
    _refused("amount_wh", "insufficient_balance", trading.place_order, alice, Side.BUY, 10,
             10 * WEI_PER_COIN, 60)  # fmt: skip
    _refused("account", "inactive_household", trading.place_order, carol, Side.SELL, 5, 5, 60)
    _refused("account", "not_household", trading.place_order, Account.create(), Side.SELL, 5,
             5, 60)  # fmt: skip
    assert runtime.market.order_count() == before  # nothing was sent


def test_take_refuses_unknown_own_expired_closed_and_too_much(world: World) -> None:
    runtime, trading, (alice, bob, carol) = world
    offer = trading.place_order(alice, Side.SELL, 4, 1000, 3600)
    _refused("order_id", "no_order", trading.take, bob, 10**6, 1)
    _refused("order_id", "own_order", trading.take, alice, offer.id, 1)
    _refused("amount_wh", "bad_amount", trading.take, bob, offer.id, 5)
    _refused("amount_wh", "bad_amount", trading.take, bob, offer.id, 0)
    _refused("account", "inactive_household", trading.take, carol, offer.id, 1)
    pricey = trading.place_order(alice, Side.SELL, 5, 10 * WEI_PER_COIN, 3600)
    _refused("amount_wh", "insufficient_balance", trading.take, bob, pricey.id, 5)
    short = trading.place_order(alice, Side.SELL, 2, 1000, 1)
    assert runtime.chain.embedded is not None
    runtime.chain.embedded.increase_time(5)
    _refused("order_id", "order_expired", trading.take, bob, short.id, 1)
    delivery = trading.take(bob, offer.id, 4)
    assert delivery.amount_wh == 4 and str(delivery.buyer) == bob.address
    _refused("order_id", "order_closed", trading.take, bob, offer.id, 1)


def test_cancel_refuses_strangers_and_closed_orders(world: World) -> None:
    _runtime, trading, (alice, bob, _carol) = world
    offer = trading.place_order(alice, Side.SELL, 3, 1000, 3600)
    assert offer.id in {o.id for o in trading.open_orders()}
    _refused("order_id", "not_owner", trading.cancel, bob, offer.id)
    _refused("order_id", "no_order", trading.cancel, alice, 10**6)
    trading.cancel(alice, offer.id)
    assert offer.id not in {o.id for o in trading.open_orders()}
    _refused("order_id", "order_closed", trading.cancel, alice, offer.id)


def test_inactive_maker_order_cannot_be_taken(world: World) -> None:
    runtime, trading, (alice, bob, _carol) = world
    offer = trading.place_order(bob, Side.SELL, 2, 1000, 3600)
    runtime.market.deactivate_household(runtime.operator, bob.address)
    try:
        _refused("order_id", "inactive_household", trading.take, alice, offer.id, 1)
    finally:
        runtime.market.register_household(runtime.operator, bob.address, 2, 2)


def test_a_contract_revert_becomes_a_trading_error(
    world: World, monkeypatch: pytest.MonkeyPatch
) -> None:
    runtime, trading, (alice, bob, _carol) = world
    offer = trading.place_order(alice, Side.SELL, 2, 1000, 3600)
    runtime.market.take(bob, offer.id, 2)  # behind the service's back
    monkeypatch.setattr(trading, "_live_order", lambda order_id: offer)  # a stale view
    _refused("order_id", "order_closed", trading.take, bob, offer.id, 1)


def test_a_take_that_lost_a_race_says_how_much_is_left(
    world: World, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Two buyers take one offer at once: both pass the check on the state before, the chain
    refuses the second. Its refusal used to be the contract's general "Amount must be positive
    and within what is available"; it now names what is left, as the check would have."""
    runtime, trading, (alice, bob, _carol) = world
    offer = trading.place_order(alice, Side.SELL, 10, 1000, 3600)
    runtime.market.take(bob, offer.id, 6)  # the other buyer, a moment earlier
    fresh = trading._live_order
    seen: list[int] = []

    def stale_once(order_id: int) -> object:
        seen.append(order_id)
        return offer if len(seen) == 1 else fresh(order_id)

    monkeypatch.setattr(trading, "_live_order", stale_once)
    with pytest.raises(TradingError) as info:
        trading.take(bob, offer.id, 6)
    assert (info.value.code, info.value.field) == ("bad_amount", "amount_wh")
    assert info.value.message == f"Only 4 Wh of order {offer.id} are left."
