"""The market engine: matcher, delivery orchestrator, trading agents and the sweeper of expired
buy orders on one background thread.

    engine = build_engine(runtime)          # or MarketEngine(...) with explicit parts
    engine.start(); ...; engine.stop()

`clock_s` is the clock the chain's blocks follow and the meters' reference (server time):
wall time by default; a simulation passes its simulated clock (and sets the embedded chain's
clock to the same one) so chain deadlines, meter deadlines and agent intervals agree.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable, Iterable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass

from eth_account.signers.local import LocalAccount

from gridshare.chain.market import EnergyMarket
from gridshare.market import mechanism_named
from gridshare.meters import ClockCounter, CommandCounter, MeterClient, MeterKey
from gridshare.services.agents import (
    AgentRunner,
    HouseReader,
    KeyProvider,
    StaticKeys,
    sim_house_reader,
)
from gridshare.services.backoff import MeterTrouble
from gridshare.services.chain_clock import ChainClock
from gridshare.services.matcher import Matcher, MatcherSettings
from gridshare.services.orchestrator import MapEach, Orchestrator, OrchestratorSettings
from gridshare.services.sweeper import ExpiredOrderSweeper
from gridshare.services.trading import TradingService
from gridshare.storage.agent_orders import AgentOrders
from gridshare.storage.database import Database
from gridshare.storage.deliveries import DeliveryRecord, DeliveryRepository
from gridshare.storage.households import HouseholdRepository

log = logging.getLogger(__name__)

METER_WORKERS = 8  # deliveries whose meters the running engine asks at the same time


@dataclass(frozen=True, slots=True)
class EngineSettings:
    """How the engine runs: mechanism, intervals and settlement tolerances."""

    mechanism: str = "continuous"
    auction_interval_s: int = 900
    agent_interval_s: int = 300
    tick_s: float = 0.2
    match_margin_s: int = 5
    loss_tolerance_percent: int = 15
    seller_allowance_percent: int = 10
    silent_wait_s: int = 0
    meter_timeout_s: float = 2.0
    meter_silence_ms: int = 60_000  # the meters' silence limit (OrchestratorSettings)


class MarketEngine:
    """Owns the background thread; every part is also usable (and tested) on its own."""

    def __init__(
        self,
        market: EnergyMarket,
        operator: LocalAccount,
        database: Database,
        settings: EngineSettings,
        *,
        keys: KeyProvider | None = None,
        clock_s: Callable[[], float] = time.time,
        read_house: HouseReader | None = None,
        counter: CommandCounter | None = None,
    ) -> None:
        self.settings = settings
        self.market = market
        self.operator = operator
        self.database = database
        self.clock = ChainClock(market.w3, clock_s)
        self._clock_s = clock_s
        self._keys: KeyProvider = keys or StaticKeys()
        self._read_house = read_house or sim_house_reader(settings.meter_timeout_s)
        self.households = HouseholdRepository(database)
        self.deliveries = DeliveryRepository(database)
        self.trading = TradingService(market, self.clock)
        self.matcher, self.orchestrator, self.agents = self._parts(database)
        self.sweeper = ExpiredOrderSweeper(self.trading, operator)
        self._clients: dict[int, tuple[tuple[str, str], MeterClient]] = {}
        self._counter: CommandCounter = counter or ClockCounter()
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self.errors = 0
        self.mechanism = settings.mechanism

    def set_mechanism(self, mechanism: str) -> None:
        """Match with `mechanism` (bulletin, continuous or auction) from the next round on."""
        mechanism_named(mechanism)  # refuses an unknown name before anything changes
        self.mechanism = mechanism

    def _parts(
        self, database: Database, map_each: MapEach = map
    ) -> tuple[Matcher, Orchestrator, AgentRunner]:
        """Matcher, orchestrator and agents working through `database`."""
        s = self.settings
        households = HouseholdRepository(database)
        deliveries = DeliveryRepository(database)
        matcher = Matcher(
            self.market, self.operator, self.trading, self.clock,
            MatcherSettings(s.mechanism, s.auction_interval_s, s.match_margin_s),
        )  # fmt: skip
        orchestrator = Orchestrator(
            self.market, self.operator, deliveries, households,
            self.meter_client, self.clock, self.clock_ms,
            OrchestratorSettings(s.loss_tolerance_percent, s.seller_allowance_percent,
                                 s.silent_wait_s, s.meter_silence_ms),
            map_each=map_each,
        )  # fmt: skip
        agents = AgentRunner(
            self.trading, households, self._keys, self._read_house, s.agent_interval_s,
            AgentOrders(database), deliveries,
        )
        return matcher, orchestrator, agents

    def clock_ms(self) -> int:
        """Server time in milliseconds (the meters' reference)."""
        return int(self._clock_s() * 1000)

    def meter_client(self, meter_id: int) -> MeterClient | None:
        """A signed client for the meter, from the household table (None if unknown)."""
        house = next(
            (h for h in self.orchestrator.households.all() if h.meter_id == meter_id), None
        )
        if house is None:
            return None
        ident = (house.meter_url, house.meter_key_hex)
        cached = self._clients.get(meter_id)
        if cached is not None and cached[0] == ident:
            return cached[1]
        if cached is not None:
            cached[1].close()
        client = MeterClient(
            house.meter_url,
            MeterKey.from_hex(meter_id, house.meter_key_hex),
            counter=self._counter,
            clock_ms=self.clock_ms,
            timeout=self.settings.meter_timeout_s,
        )
        self._clients[meter_id] = (ident, client)
        return client

    def tick(self) -> None:
        """One round of everything; a failing part is logged and retried next round."""
        self._tick(self.matcher, self.orchestrator, self.agents)

    def _tick(self, matcher: Matcher, orchestrator: Orchestrator, agents: AgentRunner) -> None:
        matcher.use(self.mechanism)
        for name, step in (
            ("matcher", matcher.tick),
            ("orchestrator", orchestrator.tick),
            ("agents", lambda: agents.tick(self.clock.next_block())),
            ("sweeper", self.sweeper.tick),
        ):
            if self._stop.is_set():
                return
            try:
                step()
            except Exception:
                self.errors += 1
                log.exception("market engine: %s round failed", name)

    def start(self) -> None:
        """Run `tick()` every `tick_s` seconds on a daemon thread until `stop()`."""
        if self._thread is not None:
            return
        self._stop.clear()
        self._thread = threading.Thread(target=self._run, name="market-engine", daemon=True)
        self._thread.start()

    def _run(self) -> None:
        # the thread's own connections (SQLite ones must be closed by the thread using them)
        database = Database(self.database.path)
        workers = ThreadPoolExecutor(METER_WORKERS, thread_name_prefix="meters")
        matcher, orchestrator, agents = self._parts(database, workers.map)
        self.orchestrator = orchestrator  # meter_client() reads households through it
        try:
            while not self._stop.is_set():
                started = time.monotonic()
                self._tick(matcher, orchestrator, agents)
                self._stop.wait(max(0.0, self.settings.tick_s - (time.monotonic() - started)))
        finally:
            workers.shutdown(wait=True)  # before the connections its threads opened close
            for _, client in self._clients.values():
                client.close()
            self._clients.clear()
            database.close()

    def stop(self) -> None:
        """Stop the thread (after its current round) and close the meter clients."""
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout=30)
            self._thread = None

    # -- queries for the web app ---------------------------------------------

    def delivery(self, delivery_id: int) -> DeliveryRecord | None:
        """The orchestrator's view of one delivery (phase, progress, decision)."""
        return self.deliveries.get(delivery_id)

    def deliveries_by_id(self, delivery_ids: Iterable[int]) -> dict[int, DeliveryRecord]:
        """The orchestrator's view of several deliveries (those it knows), by delivery id."""
        return self.deliveries.many(delivery_ids)

    def meter_troubles(self) -> dict[int, MeterTrouble]:
        """The meters whose last try failed, and why, by meter id (for the operator page)."""
        return self.orchestrator.backoff.troubles()

    def flagged_deliveries(self) -> list[DeliveryRecord]:
        """Deliveries flagged for the operator (meters disagreed or fell silent)."""
        return self.deliveries.flagged()
