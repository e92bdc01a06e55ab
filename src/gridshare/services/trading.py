"""Place, take and cancel orders for residents, the CLI and agents: bad input refused up front.

Every check the contract would make is repeated here against the chain's current state, so a
resident gets a `TradingError` naming the field at fault instead of a reverted transaction; a
revert that still happens (a race with another trade) is turned into the same error.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterable
from dataclasses import replace

from eth_account.signers.local import LocalAccount
from web3 import Web3

from gridshare.chain.change_feed import ChangeFeed
from gridshare.chain.errors import ContractRevert
from gridshare.chain.market import EnergyMarket
from gridshare.domain import Delivery, Household, Order, OrderStatus, Side, coins_said

MAX_AMOUNT_WH = 10**9
MAX_PRICE_PER_WH = 10**24


class TradingError(Exception):
    """A trade was refused: `code` is stable, `field` names the input at fault (or None)."""

    def __init__(self, code: str, message: str, field: str | None = None) -> None:
        super().__init__(message)
        self.code = code
        self.message = message
        self.field = field

    @classmethod
    def from_revert(cls, revert: ContractRevert) -> TradingError:
        """The contract's refusal as a TradingError."""
        return cls(revert.code, revert.info.message, revert.field)


class TradingService:
    """Trading use cases over one market; `clock` gives chain time in seconds; refusals name
    amounts in `symbol` (the village's coin, as the pages show it)."""

    def __init__(
        self, market: EnergyMarket, clock: Callable[[], int], symbol: str = "coins"
    ) -> None:
        self.market = market
        self.clock = clock
        self.symbol = symbol
        self._lock = threading.Lock()
        self._tracked: dict[int, Order] = {}
        self._households: dict[str, Household | None] = {}
        self._registered: set[str] = set()  # every account ever registered as a household
        self._feed = ChangeFeed(market)  # the events since the view's block

    # -- writes --------------------------------------------------------------

    def place_order(
        self, signer: LocalAccount, side: Side, amount_wh: int, price_per_wh: int, ttl_s: int
    ) -> Order:
        """Post an offer (sell) or demand (buy) that expires `ttl_s` seconds from now."""
        self._check_place(signer, side, amount_wh, price_per_wh, ttl_s)
        try:
            order = self.market.place_order(
                signer, side, amount_wh, price_per_wh, self.clock() + ttl_s
            )
        except ContractRevert as exc:
            # a request that raced another (two buys spending one balance) was checked on the
            # state before; the state that refused it says why in the same words
            self._check_place(signer, side, amount_wh, price_per_wh, ttl_s)
            raise TradingError.from_revert(exc) from exc
        with self._lock:
            self._tracked[order.id] = order
        return order

    def take(self, signer: LocalAccount, order_id: int, amount_wh: int) -> Delivery:
        """Take `amount_wh` of another household's order at its price."""
        self._check_take(signer, order_id, amount_wh)
        try:
            return self.market.take(signer, order_id, amount_wh)
        except ContractRevert as exc:
            self._check_take(signer, order_id, amount_wh)  # as in place_order: a lost race
            raise TradingError.from_revert(exc) from exc

    def _check_place(
        self, signer: LocalAccount, side: Side, amount_wh: int, price_per_wh: int, ttl_s: int
    ) -> None:
        _check_amount(amount_wh)
        _check_price(price_per_wh, self.symbol)
        if ttl_s <= 0:
            raise TradingError("bad_ttl", "Time to live must be at least one second.", "ttl_s")
        self._check_active(signer.address)
        if side is Side.BUY:
            cost = amount_wh * price_per_wh
            available = self.market.balances(signer.address).available
            if available < cost:
                raise TradingError(
                    "insufficient_balance",
                    f"A buy of {amount_wh:,} Wh at {coins_said(price_per_wh)} {self.symbol}/Wh"
                    f" needs {coins_said(cost)} {self.symbol} available; you have"
                    f" {coins_said(available)}"
                    f" {self.symbol}.",
                    "amount_wh",
                )

    def _check_take(self, signer: LocalAccount, order_id: int, amount_wh: int) -> None:
        _check_amount(amount_wh)
        self._check_active(signer.address)
        order = self._live_order(order_id)
        if order.owner.lower() == signer.address.lower():
            raise TradingError("own_order", "You cannot trade with your own order.", "order_id")
        maker = self.market.household(order.owner)
        if maker is None or not maker.active:
            raise TradingError(
                "inactive_household",
                "The household that posted this order is deactivated.",
                "order_id",
            )
        if amount_wh > order.remaining_wh:
            raise TradingError(
                "bad_amount",
                f"Only {order.remaining_wh} Wh of order {order_id} are left.",
                "amount_wh",
            )
        if order.side is Side.SELL:
            cost = amount_wh * order.price_per_wh
            available = self.market.balances(signer.address).available
            if available < cost:
                raise TradingError(
                    "insufficient_balance",
                    f"Taking {amount_wh:,} Wh costs {coins_said(cost)} {self.symbol}; "
                    f"you have {coins_said(available)} {self.symbol} available.",
                    "amount_wh",
                )

    def cancel(self, signer: LocalAccount, order_id: int) -> None:
        """Cancel an open order (its owner any time; anyone once it has expired)."""
        order = self._existing_order(order_id)
        if order.status is not OrderStatus.OPEN:
            raise TradingError(
                "order_closed", "That order is already filled or cancelled.", "order_id"
            )
        mine = order.owner.lower() == signer.address.lower()
        if not mine and self.clock() < order.expires_at:
            raise TradingError(
                "not_owner", "Only the order's owner may cancel it before it expires.", "order_id"
            )
        try:
            self.market.cancel_order(signer, order_id)
        except ContractRevert as exc:
            raise TradingError.from_revert(exc) from exc
        with self._lock:
            self._tracked.pop(order_id, None)

    # -- reads ---------------------------------------------------------------

    def open_orders(self) -> list[Order]:
        """Live orders on chain (open, energy left, not expired), oldest first.

        The view is kept up to date from the market's events: while the chain's head is
        unchanged nothing is read; after new blocks only their order events are read (placed,
        filled, cancelled) and applied in chain order, with no contract call; a head that
        went back or forked (a snapshot revert, a re-organisation) starts the view over
        from the first block.
        """
        now = self.clock()
        with self._lock:
            self._sync()
            live: list[Order] = []
            for order_id in sorted(self._tracked):
                order = self._tracked[order_id]
                if order.is_live(now):
                    live.append(order)
                elif not order.locked_wei:  # an expired order never becomes live again;
                    del self._tracked[order_id]  # a buy is kept until cancelled (below)
            return live

    def expired_locking(self, limit: int) -> list[Order]:
        """Up to `limit` expired buy orders still open on chain, oldest first.

        Expiry alone unlocks nothing: a buy order holds `remaining_wh × price` of its owner's
        balance as locked until it is filled or cancelled, and anyone may cancel it once it
        has expired (`ExpiredOrderSweeper` does, for the operator).
        """
        now = self.clock()
        with self._lock:
            self._sync()
            expired = (o for _, o in sorted(self._tracked.items()) if not o.is_live(now))
            return [o for o in expired if o.locked_wei][:limit]

    def households(self, accounts: Iterable[str]) -> dict[str, Household | None]:
        """The household registered at each account (None if none), from the cached view."""
        with self._lock:
            self._sync()
            found: dict[str, Household | None] = {}
            for account in accounts:
                key = Web3.to_checksum_address(account)
                if key not in self._households:
                    self._households[key] = self.market.household(key)
                found[account] = self._households[key]
            return found

    def registered_accounts(self) -> frozenset[str]:
        """Every account the chain has registered as a household (checksummed), from the
        view: its household events since the first block."""
        with self._lock:
            self._sync()
            return frozenset(self._registered)

    @property
    def view_head(self) -> tuple[int, bytes] | None:
        """Number and hash of the block the view is up to."""
        return self._feed.head

    def _sync(self) -> None:
        """Bring the view up to the chain's head (caller holds the lock)."""
        polled = self._feed.poll()
        if polled is None:
            return
        changes, restart = polled
        if restart:  # first look, or history changed: start over
            self._tracked, self._households, self._registered = {}, {}, set()
        for account in changes.accounts:
            self._households.pop(account, None)
        self._registered |= changes.accounts
        for event in changes.orders:  # in chain order; closed orders never open again
            if event.placed is not None:
                self._tracked[event.order_id] = event.placed
            elif event.remaining_wh and event.order_id in self._tracked:
                order = self._tracked[event.order_id]
                self._tracked[event.order_id] = replace(order, remaining_wh=event.remaining_wh)
            else:  # cancelled, or filled to the last Wh
                self._tracked.pop(event.order_id, None)

    # -- checks --------------------------------------------------------------

    def _check_active(self, account: str) -> None:
        household = self.households([account])[account]
        if household is None:
            raise TradingError(
                "not_household", "This account is not a registered household.", "account"
            )
        if not household.active:
            raise TradingError(
                "inactive_household",
                "This household is deactivated and cannot trade.",
                "account",
            )

    def _existing_order(self, order_id: int) -> Order:
        order = self.market.order(order_id) if order_id > 0 else None
        if order is None:
            raise TradingError("no_order", f"There is no order #{order_id}.", "order_id")
        return order

    def _live_order(self, order_id: int) -> Order:
        order = self._existing_order(order_id)
        if order.status is not OrderStatus.OPEN or order.remaining_wh <= 0:
            raise TradingError(
                "order_closed", "That order is already filled or cancelled.", "order_id"
            )
        if self.clock() >= order.expires_at:
            raise TradingError("order_expired", "That order has expired.", "order_id")
        return order


def _check_amount(amount_wh: int) -> None:
    if not 0 < amount_wh <= MAX_AMOUNT_WH:
        raise TradingError(
            "bad_amount", f"Amount must be between 1 and {MAX_AMOUNT_WH:,} Wh.", "amount_wh"
        )


def _check_price(price_per_wh: int, symbol: str) -> None:
    if not 0 < price_per_wh <= MAX_PRICE_PER_WH:
        raise TradingError(
            "bad_price",
            f"Price per Wh must be above 0 and at most {coins_said(MAX_PRICE_PER_WH)} {symbol}.",
            "price_per_wh",
        )


