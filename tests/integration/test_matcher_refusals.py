"""A match the contract refuses lets the rest of its batch through, and a round that made
nothing is not repeated until the chain changes (a refused match used to be re-sent on
every tick, five times a second, each time running the EVM)."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from gridshare.config import Settings
from gridshare.domain import WEI_PER_COIN, Side
from gridshare.runtime import Runtime, build_runtime
from gridshare.services.chain_clock import ChainClock
from gridshare.services.matcher import Matcher, MatcherSettings
from gridshare.services.trading import TradingService
from tests.integration.trading_support import register_households

FAR = 2**40
PRICE = 10**12


@pytest.fixture
def runtime(tmp_path: Path) -> Iterator[Runtime]:
    runtime = build_runtime(Settings(data_dir=tmp_path, market_engine=False))
    yield runtime
    runtime.close()


def test_a_refused_match_lets_the_others_through_and_waits_for_the_chain_to_change(
    runtime: Runtime, monkeypatch: pytest.MonkeyPatch
) -> None:
    households, (a, b, c) = register_households(runtime, 3)
    households.deposit_for(b.address, 10 * WEI_PER_COIN)
    market = runtime.market
    trading = TradingService(market, ChainClock(market.w3))
    matcher = Matcher(market, runtime.operator, trading, ChainClock(market.w3), MatcherSettings())
    gone = market.place_order(c, Side.SELL, 10, PRICE, FAR)
    market.cancel_order(c, gone.id)
    # the book as a server that missed the cancel would see it: `gone` still open, and cheapest
    live = trading.open_orders
    monkeypatch.setattr(trading, "open_orders", lambda: sorted([*live(), gone], key=lambda o: o.id))
    sends: list[str] = []
    for name in ("match_batch", "match"):
        method = getattr(market, name)

        def counted(*args: Any, _name: str = name, _method: Any = method, **kw: Any) -> Any:
            sends.append(_name)
            return _method(*args, **kw)

        monkeypatch.setattr(market, name, counted)

    offer = market.place_order(a, Side.SELL, 10, 2 * PRICE, FAR)
    bid = market.place_order(b, Side.BUY, 20, 2 * PRICE, FAR)
    (delivery,) = matcher.tick()  # the batch is refused; `offer` still matches, `gone` not
    assert (str(delivery.seller), str(delivery.buyer), int(delivery.amount_wh)) == (
        a.address, b.address, 10)
    assert sends == ["match_batch", "match", "match"]

    sends.clear()
    assert matcher.tick() == []  # the chain moved: `gone` is tried once more, and refused
    assert sends == ["match_batch", "match"]
    sends.clear()
    for _ in range(5):
        assert matcher.tick() == []
    assert sends == []  # nothing on chain changed: nothing re-sent

    market.place_order(a, Side.SELL, 10, 2 * PRICE, FAR)  # a new block
    matcher.tick()
    assert sends == ["match_batch", "match"]  # the chain changed: the round runs again
    assert market.order(bid.id) is not None and offer.id < bid.id
