"""Pure market core: order book, matching mechanisms (bulletin, continuous, auction), agents."""

from gridshare.market.agent import (
    AgentAction,
    AgentRules,
    CancelOrder,
    HouseState,
    PlaceOrder,
    decide,
    target,
)
from gridshare.market.auction import DEFAULT_INTERVAL_S, CallAuction, clear_auction
from gridshare.market.book import OrderBook
from gridshare.market.fill import Clearing, Fill, Withheld, proposals
from gridshare.market.mechanism import Bulletin, Continuous, Mechanism, is_tradable
from gridshare.market.replay import (
    MECHANISMS,
    book_from_orders,
    match_orders,
    mechanism_named,
    propose_matches,
)

__all__ = [
    "DEFAULT_INTERVAL_S",
    "MECHANISMS",
    "AgentAction",
    "AgentRules",
    "Bulletin",
    "CallAuction",
    "CancelOrder",
    "Clearing",
    "Continuous",
    "Fill",
    "HouseState",
    "Mechanism",
    "OrderBook",
    "PlaceOrder",
    "Withheld",
    "book_from_orders",
    "clear_auction",
    "decide",
    "is_tradable",
    "match_orders",
    "mechanism_named",
    "proposals",
    "propose_matches",
    "target",
]
