"""Every EnergyMarket function's happy path and every revert reason, on every chain backend."""

from __future__ import annotations

import pytest

from gridshare.chain import ContractRevert, EnergyMarket, Transactor
from gridshare.domain import DeliveryStatus, MatchProposal, OrderStatus, Side
from tests.integration.contract.conftest import (
    DELIVERY_WINDOW,
    PRICE,
    SETTLE_GRACE,
    START_BALANCE,
    World,
)


def assert_conserved(world: World) -> None:
    """The contract holds exactly what its internal balances add up to."""
    accounts = (*world.households, world.operator, world.stranger)
    total = sum(world.market.balances(a.address).total for a in accounts)
    assert world.market.contract_balance() == total


def reverts(reason: str) -> pytest.RaisesContext[ContractRevert]:
    return pytest.raises(ContractRevert, match=f"\\({reason}\\)$")


# ---------------------------------------------------------------- operator & households


def test_deploy_sets_operator_and_timing(world: World) -> None:
    assert world.market.operator() == world.operator.address
    assert world.market.timing() == (DELIVERY_WINDOW, SETTLE_GRACE)


def test_deploy_refuses_zero_timing(world: World, compiled) -> None:  # type: ignore[no-untyped-def]
    with reverts("bad timing"):
        EnergyMarket.deploy(
            Transactor(world.chain.w3), compiled, world.stranger, delivery_window=0, settle_grace=1
        )


def test_operator_role_moves_in_two_steps(world: World) -> None:
    market, old, new = world.market, world.operator, world.stranger
    market.transfer_operator(old, new.address)
    assert market.operator() == old.address  # nothing changes until accepted
    with reverts("not pending operator"):
        market.accept_operator(world.buyer)
    market.accept_operator(new)
    assert market.operator() == new.address
    with reverts("not operator"):
        market.set_timing(old, 10, 10)


def test_transfer_operator_refuses_zero_address(world: World) -> None:
    with reverts("zero address"):
        world.market.transfer_operator(world.operator, "0x" + "00" * 20)


def test_set_timing_changes_future_deadlines(world: World) -> None:
    world.market.set_timing(world.operator, 60, 30)
    assert world.market.timing() == (60, 30)
    offer = world.offer()
    delivery = world.market.take(world.buyer, offer.id, 1)
    assert delivery.deadline == world.chain.now() + 60
    with reverts("bad timing"):
        world.market.set_timing(world.operator, 0, 30)
    with reverts("bad timing"):
        world.market.set_timing(world.operator, 30, 0)


def test_register_household_records_house_and_meter(world: World) -> None:
    household = world.market.household(world.buyer.address)
    assert household is not None
    assert (household.house_id, household.meter_id, household.active) == (1, 101, True)
    assert world.market.account_of_house(1) == world.buyer.address
    assert world.market.household(world.stranger.address) is None


def test_register_household_refusals(world: World) -> None:
    market, op = world.market, world.operator
    with reverts("zero address"):
        market.register_household(op, "0x" + "00" * 20, 9, 9)
    with reverts("operator account"):
        market.register_household(op, op.address, 9, 9)
    with reverts("bad house id"):
        market.register_household(op, world.stranger.address, 0, 9)
    with reverts("house taken"):
        market.register_household(op, world.stranger.address, 1, 9)


def test_moving_a_household_to_a_new_house_id_frees_the_old_one(world: World) -> None:
    market, op = world.market, world.operator
    market.register_household(op, world.buyer.address, 7, 107)
    assert market.account_of_house(1) is None
    assert market.account_of_house(7) == world.buyer.address
    market.register_household(op, world.stranger.address, 1, 201)
    assert market.account_of_house(1) == world.stranger.address


def test_deactivated_household_cannot_trade_but_can_withdraw(world: World) -> None:
    market = world.market
    market.deactivate_household(world.operator, world.buyer.address)
    household = market.household(world.buyer.address)
    assert household is not None and not household.active
    with reverts("inactive"):
        world.demand()
    with reverts("inactive"):
        market.deactivate_household(world.operator, world.buyer.address)
    market.withdraw(world.buyer, START_BALANCE)
    assert market.balances(world.buyer.address).available == 0
    market.register_household(world.operator, world.buyer.address, 1, 101)  # re-activate
    assert market.household(world.buyer.address).active  # type: ignore[union-attr]


def test_deactivate_refuses_unknown_account(world: World) -> None:
    with reverts("not household"):
        world.market.deactivate_household(world.operator, world.stranger.address)


# ---------------------------------------------------------------- balances


def test_deposit_and_withdraw_move_exact_amounts(world: World) -> None:
    market, buyer = world.market, world.buyer
    wallet_before = world.chain.w3.eth.get_balance(buyer.address)
    market.deposit(buyer, 5)
    assert market.balances(buyer.address).available == START_BALANCE + 5
    market.withdraw(buyer, START_BALANCE + 5)
    assert market.balances(buyer.address).available == 0
    wallet_after = world.chain.w3.eth.get_balance(buyer.address)
    fees = wallet_before - 5 + (START_BALANCE + 5) - wallet_after
    assert 0 <= fees < 10**17  # only gas, never money lost
    assert_conserved(world)


def test_deposit_refusals(world: World) -> None:
    with reverts("not household"):
        world.market.deposit(world.stranger, 1)
    with reverts("not household"):
        world.market.deposit(world.operator, 1)
    with reverts("bad amount"):
        world.market.deposit(world.buyer, 0)


def test_operator_tops_up_a_household_from_the_treasury(world: World) -> None:
    world.market.deposit_for(world.operator, world.other.address, 123)
    assert world.market.balances(world.other.address).available == START_BALANCE + 123
    with reverts("not household"):
        world.market.deposit_for(world.operator, world.stranger.address, 1)
    with reverts("bad amount"):
        world.market.deposit_for(world.operator, world.other.address, 0)
    with reverts("not operator"):
        world.market.deposit_for(world.buyer, world.other.address, 1)
    assert_conserved(world)


def test_withdraw_refusals(world: World) -> None:
    with reverts("bad amount"):
        world.market.withdraw(world.buyer, 0)
    with reverts("insufficient balance"):
        world.market.withdraw(world.buyer, START_BALANCE + 1)
    with reverts("insufficient balance"):
        world.market.withdraw(world.stranger, 1)


# ---------------------------------------------------------------- orders


def test_sell_order_locks_nothing_and_buy_order_locks_its_cost(world: World) -> None:
    offer = world.offer(amount_wh=10)
    assert offer.side is Side.SELL and offer.remaining_wh == 10
    assert world.market.order(offer.id) == offer
    assert world.market.balances(world.seller.address).locked == 0
    demand = world.demand(amount_wh=4, price=PRICE)
    balances = world.market.balances(world.buyer.address)
    assert balances.locked == 4 * PRICE
    assert balances.available == START_BALANCE - 4 * PRICE
    assert world.market.order_count() == 2 and demand.id == 2
    assert_conserved(world)


def test_place_order_refusals(world: World) -> None:
    market, now = world.market, world.chain.now()
    limits = market.limits
    with reverts("not household"):
        market.place_order(world.stranger, Side.SELL, 1, PRICE, now + 100)
    with reverts("bad amount"):
        market.place_order(world.seller, Side.SELL, 0, PRICE, now + 100)
    with reverts("bad amount"):
        market.place_order(world.seller, Side.SELL, limits.max_amount_wh + 1, PRICE, now + 100)
    with reverts("bad price"):
        market.place_order(world.seller, Side.SELL, 1, 0, now + 100)
    with reverts("bad price"):
        market.place_order(world.seller, Side.SELL, 1, limits.max_price_per_wh + 1, now + 100)
    with reverts("bad expiry"):
        market.place_order(world.seller, Side.SELL, 1, PRICE, now - 1)
    with reverts("insufficient balance"):
        market.place_order(world.buyer, Side.BUY, START_BALANCE // PRICE + 1, PRICE, now + 100)


def test_owner_cancels_a_buy_order_and_gets_the_lock_back(world: World) -> None:
    demand = world.demand(amount_wh=5)
    assert world.market.cancel_order(world.buyer, demand.id) == 5
    assert world.market.balances(world.buyer.address).available == START_BALANCE
    assert world.market.order(demand.id).status is OrderStatus.CANCELLED  # type: ignore[union-attr]
    with reverts("order closed"):
        world.market.cancel_order(world.buyer, demand.id)
    assert_conserved(world)


def test_only_the_owner_cancels_before_expiry_and_anyone_after(world: World) -> None:
    offer = world.offer(ttl=100)
    with reverts("not owner"):
        world.market.cancel_order(world.buyer, offer.id)
    with reverts("not owner"):
        world.market.cancel_order(world.stranger, offer.id)
    world.chain.advance_time(200)
    assert world.market.cancel_order(world.stranger, offer.id) == 10
    with reverts("no order"):
        world.market.cancel_order(world.seller, 999)


# ---------------------------------------------------------------- take


def test_taking_an_offer_escrows_the_buyers_payment(world: World) -> None:
    offer = world.offer(amount_wh=10)
    delivery = world.market.take(world.buyer, offer.id, 4)
    assert (delivery.buyer, delivery.seller) == (world.buyer.address, world.seller.address)
    assert (delivery.amount_wh, delivery.price_per_wh) == (4, PRICE)
    assert delivery.deadline == world.chain.now() + DELIVERY_WINDOW
    assert world.market.delivery(delivery.id) == delivery
    buyer = world.market.balances(world.buyer.address)
    assert (buyer.available, buyer.escrowed) == (START_BALANCE - 4 * PRICE, 4 * PRICE)
    assert world.market.order(offer.id).remaining_wh == 6  # type: ignore[union-attr]
    assert_conserved(world)


def test_selling_into_a_demand_moves_its_lock_into_escrow(world: World) -> None:
    demand = world.demand(amount_wh=5)
    delivery = world.market.take(world.seller, demand.id, 5)
    assert (delivery.buyer, delivery.seller) == (world.buyer.address, world.seller.address)
    buyer = world.market.balances(world.buyer.address)
    assert (buyer.locked, buyer.escrowed) == (0, 5 * PRICE)
    assert world.market.order(demand.id).status is OrderStatus.FILLED  # type: ignore[union-attr]
    with reverts("order closed"):
        world.market.take(world.other, demand.id, 1)
    assert_conserved(world)


def test_take_refusals(world: World) -> None:
    market = world.market
    offer = world.offer(amount_wh=10, ttl=100)
    with reverts("not household"):
        market.take(world.stranger, offer.id, 1)
    with reverts("own order"):
        market.take(world.seller, offer.id, 1)
    with reverts("bad amount"):
        market.take(world.buyer, offer.id, 0)
    with reverts("bad amount"):
        market.take(world.buyer, offer.id, 11)
    with reverts("no order"):
        market.take(world.buyer, 999, 1)
    expensive = world.offer(amount_wh=1, price=START_BALANCE + 1)
    with reverts("insufficient balance"):
        market.take(world.buyer, expensive.id, 1)
    market.deactivate_household(world.operator, world.seller.address)
    with reverts("maker inactive"):
        market.take(world.buyer, offer.id, 1)
    market.register_household(world.operator, world.seller.address, 2, 102)
    world.chain.advance_time(200)
    with reverts("order expired"):
        market.take(world.buyer, offer.id, 1)


# ---------------------------------------------------------------- match


def test_match_at_a_price_between_limits_returns_the_excess_lock(world: World) -> None:
    demand = world.demand(amount_wh=10, price=PRICE + 3)
    offer = world.offer(amount_wh=6, price=PRICE - 3)
    delivery = world.market.match(world.operator, MatchProposal(demand.id, offer.id, 6, PRICE))
    assert (delivery.amount_wh, delivery.price_per_wh) == (6, PRICE)
    buyer = world.market.balances(world.buyer.address)
    assert buyer.escrowed == 6 * PRICE
    assert buyer.locked == 4 * (PRICE + 3)
    assert buyer.available == START_BALANCE - 6 * PRICE - 4 * (PRICE + 3)
    assert world.market.order(offer.id).status is OrderStatus.FILLED  # type: ignore[union-attr]
    assert world.market.order(demand.id).remaining_wh == 4  # type: ignore[union-attr]
    assert_conserved(world)


def test_match_refusals(world: World) -> None:
    market, op = world.market, world.operator
    demand = world.demand(amount_wh=5, price=PRICE)
    offer = world.offer(amount_wh=5, price=PRICE)
    own_offer = world.market.place_order(world.buyer, Side.SELL, 5, PRICE, world.chain.now() + 100)
    with reverts("not operator"):
        market.match(world.buyer, MatchProposal(demand.id, offer.id, 1, PRICE))
    with reverts("limit price"):
        market.match(op, MatchProposal(demand.id, offer.id, 1, PRICE + 1))
    with reverts("limit price"):
        market.match(op, MatchProposal(demand.id, offer.id, 1, PRICE - 1))
    with reverts("wrong sides"):
        market.match(op, MatchProposal(offer.id, demand.id, 1, PRICE))
    with reverts("own order"):
        market.match(op, MatchProposal(demand.id, own_offer.id, 1, PRICE))
    with reverts("bad amount"):
        market.match(op, MatchProposal(demand.id, offer.id, 0, PRICE))
    with reverts("bad amount"):
        market.match(op, MatchProposal(demand.id, offer.id, 6, PRICE))
    with reverts("no order"):
        market.match(op, MatchProposal(demand.id, 999, 1, PRICE))
    market.deactivate_household(op, world.seller.address)
    with reverts("inactive"):
        market.match(op, MatchProposal(demand.id, offer.id, 1, PRICE))


def test_match_batch_creates_every_delivery_or_none(world: World) -> None:
    market, op = world.market, world.operator
    demand = world.demand(amount_wh=10)
    offers = [world.offer(amount_wh=3) for _ in range(3)]
    bad = [MatchProposal(demand.id, o.id, 3, PRICE) for o in offers[:2]]
    bad.append(MatchProposal(demand.id, offers[2].id, 4, PRICE))  # more than the offer has
    with reverts("bad amount"):
        market.match_batch(op, bad)
    assert market.delivery_count() == 0
    good = [MatchProposal(demand.id, o.id, 3, PRICE) for o in offers]
    deliveries = market.match_batch(op, good)
    assert [d.id for d in deliveries] == [1, 2, 3]
    assert market.order(demand.id).remaining_wh == 1  # type: ignore[union-attr]
    with reverts("empty batch"):
        market.match_batch(op, [])
    assert_conserved(world)


def test_match_batch_is_bounded(world: World) -> None:
    demand = world.demand(amount_wh=10)
    offer = world.offer(amount_wh=10)
    too_many = [MatchProposal(demand.id, offer.id, 1, PRICE)] * (world.market.limits.max_batch + 1)
    with pytest.raises(ContractRevert):
        world.market.match_batch(world.operator, too_many)


# ---------------------------------------------------------------- settle & expire


def _delivery(world: World, amount_wh: int = 10) -> int:
    return world.market.take(world.buyer, world.offer(amount_wh=amount_wh).id, amount_wh).id


@pytest.mark.parametrize("delivered", [10, 7, 0])
def test_settle_pays_the_seller_pro_rata_and_refunds_the_buyer(
    world: World, delivered: int
) -> None:
    delivery_id = _delivery(world, 10)
    settlement = world.market.settle(world.operator, delivery_id, delivered)
    assert (settlement.paid, settlement.refunded) == (delivered * PRICE, (10 - delivered) * PRICE)
    seller = world.market.balances(world.seller.address)
    buyer = world.market.balances(world.buyer.address)
    assert seller.available == START_BALANCE + delivered * PRICE
    assert (buyer.available, buyer.escrowed) == (START_BALANCE - delivered * PRICE, 0)
    delivery = world.market.delivery(delivery_id)
    assert delivery is not None
    assert (delivery.status, delivery.delivered_wh) == (DeliveryStatus.SETTLED, delivered)
    assert_conserved(world)


def test_settle_refusals(world: World) -> None:
    delivery_id = _delivery(world, 10)
    with reverts("not operator"):
        world.market.settle(world.seller, delivery_id, 10)
    with reverts("delivered > amount"):
        world.market.settle(world.operator, delivery_id, 11)
    with reverts("no delivery"):
        world.market.settle(world.operator, 999, 1)
    world.market.settle(world.operator, delivery_id, 10)
    with reverts("delivery closed"):
        world.market.settle(world.operator, delivery_id, 10)
    with reverts("delivery closed"):
        world.market.expire(world.buyer, delivery_id)


def test_settle_batch_is_atomic(world: World) -> None:
    first, second = _delivery(world, 5), _delivery(world, 5)
    with reverts("delivered > amount"):
        world.market.settle_batch(world.operator, [(first, 5), (second, 6)])
    assert world.market.delivery(first).status is DeliveryStatus.PENDING  # type: ignore[union-attr]
    settlements = world.market.settle_batch(world.operator, [(first, 5), (second, 2)])
    assert [(s.delivery_id, s.paid) for s in settlements] == [
        (first, 5 * PRICE),
        (second, 2 * PRICE),
    ]
    with reverts("empty batch"):
        world.market.settle_batch(world.operator, [])
    with reverts("not operator"):
        world.market.settle_batch(world.buyer, [(first, 1)])
    assert_conserved(world)


def test_anyone_expires_an_unsettled_delivery_after_deadline_and_grace(world: World) -> None:
    delivery_id = _delivery(world, 10)
    with reverts("not expired"):
        world.market.expire(world.stranger, delivery_id)
    world.chain.advance_time(DELIVERY_WINDOW)
    with reverts("not expired"):
        world.market.expire(world.stranger, delivery_id)
    world.chain.advance_time(SETTLE_GRACE + 1)
    assert world.market.expire(world.stranger, delivery_id) == 10 * PRICE
    buyer = world.market.balances(world.buyer.address)
    assert (buyer.available, buyer.escrowed) == (START_BALANCE, 0)
    assert world.market.delivery(delivery_id).status is DeliveryStatus.EXPIRED  # type: ignore[union-attr]
    with reverts("delivery closed"):
        world.market.expire(world.stranger, delivery_id)
    with reverts("delivery closed"):
        world.market.settle(world.operator, delivery_id, 1)
    with reverts("no delivery"):
        world.market.expire(world.stranger, 999)
    assert_conserved(world)
