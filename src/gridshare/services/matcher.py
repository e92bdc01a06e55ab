"""The matcher: open orders from the chain, the configured mechanism, match_batch in chunks.

Only orders the contract would still match go in: owners must be active households, and
`now` is the next block's timestamp plus a safety margin, so an order expiring before the
batch is mined is left out. `auction` clears once per interval of chain time.
"""

from __future__ import annotations

import hashlib
import logging
from collections.abc import Sequence
from dataclasses import dataclass, replace

from eth_account.signers.local import LocalAccount

from gridshare.chain.errors import ChainError, ContractRevert
from gridshare.chain.market import EnergyMarket
from gridshare.domain import Delivery, MatchProposal, Order
from gridshare.market import mechanism_named, propose_matches
from gridshare.services.chain_clock import ChainClock
from gridshare.services.trading import TradingService

log = logging.getLogger(__name__)

MAX_BATCH = 50


@dataclass(frozen=True, slots=True)
class MatcherSettings:
    """Which mechanism, how often an auction clears, how far ahead `now` is taken."""

    mechanism: str = "continuous"
    auction_interval_s: int = 900
    margin_s: int = 5


def chunks(items: Sequence[MatchProposal], size: int = MAX_BATCH) -> list[list[MatchProposal]]:
    """`items` in consecutive chunks of at most `size`."""
    return [list(items[i : i + size]) for i in range(0, len(items), size)]


def batch_key(batch: Sequence[MatchProposal]) -> str:
    """The outbox idempotency key of one match batch (same matches, same key)."""
    text = ";".join(f"{p.buy_id},{p.sell_id},{p.amount_wh},{p.price_per_wh}" for p in batch)
    return "match:" + hashlib.sha256(text.encode()).hexdigest()[:32]


class Matcher:
    """One matching round per `tick()`."""

    def __init__(
        self,
        market: EnergyMarket,
        operator: LocalAccount,
        trading: TradingService,
        clock: ChainClock,
        settings: MatcherSettings,
    ) -> None:
        self.market = market
        self.operator = operator
        self.trading = trading
        self.clock = clock
        self.settings = settings
        self.mechanism = mechanism_named(settings.mechanism, settings.auction_interval_s)
        self._last_auction: int | None = None
        self._matched_head: tuple[int, bytes] | None = None  # chain head of a fruitless round

    def use(self, mechanism: str) -> None:
        """Switch to another mechanism from the next round on (the operator's choice)."""
        if mechanism == self.settings.mechanism:
            return
        self.mechanism = mechanism_named(mechanism, self.settings.auction_interval_s)
        self.settings = replace(self.settings, mechanism=mechanism)
        self._last_auction = None
        self._matched_head = None

    def due(self, now: int) -> bool:
        """Whether a round should run at chain time `now`."""
        if self.settings.mechanism == "bulletin":
            return False
        if self.settings.mechanism != "auction":
            return True
        interval = now // self.settings.auction_interval_s
        if self._last_auction is None:
            self._last_auction = interval
            return False
        return interval > self._last_auction

    def tradable_orders(self, now: int, book: list[Order] | None = None) -> list[Order]:
        """Live orders at `now` (of `book`, or the chain's) whose owners are active households."""
        orders = [o for o in (self.trading.open_orders() if book is None else book)
                  if o.is_live(now)]  # fmt: skip
        households = self.trading.households({o.owner for o in orders})
        return [o for o in orders if (h := households[o.owner]) is not None and h.active]

    def tick(self) -> list[Delivery]:
        """Run one round if due; returns the deliveries it created."""
        now = self.clock.next_block() + self.settings.margin_s
        if not self.due(now):
            return []
        book = self.trading.open_orders()
        head = self.trading.view_head
        if self.settings.mechanism == "continuous" and head == self._matched_head:
            # nothing happened on chain since a round that left nothing to match; time alone
            # only expires orders, which cannot make a new match
            return []
        if self.settings.mechanism == "auction":
            self._last_auction = now // self.settings.auction_interval_s
        proposals = propose_matches(self.tradable_orders(now, book), self.mechanism, now)
        created: list[Delivery] = []
        for batch in chunks(proposals):
            try:
                created.extend(
                    self.market.match_batch(self.operator, batch, key=batch_key(batch))
                )
            except ContractRevert as exc:
                # the book moved under us (a take or cancel): the matches still valid go in
                log.warning("match batch refused (%s); matching one by one", exc.reason)
                created.extend(self._one_by_one(batch))
            except ChainError as exc:
                log.warning("match batch not sent: %s", exc)  # the node: try next round
                return created
        # a round that made nothing (all refused, too) waits for the chain to change: a refused
        # match is not retried on every tick
        self._matched_head = None if created else head
        return created

    def _one_by_one(self, batch: Sequence[MatchProposal]) -> list[Delivery]:
        created: list[Delivery] = []
        for proposal in batch:
            try:
                created.append(
                    self.market.match(self.operator, proposal, key="one-" + batch_key([proposal]))
                )
            except ContractRevert as exc:
                log.info("match %d/%d refused: %s", proposal.buy_id, proposal.sell_id,
                         exc.reason)  # fmt: skip
        return created
