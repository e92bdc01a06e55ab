"""The market's changes since the last look, for views kept up to date from events."""

from __future__ import annotations

from gridshare.chain.market import EnergyMarket, MarketChanges


class ChangeFeed:
    """Reads the order and household events of the blocks made since the previous `poll`.

    While the chain's head is unchanged nothing is read. A head that went back or forked (a
    snapshot revert, a re-organisation) starts over from the first block, and `poll` says so,
    so the view built on it starts over too. Not thread-safe: its owner holds a lock.
    """

    def __init__(self, market: EnergyMarket) -> None:
        self.market = market
        self.head: tuple[int, bytes] | None = None
        """Number and hash of the last block read."""

    def poll(self) -> tuple[MarketChanges, bool] | None:
        """(the new blocks' changes, whether they start from the first block), or None."""
        head = self.market.head()
        if head == self.head:
            return None
        seen = self.head
        restart = (
            seen is None or seen[0] >= head[0] or self.market.block_hash(seen[0]) != seen[1]
        )
        changes = self.market.changes(0 if restart or seen is None else seen[0] + 1, head[0])
        self.head = head
        return changes, restart
