"""The simulation loop: one clock for physics, meters, agents, matcher, deliveries and chain.

Simulated time lives in the MeterSim's clock. The embedded chain is opened with a clock that
reads it, so every block (orders, matches, settlements) carries simulated time, and order
expiries, delivery deadlines and auction intervals follow it; the meters get it as server time.
The market side is the server's own: the `Matcher` clears the agents' orders and the
delivery `Orchestrator` (with its engine tables in the data directory) starts deliveries on
the meters, polls their signed reports and settles on `settlement_rules`, exactly as in the
market engine; its meter clients are the in-process links to the firmware.
Per market interval: agents act and the matcher runs a round (chain), the orchestrator
starts the new deliveries, then the physics and firmware step through the interval while
the orchestrator polls the meters and settles finished deliveries every `poll_s` (the round
at an interval's end is the one after the next interval's agents, or the final one).
"""

from __future__ import annotations

import shutil
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, cast

from gridshare.meters import MeterClient
from gridshare.services.backoff import MeterBackoff
from gridshare.services.chain_clock import ChainClock
from gridshare.services.matcher import Matcher, MatcherSettings
from gridshare.services.orchestrator import Orchestrator, OrchestratorSettings
from gridshare.sim.community import Community
from gridshare.sim.meter_sim import MeterSim, SimSettings
from gridshare.sim.scenarios import Scenario, neelum_valley
from gridshare.simulation.accounting import EnergyLedger, EnergyRow, run_without_trading
from gridshare.simulation.meter_link import in_process_client
from gridshare.simulation.settlements import SettledTrade, SettlementLog
from gridshare.simulation.traders import HouseOutlook, Traders, default_rules
from gridshare.simulation.world import World, build_world
from gridshare.storage.database import Database
from gridshare.storage.deliveries import DeliveryRepository, Phase
from gridshare.storage.households import HouseholdRecord, HouseholdRepository

PER_KWH = 10**15  # one coin per kWh, in wei per Wh

Progress = Callable[[int, int, float], None]


@dataclass(frozen=True, slots=True)
class SimulationConfig:
    """What to simulate and how finely."""

    houses: int = 10
    days: int = 1
    market: str = "continuous"
    seed: int = 1
    step_s: int = 10
    interval_s: int = 900
    poll_s: int = 60
    """Seconds between orchestrator rounds. The server's run every 0.2 s; the longer they are
    here, the longer a meter whose delivery has finished waits for its next one."""
    deposit_coins: int = 10_000
    scenario: Scenario | None = None
    data_dir: Path | None = None

    def __post_init__(self) -> None:
        if self.market not in ("bulletin", "continuous", "auction"):
            raise ValueError("market: must be bulletin, continuous or auction")
        houses = self.houses if self.scenario is None else len(self.scenario.houses)
        if houses < 1 or self.days < 1:
            raise ValueError("houses, days: must each be at least 1")
        if self.interval_s < 1:
            raise ValueError("interval_s: must be at least 1")
        if self.step_s < 1 or self.interval_s % self.step_s:
            raise ValueError("step_s: must be a whole divisor of interval_s")
        if self.poll_s < self.step_s or self.poll_s % self.step_s:
            raise ValueError("poll_s: must be a multiple of step_s")

    def resolved_scenario(self) -> Scenario:
        return self.scenario or neelum_valley(self.houses, self.seed)


@dataclass
class SimulationResult:
    """Everything a run produced, for the report writer and the tests."""

    config: SimulationConfig
    scenario: Scenario
    rows: list[EnergyRow]
    baseline_rows: list[EnergyRow]
    line_loss_mwh: list[int]
    trades: list[SettledTrade]
    clearing: list[tuple[int, int | None, int]]
    market_address: str
    chain_dir: Path | None
    blocks: int
    max_chain_lead_s: int
    orders_placed: int
    wall_s: float
    deliveries: dict[str, dict[str, int]] = field(default_factory=dict)
    """At the end of the run, per phase of the server's delivery table: count and agreed Wh."""
    interval_starts: list[int] = field(default_factory=list)


def _forecast_wh(community: Community, hid: int, t0_ms: int, span_ms: int) -> int:
    """PV minus load over the coming interval (the agent's perfect one-interval forecast)."""
    pv, load = community.profiles[hid]
    step = pv.step_s * 1000
    total = sum(pv.at(t) - load.at(t) for t in range(t0_ms, t0_ms + span_ms, step))
    return int(total * pv.step_s / 3600)


def run_simulation(config: SimulationConfig, progress: Progress | None = None) -> SimulationResult:
    """Run the whole simulation; the chain lives in config.data_dir (or a removed temp dir)."""
    wall0 = time.monotonic()
    scenario = config.resolved_scenario()
    specs = list(scenario.houses)
    ids = [s.house_id for s in specs]
    step_ms = config.step_s * 1000
    silence_ms = 3 * config.poll_s * 1000  # the meters', and so the orchestrator's
    community = Community(specs, scenario.start, site=scenario.site, days=config.days)
    sim = MeterSim(
        SimSettings(houses=len(specs), sample_ms=step_ms, silence_ms=silence_ms,
                    seed=config.seed, start=scenario.start),
        specs, community,
    )
    for m in sim.meters:  # the board samples every step: integrate over the whole step
        cast(Any, m.meter).integrator.max_gap_ms = max(2000, step_ms)
    epoch_ms = int(scenario.start.timestamp()) * 1000

    def sim_s() -> float:
        return (epoch_ms + sim.clock.now_ms()) / 1000

    data_dir = config.data_dir or Path(tempfile.mkdtemp(prefix="gridshare-sim-"))
    world: World | None = None
    try:  # the temporary chain goes even if a stop signal comes while it is being built
        world = build_world(data_dir, ids, sim_s, deposit_coins=config.deposit_coins,
                            seed=config.seed)
        clients = {
            m.entry.meter_id: in_process_client(
                m.entry, m.meter, sim.clock.now_ms, lambda: world.now() * 1000
            )
            for m in sim.meters
        }

        def close_clients() -> None:
            for c in clients.values():
                c.close()

        world.closers.append(close_clients)
        database = Database(data_dir / "engine.sqlite3", synchronous="NORMAL")
        world.closers.append(database.close)
        households = HouseholdRepository(database)
        for m in sim.meters:
            households.save(HouseholdRecord(
                m.entry.house_id, f"House {m.entry.house_id}",
                world.accounts[m.entry.house_id].address, m.entry.meter_id, m.entry.url,
                m.entry.key.hex, None,
            ))
        clock = ChainClock(world.w3, sim_s)
        matcher = Matcher(world.market, world.operator, world.trading, clock,
                          MatcherSettings(config.market, config.interval_s))
        deliveries = DeliveryRepository(database)
        orchestrator = Orchestrator(
            world.market, world.operator, deliveries, households, clients.get, clock,
            lambda: world.now() * 1000, OrchestratorSettings(meter_silence_ms=silence_ms),
            MeterBackoff(clock=sim_s),  # simulated time: runs don't depend on the machine
        )
        traders = Traders(world, matcher, default_rules(ids, config.seed, PER_KWH),
                          seed=config.seed)
        settled = SettlementLog(
            world.market, deliveries,
            {a.address: hid for hid, a in world.accounts.items()}, traders.created_at,
        )
        market = _Market(traders, orchestrator, settled, clients)
        result = _loop(config, sim, community, world, market, progress)
        result.scenario = scenario
        base_rows, _ = run_without_trading(
            Community(specs, scenario.start, site=scenario.site, days=config.days,
                      profiles=community.profiles),
            config.days * 86_400 // config.step_s, step_ms, config.interval_s // config.step_s,
        )
        result.baseline_rows = base_rows
        result.chain_dir = config.data_dir
        result.wall_s = time.monotonic() - wall0
        return result
    finally:
        if world is not None:
            world.close()
        if config.data_dir is None:
            shutil.rmtree(data_dir, ignore_errors=True)


@dataclass
class _Market:
    """The server's market parts as the loop drives them, and what they settled."""

    traders: Traders
    orchestrator: Orchestrator
    settled: SettlementLog
    clients: dict[int, MeterClient]

    def round(self) -> None:
        """One orchestrator round (starts, polls, settlements), then read the settlements."""
        self.orchestrator.tick()
        self.settled.collect()

    def finish(self) -> None:
        """End of the run: stop running deliveries on the buyers' meters and settle them."""
        self.orchestrator.follow_events()
        for r in self.orchestrator.deliveries.open():
            if r.phase is Phase.RUNNING and r.buyer_meter is not None:
                self.clients[r.buyer_meter].stop(r.delivery_id)
        self.round()


def _loop(
    config: SimulationConfig,
    sim: MeterSim,
    community: Community,
    world: World,
    market: _Market,
    progress: Progress | None,
) -> SimulationResult:
    step_ms = config.step_s * 1000
    interval_ms = config.interval_s * 1000
    intervals = config.days * 86_400 // config.interval_s
    steps = interval_ms // step_ms
    poll_every = config.poll_s * 1000 // step_ms
    epoch = world.now()  # genesis: the scenario's start
    ledger = EnergyLedger(community)
    rows: list[EnergyRow] = []
    traders = market.traders
    starts: list[int] = []
    lead = 0
    wall0 = time.monotonic()
    for k in range(intervals):
        t0 = sim.clock.now_ms()
        starts.append(epoch + t0 // 1000)
        outlooks = {
            hid: HouseOutlook(
                soc_permille=round(st.soc * 1000),
                capacity_wh=int(st.battery.spec.capacity_wh),
                net_wh=_forecast_wh(community, hid, t0, interval_ms),
            )
            for hid, st in community.states.items()
        }
        traders.act(outlooks)
        market.round()  # also the previous interval's last poll; new deliveries start
        for n in range(1, steps + 1):
            sim.step()
            ledger.after_step(step_ms)
            if n % poll_every == 0 and n < steps:
                market.round()
        lead = max(lead, world.now() - (epoch + sim.clock.now_ms() // 1000))
        rows += ledger.close_interval(k)
        if progress is not None:
            progress(k + 1, intervals, time.monotonic() - wall0)
    market.finish()
    return SimulationResult(
        config=config, scenario=cast(Scenario, None), rows=rows, baseline_rows=[],
        line_loss_mwh=ledger.line_loss_mwh, trades=market.settled.trades,
        clearing=traders.clearing_prices,
        market_address=world.market.address, chain_dir=None, blocks=world.chain.block_number,
        max_chain_lead_s=lead, orders_placed=traders.orders_placed, wall_s=0.0,
        deliveries={
            phase.value: {"count": count, "wh": wh}
            for phase, (count, wh) in market.orchestrator.deliveries.totals_by_phase().items()
        },
        interval_starts=starts,
    )
