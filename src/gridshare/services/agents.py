"""Auto-trading agents: each interval, read each opted-in house and apply its rules.

What an agent needs about a house is `HouseReading`: battery state of charge, capacity and
the expected surplus/deficit over the next interval. The simulator gives all of it
(`GET /sim/house`); a real meter only reports V, I, W and counters, so a house whose reader
returns None is skipped for that interval (its orders stay as they are) and the reason is
kept in `AgentRunner.skipped`.

An agent manages only the orders it placed itself (`storage/agent_orders.py`): an order the
resident placed by hand is never counted, topped up or cancelled by it. It sees only live
orders; its expired buy orders are cancelled, and their coins unlocked, by the engine's
`ExpiredOrderSweeper` like anyone else's.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from typing import Protocol

import httpx
from eth_account.signers.local import LocalAccount

from gridshare.domain import Address, Wh
from gridshare.market import CancelOrder, HouseState, PlaceOrder, decide
from gridshare.services.trading import TradingError, TradingService
from gridshare.storage.agent_orders import AgentOrders
from gridshare.storage.deliveries import DeliveryRecord, DeliveryRepository
from gridshare.storage.households import HouseholdRecord, HouseholdRepository

log = logging.getLogger(__name__)


@dataclass(frozen=True, slots=True)
class HouseReading:
    """The part of a house's state the agent decides on (integers only)."""

    soc_permille: int
    capacity_wh: int
    net_wh: int


class KeyProvider(Protocol):
    """The signing key of a household's account, if the server may trade for it now."""

    def key_for(self, account: str) -> LocalAccount | None: ...


class StaticKeys:
    """Keys the server holds (simulated and demo households)."""

    def __init__(self, accounts: list[LocalAccount] | None = None) -> None:
        self._keys = {a.address.lower(): a for a in accounts or []}

    def add(self, account: LocalAccount) -> None:
        self._keys[account.address.lower()] = account

    def key_for(self, account: str) -> LocalAccount | None:
        return self._keys.get(account.lower())


HouseReader = Callable[[HouseholdRecord, int], HouseReading | None]


def sim_house_reader(timeout_s: float = 2.0) -> HouseReader:
    """Reads `GET /sim/house` from the household's meter; None for a real meter."""

    def read(house: HouseholdRecord, interval_s: int) -> HouseReading | None:
        try:
            reply = httpx.get(house.meter_url.rstrip("/") + "/sim/house", timeout=timeout_s)
        except httpx.HTTPError:
            return None
        if reply.status_code != 200:
            return None
        return reading_from_sim(reply.json(), interval_s)

    return read


def reading_from_sim(data: dict[str, float], interval_s: int) -> HouseReading:
    """A HouseReading from the simulator's house view (floats rounded at this edge)."""
    soc = min(max(float(data["soc"]), 0.0), 1.0)
    stored = float(data["stored_wh"])
    capacity = stored / soc if soc > 0 else 0.0
    net_w = float(data["pv_w"]) - float(data["load_w"])
    return HouseReading(round(soc * 1000), int(capacity), int(net_w * interval_s / 3600))


Undelivered = Mapping[str, tuple[int, int]]
"""Per account (lower case): Wh sold and Wh bought in deliveries not yet final."""


def undelivered(open_deliveries: Iterable[DeliveryRecord]) -> dict[str, tuple[int, int]]:
    """What each account has traded and its meters have not moved yet (sold, bought)."""
    totals: dict[str, tuple[int, int]] = {}
    for d in open_deliveries:
        left = max(d.amount_wh - d.delivered_wh, 0)
        seller, buyer = d.seller.lower(), d.buyer.lower()
        sold, bought = totals.get(seller, (0, 0))
        totals[seller] = (sold + left, bought)
        sold, bought = totals.get(buyer, (0, 0))
        totals[buyer] = (sold, bought + left)
    return totals


class AgentRunner:
    """Runs every opted-in household's rules once per `interval_s` of chain time."""

    def __init__(
        self,
        trading: TradingService,
        households: HouseholdRepository,
        keys: KeyProvider,
        read_house: HouseReader,
        interval_s: int,
        placed: AgentOrders,
        deliveries: DeliveryRepository,
    ) -> None:
        self.trading = trading
        self.households = households
        self.placed = placed
        self.deliveries = deliveries
        self.keys = keys
        self.read_house = read_house
        self.interval_s = interval_s
        self.skipped: dict[int, str] = {}
        self._last: int | None = None

    def tick(self, now: int) -> int:
        """Run the agents if an interval has begun; returns the actions taken."""
        if self._last is not None and now < self._last + self.interval_s:
            return 0
        self._last = now
        pending = undelivered(self.deliveries.open())
        return sum(self.run_house(h, now, pending) for h in self.households.auto_trading())

    def run_house(self, house: HouseholdRecord, now: int, pending: Undelivered) -> int:
        """Apply one household's rules now (`pending`: see `undelivered`); returns the
        actions taken."""
        rules = house.auto_trading
        signer = self.keys.key_for(house.account)
        if rules is None or signer is None:
            self.skipped[house.house_id] = "no key available"
            return 0
        on_chain = self.trading.households([house.account])[house.account]
        if on_chain is None or not on_chain.active:
            self.skipped[house.house_id] = "stopped by the operator"
            return 0
        reading = self.read_house(house, self.interval_s)
        if reading is None:
            self.skipped[house.house_id] = "meter gives no battery state"
            return 0
        self.skipped.pop(house.house_id, None)
        houses = tuple(
            o for o in self.trading.open_orders() if o.owner.lower() == house.account.lower()
        )
        self.placed.keep_only(house.house_id, (o.id for o in houses))
        placed = self.placed.of(house.house_id)
        mine = tuple(o for o in houses if o.id in placed)  # the resident's own are left alone
        state = HouseState(
            owner=Address(house.account),
            soc_permille=reading.soc_permille,
            capacity_wh=Wh(reading.capacity_wh),
            net_wh=reading.net_wh,
            open_orders=mine,
            now=now,
            undelivered_sold_wh=pending.get(house.account.lower(), (0, 0))[0],
            undelivered_bought_wh=pending.get(house.account.lower(), (0, 0))[1],
        )
        done = 0
        for action in decide(rules, state):
            try:
                if isinstance(action, CancelOrder):
                    self.trading.cancel(signer, action.order_id)
                elif isinstance(action, PlaceOrder):
                    order = self.trading.place_order(
                        signer, action.side, action.amount_wh, action.price_per_wh,
                        max(1, action.expires_at - now),
                    )
                    self.placed.add(house.house_id, order.id)
                done += 1
            except TradingError as exc:
                log.info("agent of house %d: %s (%s)", house.house_id, exc.message, exc.field)
        return done
