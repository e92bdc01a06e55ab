"""Who may call what: every state-changing function × every role, on every chain backend.

Each row names a function, a set-up that makes the call meaningful (an open order, a pending
delivery, ...), the call itself, and the roles allowed to make it. Every allowed role must
succeed and every other role must be refused by the contract.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import pytest
from eth_account import Account
from eth_account.signers.local import LocalAccount

from gridshare.chain import ContractRevert
from gridshare.domain import MatchProposal, Side
from tests.integration.contract.conftest import DELIVERY_WINDOW, PRICE, SETTLE_GRACE, World

ROLES = ("operator", "buyer", "seller", "other", "stranger")
HOUSEHOLDS = frozenset({"buyer", "seller", "other"})
EVERYONE = frozenset(ROLES)
NOBODY: frozenset[str] = frozenset()


def _offer(world: World) -> int:
    return world.offer(amount_wh=10).id


def _demand(world: World) -> int:
    return world.demand(amount_wh=10).id


def _delivery(world: World) -> int:
    return world.market.take(world.buyer, _offer(world), 5).id


def _expired_delivery(world: World) -> int:
    delivery_id = _delivery(world)
    world.chain.advance_time(DELIVERY_WINDOW + SETTLE_GRACE + 1)
    return delivery_id


def _expired_offer(world: World) -> int:
    order_id = world.offer(amount_wh=10, ttl=60).id
    world.chain.advance_time(120)
    return order_id


def _pair(world: World) -> tuple[int, int]:
    return _demand(world), _offer(world)


def _nominate_stranger(world: World) -> None:
    world.market.transfer_operator(world.operator, world.stranger.address)


@dataclass(frozen=True)
class Row:
    """One function of the access matrix."""

    function: str
    allowed: frozenset[str]
    call: Callable[[World, LocalAccount, Any], object]
    setup: Callable[[World], Any] = lambda world: None
    label: str = ""

    @property
    def id(self) -> str:
        return self.label or self.function


M = lambda w: w.market  # noqa: E731 - keeps the table below on one line per row

MATRIX = (
    Row(
        "transfer_operator",
        frozenset({"operator"}),
        lambda w, a, _: M(w).transfer_operator(a, w.other.address),
    ),
    Row(
        "accept_operator",
        frozenset({"stranger"}),
        lambda w, a, _: M(w).accept_operator(a),
        setup=_nominate_stranger,
    ),
    Row("set_timing", frozenset({"operator"}), lambda w, a, _: M(w).set_timing(a, 60, 60)),
    Row(
        "register_household",
        frozenset({"operator"}),
        lambda w, a, _: M(w).register_household(a, Account.create().address, 50, 50),
    ),
    Row(
        "deactivate_household",
        frozenset({"operator"}),
        lambda w, a, _: M(w).deactivate_household(a, w.other.address),
    ),
    Row("deposit", HOUSEHOLDS, lambda w, a, _: M(w).deposit(a, 1)),
    Row(
        "deposit_for",
        frozenset({"operator"}),
        lambda w, a, _: M(w).deposit_for(a, w.buyer.address, 1),
    ),
    Row("withdraw", HOUSEHOLDS, lambda w, a, _: M(w).withdraw(a, 1)),
    Row(
        "place_order",
        HOUSEHOLDS,
        lambda w, a, _: M(w).place_order(a, Side.SELL, 1, PRICE, w.chain.now() + 600),
    ),
    Row(
        "cancel_order",
        frozenset({"seller"}),
        lambda w, a, order_id: M(w).cancel_order(a, order_id),
        setup=_offer,
    ),
    Row(
        "cancel_order",
        EVERYONE,
        lambda w, a, order_id: M(w).cancel_order(a, order_id),
        setup=_expired_offer,
        label="cancel_order_after_expiry",
    ),
    Row(
        "take",
        frozenset({"buyer", "other"}),
        lambda w, a, order_id: M(w).take(a, order_id, 1),
        setup=_offer,
    ),
    Row(
        "match",
        frozenset({"operator"}),
        lambda w, a, ids: M(w).match(a, MatchProposal(ids[0], ids[1], 1, PRICE)),
        setup=_pair,
    ),
    Row(
        "match_batch",
        frozenset({"operator"}),
        lambda w, a, ids: M(w).match_batch(a, [MatchProposal(ids[0], ids[1], 1, PRICE)]),
        setup=_pair,
    ),
    Row(
        "settle",
        frozenset({"operator"}),
        lambda w, a, delivery_id: M(w).settle(a, delivery_id, 5),
        setup=_delivery,
    ),
    Row(
        "settle_batch",
        frozenset({"operator"}),
        lambda w, a, delivery_id: M(w).settle_batch(a, [(delivery_id, 5)]),
        setup=_delivery,
    ),
    Row(
        "expire",
        NOBODY,
        lambda w, a, delivery_id: M(w).expire(a, delivery_id),
        setup=_delivery,
        label="expire_before_grace",
    ),
    Row(
        "expire",
        EVERYONE,
        lambda w, a, delivery_id: M(w).expire(a, delivery_id),
        setup=_expired_delivery,
        label="expire_after_grace",
    ),
)


def test_matrix_covers_every_external_state_changing_function(world: World) -> None:
    state_changing = {
        item["name"]
        for item in world.market.contract.abi
        if item.get("type") == "function" and item["stateMutability"] in ("nonpayable", "payable")
    }
    assert state_changing == {row.function for row in MATRIX}


@pytest.mark.parametrize("role", ROLES)
@pytest.mark.parametrize("row", MATRIX, ids=lambda row: row.id)
def test_only_allowed_roles_succeed(world: World, row: Row, role: str) -> None:
    context = row.setup(world)
    caller: LocalAccount = getattr(world, role)
    if role in row.allowed:
        row.call(world, caller, context)
    else:
        with pytest.raises(ContractRevert):
            row.call(world, caller, context)
