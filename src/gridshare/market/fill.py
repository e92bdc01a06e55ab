"""Fills: what a matching round decided, ready to become contract matches."""

from __future__ import annotations

from dataclasses import dataclass

from gridshare.domain import Address, MatchProposal, Wei, Wh


@dataclass(frozen=True, slots=True)
class Fill:
    """A buy order and a sell order of two different owners trading `amount_wh` at one price."""

    buy_id: int
    sell_id: int
    buyer: Address
    seller: Address
    amount_wh: Wh
    price_per_wh: Wei

    @property
    def cost(self) -> Wei:
        """What the buyer pays the seller (before metering)."""
        return Wei(self.amount_wh * self.price_per_wh)

    def proposal(self) -> MatchProposal:
        """The contract `match` arguments for this fill."""
        return MatchProposal(
            buy_id=self.buy_id,
            sell_id=self.sell_id,
            amount_wh=self.amount_wh,
            price_per_wh=self.price_per_wh,
        )


_new = object.__new__
_set_buy = vars(Fill)["buy_id"].__set__
_set_sell = vars(Fill)["sell_id"].__set__
_set_buyer = vars(Fill)["buyer"].__set__
_set_seller = vars(Fill)["seller"].__set__
_set_amount = vars(Fill)["amount_wh"].__set__
_set_price = vars(Fill)["price_per_wh"].__set__


def fast_fill(
    buy_id: int, sell_id: int, buyer: Address, seller: Address, amount_wh: int, price: int
) -> Fill:
    """Fill(...) without the frozen-dataclass __init__ cost (about half), for hot loops."""
    fill: Fill = _new(Fill)
    _set_buy(fill, buy_id)
    _set_sell(fill, sell_id)
    _set_buyer(fill, buyer)
    _set_seller(fill, seller)
    _set_amount(fill, amount_wh)
    _set_price(fill, price)
    return fill


@dataclass(frozen=True, slots=True)
class Withheld:
    """Volume a call auction allocated to an order but could only have traded with its owner."""

    order_id: int
    amount_wh: Wh


@dataclass(frozen=True, slots=True)
class Clearing:
    """The outcome of one call auction: price, volume, fills, and self-trade volume withheld."""

    price_per_wh: Wei | None
    volume_wh: Wh
    fills: tuple[Fill, ...]
    withheld: tuple[Withheld, ...]

    @property
    def traded_wh(self) -> Wh:
        """Energy that actually changes hands (volume minus withheld self-trades)."""
        return Wh(sum(f.amount_wh for f in self.fills))


def proposals(fills: tuple[Fill, ...] | list[Fill]) -> tuple[MatchProposal, ...]:
    """The contract `match`/`match_batch` arguments for `fills`, in order."""
    return tuple(f.proposal() for f in fills)
