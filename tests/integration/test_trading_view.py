"""TradingService's cached view of the book and households follows every change on chain.

The view is built from the market's events (orders placed, filled, cancelled; households
registered or deactivated), read only for new blocks; these tests change the chain behind its
back — through the contract directly, not the service — and check the view always equals a
fresh read of every order from contract storage.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from eth_account import Account
from eth_account.signers.local import LocalAccount

from gridshare.chain.errors import ChainError
from gridshare.config import Settings
from gridshare.domain import WEI_PER_COIN, Order, Side
from gridshare.meters import MeterEntry, MeterKey
from gridshare.runtime import Runtime, build_runtime
from gridshare.services.chain_clock import ChainClock
from gridshare.services.households import HouseholdService
from gridshare.services.trading import TradingService
from gridshare.web.context import History, build_context
from gridshare.web.queries import open_board
from tests.integration.trading_support import register_households

FAR = 2**40


@pytest.fixture
def world(tmp_path: Path) -> Iterator[tuple[Runtime, HouseholdService, list[LocalAccount]]]:
    runtime = build_runtime(Settings(data_dir=tmp_path, market_engine=False))
    households, accounts = register_households(runtime, 3)
    for account in accounts:
        households.deposit_for(account.address, 10 * WEI_PER_COIN)
    yield runtime, households, accounts
    runtime.close()


def fresh_read(runtime: Runtime, now: int) -> list[Order]:
    """Every live order, read one by one from the contract (what the view must equal)."""
    market = runtime.market
    orders = (market.order(i) for i in range(1, market.order_count() + 1))
    return [o for o in orders if o is not None and o.is_live(now)]


def test_the_view_follows_places_takes_fills_and_cancels_made_behind_its_back(
    world: tuple[Runtime, HouseholdService, list[LocalAccount]],
) -> None:
    runtime, _, (a, b, c) = world
    market = runtime.market
    trading = TradingService(market, ChainClock(market.w3))
    assert trading.open_orders() == []
    offer = market.place_order(a, Side.SELL, 100, 10**12, FAR)
    bid = market.place_order(b, Side.BUY, 50, 2 * 10**12, FAR)
    other = market.place_order(c, Side.SELL, 10, 10**12, FAR)
    assert trading.open_orders() == fresh_read(runtime, trading.clock())
    head = trading.view_head
    assert trading.open_orders() and trading.view_head == head  # nothing new: nothing read

    market.take(b, offer.id, 30)  # partly filled
    market.cancel_order(c, other.id)  # gone
    view = trading.open_orders()
    assert view == fresh_read(runtime, trading.clock())
    assert {o.id: o.remaining_wh for o in view} == {offer.id: 70, bid.id: 50}

    market.take(a, bid.id, 50)  # a buy order filled completely by a seller
    assert [o.id for o in trading.open_orders()] == [offer.id]


def test_the_view_starts_over_when_the_chain_goes_back(
    world: tuple[Runtime, HouseholdService, list[LocalAccount]],
) -> None:
    runtime, _, (a, b, _c) = world
    market = runtime.market
    trading = TradingService(market, ChainClock(market.w3))
    snapshot = market.w3.provider.make_request("evm_snapshot", [])["result"]  # type: ignore[arg-type]
    offer = market.place_order(a, Side.SELL, 100, 10**12, FAR)
    assert [o.id for o in trading.open_orders()] == [offer.id]
    assert market.w3.provider.make_request("evm_revert", [snapshot])["result"]  # type: ignore[arg-type]
    assert trading.open_orders() == []  # the order's block is gone, and so is the order
    again = market.place_order(b, Side.SELL, 7, 10**12, FAR)  # same id, other owner
    (seen,) = trading.open_orders()
    assert (seen.id, seen.owner, seen.amount_wh) == (again.id, again.owner, 7)


def test_households_in_the_view_follow_deactivation_and_registration(
    world: tuple[Runtime, HouseholdService, list[LocalAccount]],
) -> None:
    runtime, households, (a, _b, _c) = world
    trading = TradingService(runtime.market, ChainClock(runtime.market.w3))
    newcomer = Account.create()
    before = trading.households([a.address, newcomer.address])
    assert before[a.address] is not None and before[a.address].active
    assert before[newcomer.address] is None
    households.set_active(households.repository.by_account(a.address), False)
    meter = MeterEntry(4, 4, "http://127.0.0.1:9004", MeterKey.generate(4))
    households.register("house-04", newcomer.address, 4, meter)
    after = trading.households([a.address, newcomer.address])
    assert after[a.address] is not None and not after[a.address].active
    assert after[newcomer.address] is not None and after[newcomer.address].house_id == 4


def test_a_read_rides_out_a_node_that_cannot_resolve_latest_for_a_moment(
    world: tuple[Runtime, HouseholdService, list[LocalAccount]],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """Anvil with a block time answers "BlockOutOfRangeError" while it makes a block."""
    runtime, _, (a, _b, _c) = world
    provider = runtime.market.w3.provider
    answer = provider.make_request
    moving = {"eth_call": 2}  # the next two eth_calls fail as Anvil's did

    def flaky(method: Any, params: Any) -> Any:
        if moving.get(method, 0) > 0:
            moving[method] -= 1
            message = "BlockOutOfRangeError: block height is 14 but requested was 13"
            return {"jsonrpc": "2.0", "id": 1, "error": {"code": -32602, "message": message}}
        return answer(method, params)

    monkeypatch.setattr(provider, "make_request", flaky)
    assert runtime.market.balances(a.address).available == 10 * WEI_PER_COIN
    moving["eth_call"] = 10  # a node that keeps failing is an error, named
    with pytest.raises(ChainError, match=r"balances_of.*BlockOutOfRange"):
        runtime.market.balances(a.address)


def test_catching_up_reads_events_only_no_contract_calls(
    world: tuple[Runtime, HouseholdService, list[LocalAccount]],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """The matcher and every order request sync the view: it must not re-run the EVM."""
    runtime, _, (a, b, _c) = world
    market = runtime.market
    trading = TradingService(market, ChainClock(market.w3))
    trading.households([a.address, b.address])  # households are cached once
    offer = market.place_order(a, Side.SELL, 100, 10**12, FAR)
    market.place_order(b, Side.BUY, 50, 2 * 10**12, FAR)
    market.take(b, offer.id, 40)
    provider = market.w3.provider
    answer = provider.make_request
    methods: list[str] = []

    def counting(method: Any, params: Any) -> Any:
        methods.append(str(method))
        return answer(method, params)

    monkeypatch.setattr(provider, "make_request", counting)
    view = trading.open_orders()
    monkeypatch.setattr(provider, "make_request", answer)
    assert view == fresh_read(runtime, trading.clock())
    assert "eth_call" not in methods and "eth_getLogs" in methods


def test_a_range_with_too_many_logs_for_the_node_is_read_in_halves(
    world: tuple[Runtime, HouseholdService, list[LocalAccount]],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """A node answers -32005 (limit exceeded) above its log limit; the view still fills."""
    runtime, _, (a, b, c) = world
    market = runtime.market
    placed = [market.place_order(x, Side.SELL, 10 + i, 10**12, FAR)
              for i, x in enumerate((a, b, c, a, b))]  # fmt: skip
    provider = market.w3.provider
    answer = provider.make_request
    refused: list[int] = []

    def limited(method: Any, params: Any) -> Any:
        if method == "eth_getLogs":
            span = int(params[0]["toBlock"], 16) - int(params[0]["fromBlock"], 16) + 1
            if span > 3:
                refused.append(span)
                message = "query returned more than 10000 results; narrow the block range"
                return {"jsonrpc": "2.0", "id": 1, "error": {"code": -32005, "message": message}}
        return answer(method, params)

    monkeypatch.setattr(provider, "make_request", limited)
    view = TradingService(market, ChainClock(market.w3)).open_orders()
    assert [o.id for o in view] == [o.id for o in placed]
    assert refused and refused == sorted(refused, reverse=True)  # halved until it fits


def test_the_pages_history_of_every_order_follows_events_without_contract_calls(
    world: tuple[Runtime, HouseholdService, list[LocalAccount]],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """/market and /account list every order, closed and expired ones too; they used to read
    each open one from the contract on every request, slower as expired orders piled up."""
    runtime, _, (a, b, c) = world
    market = runtime.market
    history = History(market)
    offer = market.place_order(a, Side.SELL, 100, 10**12, FAR)
    bid = market.place_order(b, Side.BUY, 50, 2 * 10**12, FAR)
    other = market.place_order(c, Side.SELL, 10, 10**12, FAR)
    assert history.orders() == [offer, bid, other]

    calls: list[str] = []
    answer = market.w3.provider.make_request

    def counted(method: Any, params: Any) -> Any:
        calls.append(str(method))
        return answer(method, params)

    monkeypatch.setattr(market.w3.provider, "make_request", counted)
    market.take(b, offer.id, 30)  # partly filled
    market.cancel_order(c, other.id)
    market.take(a, bid.id, 50)  # filled completely
    calls.clear()
    seen = history.orders()
    assert "eth_call" not in calls  # events only
    every = [market.order(i) for i in range(1, market.order_count() + 1)]
    assert seen == every  # the same as reading each order from contract storage
    assert [(o.status.name, o.remaining_wh) for o in seen] == [
        ("OPEN", 70), ("FILLED", 0), ("CANCELLED", 0)]  # fmt: skip


def test_the_board_hides_orders_expired_by_the_runtimes_clock_ahead_of_the_last_block(
    world: tuple[Runtime, HouseholdService, list[LocalAccount]],
) -> None:
    """In a demo the clock runs ahead of the last block: the board must use it, or residents
    tap Buy on offers that expired minutes ago by the time the next block is made."""
    runtime, _, (a, _b, _c) = world
    ctx = build_context(runtime)
    latest = int(runtime.market.w3.eth.get_block("latest")["timestamp"])
    offer = runtime.market.place_order(a, Side.SELL, 10, 10**12, latest + 60)
    runtime.clock_s = lambda: latest  # the clock at the last block: the offer is live
    assert [o.id for o in open_board(ctx)] == [offer.id]
    runtime.clock_s = lambda: latest + 120  # two minutes on, no block made since
    assert open_board(ctx) == []
