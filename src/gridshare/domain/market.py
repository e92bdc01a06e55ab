"""Orders, deliveries, households and balances as the market contract defines them."""

from __future__ import annotations

from dataclasses import dataclass
from enum import Enum, IntEnum

from gridshare.domain.units import Address, Wei, Wh


class Side(Enum):
    """Which way an order trades energy."""

    BUY = "buy"
    SELL = "sell"

    @property
    def opposite(self) -> Side:
        return Side.SELL if self is Side.BUY else Side.BUY


class OrderStatus(IntEnum):
    """Lifecycle of an order on chain (values match the contract)."""

    OPEN = 1
    FILLED = 2
    CANCELLED = 3


class DeliveryStatus(IntEnum):
    """Lifecycle of a delivery on chain (values match the contract)."""

    PENDING = 1
    SETTLED = 2
    EXPIRED = 3


@dataclass(frozen=True, slots=True)
class Household:
    """A registered account: which house and meter it is, and whether it may trade."""

    account: Address
    house_id: int
    meter_id: int
    active: bool


@dataclass(frozen=True, slots=True)
class Balances:
    """An account's internal market balances, in wei."""

    available: Wei
    locked: Wei
    escrowed: Wei

    @property
    def total(self) -> Wei:
        return Wei(self.available + self.locked + self.escrowed)


@dataclass(frozen=True, slots=True)
class Order:
    """An offer (sell) or demand (buy) resting on the market."""

    id: int
    owner: Address
    side: Side
    amount_wh: Wh
    remaining_wh: Wh
    price_per_wh: Wei
    expires_at: int
    status: OrderStatus

    def is_live(self, now: int) -> bool:
        """Open, with energy left, and not yet expired at `now`."""
        return self.status is OrderStatus.OPEN and self.remaining_wh > 0 and now < self.expires_at

    @property
    def locked_wei(self) -> Wei:
        """What a buy order still holds locked from its owner's balance."""
        if self.side is Side.BUY and self.status is OrderStatus.OPEN:
            return Wei(self.remaining_wh * self.price_per_wh)
        return Wei(0)


@dataclass(frozen=True, slots=True)
class Delivery:
    """Energy the seller owes the buyer, paid for from escrow once metered."""

    id: int
    buyer: Address
    seller: Address
    amount_wh: Wh
    price_per_wh: Wei
    deadline: int
    status: DeliveryStatus
    delivered_wh: Wh

    @property
    def escrow(self) -> Wei:
        return Wei(self.amount_wh * self.price_per_wh)

    @property
    def paid(self) -> Wei:
        """What the buyer paid the seller: the Wh settled at the price (the contract's
        `paid`); nothing while pending or once expired."""
        if self.status is DeliveryStatus.SETTLED:
            return Wei(self.delivered_wh * self.price_per_wh)
        return Wei(0)


@dataclass(frozen=True, slots=True)
class MatchProposal:
    """A pairing of a buy and a sell order the operator asks the contract to execute."""

    buy_id: int
    sell_id: int
    amount_wh: Wh
    price_per_wh: Wei


@dataclass(frozen=True, slots=True)
class Settlement:
    """What a settled delivery moved: energy metered, seller's pay, buyer's refund."""

    delivery_id: int
    delivered_wh: Wh
    paid: Wei
    refunded: Wei


def settle_amounts(delivery: Delivery, delivered_wh: int) -> Settlement:
    """Split a delivery's escrow pro rata on the metered energy (capped at the traded amount)."""
    if delivered_wh < 0:
        raise ValueError("delivered_wh must be >= 0")
    metered = min(delivered_wh, delivery.amount_wh)
    paid = metered * delivery.price_per_wh
    return Settlement(
        delivery_id=delivery.id,
        delivered_wh=Wh(metered),
        paid=Wei(paid),
        refunded=Wei(delivery.escrow - paid),
    )
