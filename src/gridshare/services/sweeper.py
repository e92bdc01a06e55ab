"""Expired buy orders give their coins back: the operator cancels them.

A buy order locks `remaining_wh × price` of its owner's balance until it is filled or cancelled;
its expiry alone unlocks nothing (a contract cannot act by itself). So a resident whose offer
to buy expired untaken, or an agent's, had those coins shown as "locked in orders" for good, with
nothing on the pages to free them. The contract lets anyone cancel an order once it has expired;
each engine round this cancels up to `per_round` of them, oldest first, and the coins are
available to their owner again (the OrderCancelled event says how much was unlocked).
"""

from __future__ import annotations

import logging

from eth_account.signers.local import LocalAccount

from gridshare.services.trading import TradingError, TradingService

log = logging.getLogger(__name__)


class ExpiredOrderSweeper:
    """Cancels expired buy orders (their owners' locked coins) with the operator's key."""

    def __init__(self, trading: TradingService, operator: LocalAccount, per_round: int = 20):
        self.trading = trading
        self.operator = operator
        self.per_round = per_round

    def tick(self) -> int:
        """Cancel what expired since the last round; returns how many orders were cancelled."""
        done = 0
        for order in self.trading.expired_locking(self.per_round):
            try:
                self.trading.cancel(self.operator, order.id)
            except TradingError as exc:  # filled or cancelled by its owner meanwhile
                log.info("expired order %d left as it is: %s", order.id, exc.message)
                continue
            done += 1
            log.info("expired order %d cancelled: %d wei back to its owner", order.id,
                     order.locked_wei)
        return done
