"""What the web routes share, built once per app from the runtime: services, sessions, caches."""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from typing import cast
from zoneinfo import ZoneInfo

from fastapi import FastAPI, Request

from gridshare.chain.change_feed import ChangeFeed
from gridshare.chain.market import EnergyMarket, OrderEvent
from gridshare.config import Settings
from gridshare.domain import Delivery, DeliveryStatus, Order, OrderStatus, Wh
from gridshare.runtime import Runtime
from gridshare.services.accounts import AccountService
from gridshare.services.backoff import MeterTrouble
from gridshare.services.chain_clock import ChainClock
from gridshare.services.engine import MarketEngine
from gridshare.services.hashing import COSTS
from gridshare.services.households import HouseholdService
from gridshare.services.sessions import SessionStore
from gridshare.services.trading import TradingService
from gridshare.storage.agent_orders import AgentOrders
from gridshare.storage.households import HouseholdRepository
from gridshare.storage.keyed_locks import KeyedLocks
from gridshare.storage.request_keys import RequestKeys
from gridshare.storage.users import UserStore
from gridshare.web.live_streams import LiveStreams
from gridshare.web.readings import ReadingCache
from gridshare.web.security import LoginLimiter

OPERATOR_USERNAME = "operator"

log = logging.getLogger(__name__)


class History:
    """Every order and delivery on chain. Orders follow the market's events (nothing is read
    while no block is made); deliveries are read once each, pending ones again now and then."""

    def __init__(self, market: EnergyMarket) -> None:
        self.market = market
        self._lock = threading.Lock()
        self._orders: dict[int, Order] = {}
        self._feed = ChangeFeed(market)
        self._deliveries: dict[int, Delivery] = {}
        self._pending_read = 0.0

    PENDING_TTL_S = 2.0  # pending deliveries are re-read at most this often

    def orders(self) -> list[Order]:
        """All orders, oldest first, as of the chain's head."""
        with self._lock:
            polled = self._feed.poll()
            if polled is not None:
                changes, restart = polled
                if restart:
                    self._orders = {}
                for event in changes.orders:
                    self._apply(event)
            return [self._orders[k] for k in sorted(self._orders)]

    def _apply(self, event: OrderEvent) -> None:
        if event.placed is not None:
            self._orders[event.order_id] = event.placed
            return
        known = self._orders.get(event.order_id)
        if known is None:
            return
        if event.remaining_wh is None:
            self._orders[event.order_id] = replace(  # as the contract stores it
                known, remaining_wh=Wh(0), status=OrderStatus.CANCELLED
            )
        else:
            filled = OrderStatus.FILLED if event.remaining_wh == 0 else OrderStatus.OPEN
            self._orders[event.order_id] = replace(
                known, remaining_wh=event.remaining_wh, status=filled
            )

    def deliveries(self) -> list[Delivery]:
        """All deliveries, oldest first, pending ones refreshed."""
        with self._lock:
            count = self.market.delivery_count()
            refresh = time.monotonic() - self._pending_read >= self.PENDING_TTL_S
            if refresh:
                self._pending_read = time.monotonic()
            for delivery_id in range(1, count + 1):
                known = self._deliveries.get(delivery_id)
                if known is None or (refresh and known.status is DeliveryStatus.PENDING):
                    delivery = self.market.delivery(delivery_id)
                    if delivery is not None:
                        self._deliveries[delivery_id] = delivery
            return [self._deliveries[k] for k in sorted(self._deliveries)]


@dataclass
class WebContext:
    """The web layer's services over one runtime."""

    runtime: Runtime
    users: UserStore
    accounts: AccountService
    sessions: SessionStore
    limiter: LoginLimiter
    trading: TradingService
    households: HouseholdService
    history: History
    requests: RequestKeys
    agent_orders: AgentOrders
    delivery_window_s: int
    mechanism: str
    lock: threading.Lock = field(default_factory=threading.Lock)
    password_locks: KeyedLocks = field(default_factory=KeyedLocks)  # one change at a time
    readings: ReadingCache = field(default_factory=ReadingCache)
    streams: LiveStreams = field(default_factory=LiveStreams)
    on_mechanism: Callable[[str], None] | None = None
    engine: MarketEngine | None = None
    clock: ChainClock = field(init=False)

    def __post_init__(self) -> None:
        self.clock = ChainClock(self.runtime.chain.w3, lambda: self.runtime.clock_s())

    def now(self) -> int:
        """Chain time in seconds: the next block's, by the runtime's clock (the simulated
        one in a demo, which runs ahead of the last block) and never before the last block."""
        return self.clock.next_block()

    @property
    def zone(self) -> ZoneInfo:
        """The village's time zone (pages show times and count days in it)."""
        return self.runtime.settings.zone

    def set_mechanism(self, mechanism: str) -> None:
        """Record the operator's choice of matching mechanism (the engine reads `mechanism`)."""
        self.users.set_pref("market_mechanism", mechanism)
        self.mechanism = mechanism
        if self.on_mechanism is not None:
            self.on_mechanism(mechanism)

    def engine_flags(self) -> dict[int, str]:
        """The market engine's flags by delivery id (meters disagreed, fell silent, ...)."""
        engine = self.engine
        if engine is None:
            return {}
        return {r.delivery_id: r.flag for r in engine.flagged_deliveries() if r.flag}

    def meter_troubles(self) -> dict[int, MeterTrouble]:
        """The meters the engine could not use on its last try, and why, by meter id."""
        engine = self.engine
        return {} if engine is None else engine.meter_troubles()

    def created_at(self, delivery: Delivery) -> int:
        """When a delivery was created (its deadline minus the delivery window)."""
        return delivery.deadline - self.delivery_window_s


def _mechanism(chosen: str | None, settings: Settings) -> str:
    """The mechanism the operator chose on /operator (kept across restarts), else the
    setting's; a setting given that the choice overrides is said at start."""
    if chosen is None:
        return settings.market_mechanism
    if "market_mechanism" in settings.model_fields_set and chosen != settings.market_mechanism:
        log.warning("GRIDSHARE_MARKET_MECHANISM=%s is not used: the operator chose %s on "
                    "/operator, which is kept until chosen again there",
                    settings.market_mechanism, chosen)
    return chosen


def build_context(runtime: Runtime) -> WebContext:
    """Wire the web services from the runtime (the operator login is created on first start)."""
    users = UserStore(runtime.database)
    settings = runtime.settings
    accounts = AccountService(users, cost=COSTS[settings.password_work])
    accounts.ensure_operator(
        OPERATOR_USERNAME, settings.development_password, runtime.operator.address
    )
    ctx = WebContext(
        runtime=runtime,
        users=users,
        accounts=accounts,
        sessions=SessionStore(),
        limiter=LoginLimiter(),
        trading=TradingService(runtime.market, lambda: 0, settings.coin_symbol),
        households=HouseholdService(
            runtime.market, runtime.operator, HouseholdRepository(runtime.database),
            settings.coin_symbol,
        ),
        history=History(runtime.market),
        requests=RequestKeys(runtime.database),
        agent_orders=AgentOrders(runtime.database),
        delivery_window_s=runtime.market.timing()[0],
        mechanism=_mechanism(users.pref("market_mechanism"), settings),
        readings=ReadingCache(counter=runtime.meter_counter),
    )
    ctx.trading.clock = ctx.now
    return ctx


def install_context(app: FastAPI, runtime: Runtime) -> WebContext:
    """The app's WebContext, built on the first call (api and pages both call this)."""
    existing = getattr(app.state, "web", None)
    if existing is None:
        existing = build_context(runtime)
        engine = getattr(app.state, "market_engine", None)
        if engine is not None:  # the operator's stored choice drives the running matcher
            existing.engine = engine
            existing.on_mechanism = engine.set_mechanism
            engine.set_mechanism(existing.mechanism)
        app.state.web = existing
    return cast(WebContext, existing)


def get_context(request: Request) -> WebContext:
    """FastAPI dependency: the app's WebContext."""
    return cast(WebContext, request.app.state.web)
