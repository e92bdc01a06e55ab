"""The explorer's read side: indexed data joined with live chain reads, as frozen views."""

from __future__ import annotations

import datetime as dt
import logging
from dataclasses import dataclass
from typing import Protocol

from gridshare.explorer.ledger import DeliveryState, OrderState, fold_delivery, fold_order
from gridshare.explorer.names import HouseNamer, Names
from gridshare.explorer.records import BlockRecord, Event, TxRecord
from gridshare.explorer.search import Candidate, search
from gridshare.explorer.store import ExplorerStore
from gridshare.explorer.words import Context, describe, describe_call, house_name
from gridshare.local_time import UTC

log = logging.getLogger(__name__)
PAGE_SIZE = 25


class LiveChain(Protocol):
    """Reads the explorer takes straight from the chain (None when the node does not answer)."""

    def chain_id(self) -> int | None: ...
    def gas_price(self) -> int | None: ...
    def head(self) -> int | None: ...
    def wallet_balance(self, address: str) -> int | None: ...
    def market_balances(self, address: str) -> tuple[int, int, int] | None: ...


@dataclass(frozen=True)
class Summary:
    chain_id: int | None
    head: int | None
    gas_price: int | None
    indexed: int | None
    blocks: tuple[BlockRecord, ...]
    transactions: tuple[TxRecord, ...]


@dataclass(frozen=True)
class Said:
    """An event and its sentence."""

    event: Event
    text: str


@dataclass(frozen=True)
class TxView:
    tx: TxRecord
    call_text: str | None
    events: tuple[Said, ...]
    block_timestamp: int | None


@dataclass(frozen=True)
class Paged:
    page: int
    pages: int
    total: int


@dataclass(frozen=True)
class AddressView:
    address: str
    name: str
    house_id: int | None
    meter_id: int | None
    active: bool | None
    wallet: int | None
    balances: tuple[int, int, int] | None
    transactions: tuple[TxRecord, ...]
    tx_page: Paged
    orders: tuple[OrderState, ...]
    order_page: Paged
    deliveries: tuple[DeliveryState, ...]
    delivery_page: Paged


def _paged(page: int, total: int) -> Paged:
    pages = max(1, -(-total // PAGE_SIZE))
    return Paged(min(max(page, 1), pages), pages, total)


class Explorer:
    """What the explorer pages and JSON API show."""

    def __init__(
        self, store: ExplorerStore, live: LiveChain, *, market: str, operator: str | None,
        symbol: str, house_namer: HouseNamer = house_name, zone: dt.tzinfo = UTC,
    ) -> None:
        self.store, self.live, self.symbol, self.zone = store, live, symbol, zone
        self.market, self.operator = market.lower(), operator
        self.house_namer = house_namer

    def names(self) -> Names:
        return Names(self.store, market=self.market, operator=self.operator,
                     house_namer=self.house_namer)

    def context(self, names: Names | None = None) -> Context:
        """Names and coin symbol for sentences; delivery sizes come from the index."""
        def amount(delivery_id: int) -> int | None:
            found = fold_delivery(delivery_id, self.store.delivery_events([delivery_id]), 0)
            return None if found is None else found.amount_wh
        return Context(self.symbol, names or self.names(), amount, self.zone)

    def now(self) -> int:
        last = self.store.last_block()
        return 0 if last is None else last.timestamp

    def summary(self, limit: int = 10) -> Summary:
        last = self.store.last_block()
        return Summary(
            self.live.chain_id(), self.live.head(), self.live.gas_price(),
            None if last is None else last.number,
            tuple(self.store.recent_blocks(limit)), tuple(self.store.recent_transactions(limit)),
        )

    def block(self, ref: str) -> tuple[BlockRecord, tuple[TxRecord, ...]] | None:
        """Block by number or 0x hash, with its transactions."""
        ref = ref.strip().lower()
        if ref.isascii() and ref.isdigit():  # "²".isdigit() is true, and int("١") is 1
            block = self.store.block(int(ref)) if len(ref) < 19 else None
        elif ref.startswith("0x"):
            block = self.store.block_by_hash(ref)
        else:
            block = None
        if block is None:
            return None
        return block, tuple(self.store.block_transactions(block.number))

    def transaction(self, tx_hash: str) -> TxView | None:
        tx = self.store.transaction(tx_hash)
        if tx is None:
            return None
        ctx = self.context()
        said = tuple(Said(e, describe(e, ctx)) for e in self.store.transaction_events(tx.hash))
        call_text = None if tx.call is None else describe_call(tx.call, ctx, tx.value)
        block = self.store.block(tx.block_number)
        return TxView(tx, call_text, said, None if block is None else block.timestamp)

    def address(self, address: str, tx_page: int = 1, order_page: int = 1,
                delivery_page: int = 1) -> AddressView:
        address = address.lower()
        names = self.names()
        house_id = names.house_id(address)
        meter_id, active = None, None
        if house_id is not None:
            registered = self.store.account_events(address, "HouseholdRegistered", 1, 0)
            deactivated = self.store.account_events(address, "HouseholdDeactivated", 1, 0)
            meter_id = int(registered[0].args["meter_id"]) if registered else None
            active = not deactivated or (
                bool(registered) and (registered[0].block_number, registered[0].log_index)
                > (deactivated[0].block_number, deactivated[0].log_index)
            )
        txp = _paged(tx_page, self.store.address_transaction_count(address))
        txs = self.store.address_transactions(address, PAGE_SIZE, (txp.page - 1) * PAGE_SIZE)
        orders, orp = self._orders(address, order_page)
        deliveries, dlp = self._deliveries(address, delivery_page)
        return AddressView(
            address, names(address), house_id, meter_id, active,
            self.live.wallet_balance(address), self.live.market_balances(address),
            tuple(txs), txp, orders, orp, deliveries, dlp,
        )

    def _orders(self, address: str, page: int) -> tuple[tuple[OrderState, ...], Paged]:
        paged = _paged(page, self.store.account_event_count(address, "OrderPlaced"))
        placed = self.store.account_events(address, "OrderPlaced", PAGE_SIZE,
                                           (paged.page - 1) * PAGE_SIZE)
        ids = [int(e.args["order_id"]) for e in placed]
        events = self.store.order_events(ids) if ids else []
        now = self.now()
        states = (fold_order(i, events, now) for i in ids)
        return tuple(s for s in states if s is not None), paged

    def _deliveries(self, address: str, page: int) -> tuple[tuple[DeliveryState, ...], Paged]:
        paged = _paged(page, self.store.account_event_count(address, "DeliveryCreated"))
        created = self.store.account_events(address, "DeliveryCreated", PAGE_SIZE,
                                            (paged.page - 1) * PAGE_SIZE)
        ids = [int(e.args["delivery_id"]) for e in created]
        events = self.store.delivery_events(ids) if ids else []
        now = self.now()
        states = (fold_delivery(i, events, now) for i in ids)
        return tuple(s for s in states if s is not None), paged

    def order(self, order_id: int) -> OrderState | None:
        return fold_order(order_id, self.store.order_events([order_id]), self.now())

    def delivery(self, delivery_id: int) -> DeliveryState | None:
        return fold_delivery(delivery_id, self.store.delivery_events([delivery_id]), self.now())

    def describe_all(self, events: tuple[Event, ...]) -> tuple[Said, ...]:
        ctx = self.context()
        return tuple(Said(e, describe(e, ctx)) for e in events)

    def search(self, query: str) -> list[Candidate]:
        return search(self.store, query)
