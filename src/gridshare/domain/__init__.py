"""Pure domain types: units, orders, deliveries, households. Imports no framework."""

from gridshare.domain.market import (
    Balances,
    Delivery,
    DeliveryStatus,
    Household,
    MatchProposal,
    Order,
    OrderStatus,
    Settlement,
    Side,
    settle_amounts,
)
from gridshare.domain.units import (
    WEI_PER_COIN,
    Address,
    Wei,
    Wh,
    coins_said,
    coins_to_wei,
    format_coins,
)

__all__ = [
    "WEI_PER_COIN",
    "Address",
    "Balances",
    "Delivery",
    "DeliveryStatus",
    "Household",
    "MatchProposal",
    "Order",
    "OrderStatus",
    "Settlement",
    "Side",
    "Wei",
    "Wh",
    "coins_said",
    "coins_to_wei",
    "format_coins",
    "settle_amounts",
]
