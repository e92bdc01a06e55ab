"""The delivery orchestrator: DeliveryCreated -> both meters -> verified reports -> settle.

State lives in the `deliveries` table and every step is idempotent, so a restart resumes
from the table, the chain and the meters: a start the meter already has answers 409 and is
taken as done (once its role, target and deadline show it is the same delivery); a
settlement or expiry already on chain is read back instead of re-sent (and the outbox's
idempotency keys stop a half-sent transaction from being applied twice).

Time: chain deadlines are chain seconds; a meter gets `deadline_ms` on the server's clock
(`clock_ms`, the meters' reference), mapped as now_ms + (deadline - chain_now) * 1000.

Meters are asked in parallel when `map_each` is a thread pool's map, as the engine's running
thread gives it (`engine.METER_WORKERS` workers, one delivery each): the meters of running
deliveries, and of the deliveries a round starts, are all different, so no two workers talk
to one meter. Asked one after another, a few meters on weak Wi-Fi answering just inside
their timeout held up every other meter's poll (3.8 s between polls of a healthy meter with
two slow ones), and about sixteen would have passed the meters' 60 s silence and tripped
every running delivery's fail-safe. Settlement and expiry stay on the engine's thread. The
built-in `map` (the default, and the simulator's) asks them one after another.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from eth_account.signers.local import LocalAccount

from gridshare.chain.errors import ChainError, ContractRevert
from gridshare.chain.market import EnergyMarket
from gridshare.domain import DeliveryStatus, Wh
from gridshare.meters import (
    MeterClient,
    MeterError,
    MeterRejected,
    MeterUnreachable,
    Role,
    meter_problem,
    seller_cap_wh,
)
from gridshare.meters.reports import DeliveryReport
from gridshare.services.backoff import MeterBackoff
from gridshare.services.chain_clock import ChainClock
from gridshare.services.settlement_rules import (
    Flag,
    Metered,
    energy_not_arriving,
    settle_after_silence,
    settle_on_reports,
)
from gridshare.storage.deliveries import DeliveryRecord, DeliveryRepository, Phase
from gridshare.storage.households import HouseholdRepository

log = logging.getLogger(__name__)

CURSOR = "delivery_created"
MAX_BATCH = 50
NOT_FOUND = 404
# the flag of a delivery stopped because its energy went elsewhere, as its settlement flags it
NOT_ARRIVING = Flag.LOSS_ABOVE_TOLERANCE


class Forgotten:
    """A meter answered 404 for a delivery it was given: it restarted (its deliveries live in
    RAM), so no report of it will ever come."""


FORGOTTEN = Forgotten()
Report = DeliveryReport | Forgotten | None
MapEach = Callable[
    [Callable[[DeliveryRecord], DeliveryRecord], Iterable[DeliveryRecord]],
    Iterable[DeliveryRecord],
]
"""How `tick` runs one step for several deliveries: `map`, or a thread pool's `map`."""


@dataclass(frozen=True, slots=True)
class OrchestratorSettings:
    """Loss tolerance, export allowance, and how long to wait for a silent meter."""

    loss_tolerance_percent: int = 15
    seller_allowance_percent: int = 10
    silent_wait_s: int = 0
    """After the deadline, seconds to keep waiting for a final buyer report (< grace)."""
    meter_silence_ms: int = 60_000
    """The meters' silence limit (`gridshare meter flash --silence-s`), on `clock_ms`: a
    meter that hears no command for that long opens its relay. A buyer's meter unheard for
    that long has stopped taking the energy, so the seller's meter is stopped too, instead of
    sending, unpaid, until the deadline."""
    log_block_range: int = 5000


class Orchestrator:
    """Moves every delivery to exactly one final state; call `tick()` repeatedly."""

    def __init__(
        self,
        market: EnergyMarket,
        operator: LocalAccount,
        deliveries: DeliveryRepository,
        households: HouseholdRepository,
        meter_client: Callable[[int], MeterClient | None],
        clock: ChainClock,
        clock_ms: Callable[[], int],
        settings: OrchestratorSettings,
        backoff: MeterBackoff | None = None,
        map_each: MapEach = map,
    ) -> None:
        self.market = market
        self.operator = operator
        self.deliveries = deliveries
        self.households = households
        self.meter_client = meter_client
        self.clock = clock
        self.clock_ms = clock_ms
        self.settings = settings
        self.backoff = backoff or MeterBackoff()
        self._timing_at: tuple[tuple[int, str] | None, int] | None = None  # (head, grace)
        self.map_each = map_each
        # running deliveries whose buyer's meter has not answered since (clock_ms), by id
        self._buyer_unheard: dict[int, int] = {}

    def tick(self) -> None:
        """One pass: new events, meter starts and polls, settlements, expiries."""
        self.follow_events()
        records = self.deliveries.open()
        if not records:
            return
        now = self.clock.next_block()
        grace = self._grace()
        # polls first, so a meter whose delivery just finished starts its next one this round
        polled = self._each([r for r in records if r.phase is Phase.RUNNING], "poll",
                            self._poll, now)
        records = [polled.get(r.delivery_id, r) for r in records]
        busy = {
            meter
            for r in records
            if r.phase is Phase.RUNNING  # (a RUNNING delivery always has both meters)
            for meter in (r.buyer_meter, r.seller_meter)
            if meter is not None
        }
        starting = []
        for r in records:  # in order: each meter takes its deliveries first come, first served
            if r.phase is not Phase.PENDING or now >= r.deadline:
                continue
            if r.buyer_meter is None or r.seller_meter is None:
                continue
            if r.buyer_meter not in busy and r.seller_meter not in busy:
                busy.update((r.buyer_meter, r.seller_meter))
                starting.append(r)
        started = self._each(starting, "start", self._start, now)
        records = [started.get(r.delivery_id, r) for r in records]
        ready: list[DeliveryRecord] = []
        overdue: list[DeliveryRecord] = []
        for r in records:
            if r.phase is Phase.READY:
                ready.append(r)
            elif not r.phase.final and now > r.deadline + grace:
                overdue.append(r)
        self.settle(ready)
        for r in overdue:
            self._guarded(r, "expiry", self._expire, r)

    def _each(
        self, records: Sequence[DeliveryRecord], step: str,
        run: Callable[..., DeliveryRecord | None], *args: Any,
    ) -> dict[int, DeliveryRecord]:
        """`run(r, *args)` for each delivery (guarded), in parallel when there are several:
        each delivery's record after it, by delivery id."""
        def one(r: DeliveryRecord) -> DeliveryRecord:
            return self._guarded(r, step, run, r, *args)

        done = [one(r) for r in records] if len(records) < 2 else self.map_each(one, records)
        return {r.delivery_id: r for r in done}

    def _guarded(
        self, r: DeliveryRecord, step: str, run: Callable[..., DeliveryRecord | None], *args: Any
    ) -> DeliveryRecord:
        """`run(*args)` for one delivery; if it raises, `r` unchanged and the round goes on.

        Meter failures are handled inside the steps; this is for the unforeseen (a bug, a
        database error), so one delivery can never hold up the others' starts and polls. Its
        meters are left alone as after a failed try, so the line is logged once per back-off
        step rather than every tick.
        """
        try:
            return run(*args) or r
        except Exception as exc:  # any failure of one delivery: logged, the round goes on
            meters = [m for m in (r.buyer_meter, r.seller_meter) if m is not None]
            why = f"{step} failed: {type(exc).__name__}: {exc}"
            wait = max((self.backoff.failed(m, why) for m in meters), default=0.0)
            log.warning("delivery %d: %s failed (%s: %s); its meters %s wait %.1f s",
                        r.delivery_id, step, type(exc).__name__, exc, meters, wait)
            log.debug("delivery %d: %s failed", r.delivery_id, step, exc_info=True)
            return r

    def _grace(self) -> int:
        """The contract's settlement grace, read again only when the chain has moved."""
        head = self.clock.head
        if self._timing_at is None or head is None or self._timing_at[0] != head:
            self._timing_at = (head, self.market.timing()[1])
        return self._timing_at[1]

    # -- events --------------------------------------------------------------

    def follow_events(self) -> int:
        """Record deliveries created since the cursor; returns how many were new."""
        latest = int(self.market.w3.eth.block_number)
        start = (self.deliveries.cursor(CURSOR) or -1) + 1
        added = 0
        while start <= latest:
            end = min(latest, start + self.settings.log_block_range - 1)
            logs = self.market.w3.eth.get_logs(
                {
                    "address": self.market.checksum,
                    "fromBlock": start,
                    "toBlock": end,
                    "topics": [self.market.topic("DeliveryCreated")],
                }
            )
            created = self.market.decoded(logs, "DeliveryCreated")
            records = [self._record(event["args"]) for event in created]
            self.deliveries.add_all(records, CURSOR, end)
            added += len(records)
            start = end + 1
        return added

    def _record(self, args: Mapping[str, Any]) -> DeliveryRecord:
        a = args
        buyer = self.households.by_account(str(a["buyer"]))
        seller = self.households.by_account(str(a["seller"]))
        return DeliveryRecord(
            delivery_id=int(a["delivery_id"]),
            buyer=str(a["buyer"]),
            seller=str(a["seller"]),
            amount_wh=int(a["amount_wh"]),
            price_per_wh=int(a["price_per_wh"]),
            deadline=int(a["deadline"]),
            buyer_meter=None if buyer is None else buyer.meter_id,
            seller_meter=None if seller is None else seller.meter_id,
            phase=Phase.PENDING,
            note=None if buyer and seller else "household has no meter on this server",
        )

    # -- meters --------------------------------------------------------------

    def _start(self, r: DeliveryRecord, now: int) -> DeliveryRecord:
        """Start a delivery on both meters (`tick` chose it: its meters hold no other)."""
        assert r.buyer_meter is not None and r.seller_meter is not None
        buyer, seller = self._client(r.buyer_meter), self._client(r.seller_meter)
        if buyer is None or seller is None:
            return r
        deadline_ms = self.clock_ms() + (r.deadline - now) * 1000
        cap = seller_cap_wh(Wh(r.amount_wh), self.settings.seller_allowance_percent)
        starts = ((seller, Role.EXPORT, cap), (buyer, Role.IMPORT, r.amount_wh))
        client = seller
        try:
            for client, role, target in starts:  # neither starts while either holds another
                _check_not_held(client, r.delivery_id, role, target, deadline_ms)
            for client, role, target in starts:
                _start_once(client, r.delivery_id, role, target, deadline_ms)
                self.backoff.answered(client.meter_id)
        except MeterHoldsAnother as exc:
            self._failed(client, exc, f"delivery {r.delivery_id}: not started")
            flagged = r.with_(flag=Flag.METER_CONFLICT, note=f"meter {client.meter_id}: {exc}")
            if flagged != r:
                self.deliveries.save(flagged)
            return flagged
        except MeterError as exc:
            self._failed(client, exc, f"delivery {r.delivery_id}: not started yet")
            return r
        cleared = {"flag": None, "note": None} if r.flag == Flag.METER_CONFLICT else {}
        r = r.with_(phase=Phase.RUNNING, **cleared)
        self.deliveries.save(r)
        return r

    def _poll(self, r: DeliveryRecord, now: int) -> DeliveryRecord:
        buyer_meter, seller_meter = r.buyer_meter, r.seller_meter
        assert buyer_meter is not None and seller_meter is not None
        before = r
        # a meter left alone after failing to answer counts as not answering this tick
        buyer_client = self._client(buyer_meter)
        buyer_report = self._report(buyer_client, r.delivery_id)
        if isinstance(buyer_report, DeliveryReport):
            r = r.with_(**_figures("buyer", buyer_report))
        seller_client = self._client(seller_meter)
        seller_report = self._report(seller_client, r.delivery_id)
        if FORGOTTEN in (buyer_report, seller_report):
            r = self._after_restart(
                r, now, (buyer_client, buyer_report), (seller_client, seller_report)
            )
            if r != before:  # unchanged while the other meter is still being stopped
                self.deliveries.save(r)
            return r
        if (r.buyer_final and isinstance(seller_report, DeliveryReport)
                and not seller_report.final):
            stopped = self._stop(seller_client, r.delivery_id)
            seller_report = stopped if isinstance(stopped, DeliveryReport) else seller_report
        if isinstance(seller_report, DeliveryReport):
            r = r.with_(**_figures("seller", seller_report))
        if self._buyer_silent_too_long(r, buyer_report is None):
            stopped = self._stop(seller_client, r.delivery_id)
            if isinstance(stopped, DeliveryReport):
                r = r.with_(**_figures("seller", stopped))
        # only meters that answered this round: a missed poll leaves an old figure behind
        answered_buyer = buyer_client if isinstance(buyer_report, DeliveryReport) else None
        answered_seller = seller_client if isinstance(seller_report, DeliveryReport) else None
        if not (r.buyer_final and r.seller_final) and (
            r.flag == NOT_ARRIVING  # stopped in an earlier round; a meter did not answer then
            or (answered_buyer is not None and answered_seller is not None and energy_not_arriving(
                Metered(before.buyer_mwh, before.seller_mwh),
                Metered(r.buyer_mwh, r.seller_mwh),
                self.settings.loss_tolerance_percent,
            ))
        ):
            r = self._stop_not_arriving(r, answered_buyer, answered_seller)
        if r.buyer_final and (r.seller_final or now > r.deadline):
            seller_mwh = r.seller_mwh if r.seller_final else None
            assert r.buyer_mwh is not None
            decision = settle_on_reports(
                r.amount_wh, r.buyer_mwh, seller_mwh, self.settings.loss_tolerance_percent
            )
            r = r.with_(phase=Phase.READY, settle_wh=decision.delivered_wh, flag=decision.flag)
        elif not r.buyer_final and now > r.deadline + self.settings.silent_wait_s:
            self._stop(seller_client, r.delivery_id)
            silent = settle_after_silence(r.amount_wh, r.buyer_mwh, r.seller_mwh)
            if silent is not None:
                r = r.with_(phase=Phase.READY, settle_wh=silent.delivered_wh, flag=silent.flag)
            else:
                r = r.with_(flag=Flag.METER_SILENT, note="no energy reported: left to expire")
        if r.phase is not Phase.RUNNING:
            self._buyer_unheard.pop(r.delivery_id, None)
        if r != before:
            self.deliveries.save(r)
        return r

    def _buyer_silent_too_long(self, r: DeliveryRecord, unheard: bool) -> bool:
        """Whether to stop the seller's meter now: the buyer's has not answered for the
        meters' silence limit (so its own fail-safe has opened its relay), and the seller's
        still runs. Counted from the first poll it missed, in this process."""
        if not unheard or r.buyer_final:
            self._buyer_unheard.pop(r.delivery_id, None)
            return False
        now_ms = self.clock_ms()
        since = self._buyer_unheard.setdefault(r.delivery_id, now_ms)
        if r.seller_final or now_ms - since < self.settings.meter_silence_ms:
            return False
        log.warning("delivery %d: the buyer's meter has not answered for %d s, so it no longer"
                    " takes the energy; stopping the seller's meter", r.delivery_id,
                    (now_ms - since) // 1000)
        return True

    def _stop_not_arriving(
        self, r: DeliveryRecord, buyer: MeterClient | None, seller: MeterClient | None
    ) -> DeliveryRecord:
        """Stop, on both meters, a delivery whose energy goes elsewhere on the bus
        (`energy_not_arriving`); their final reports settle it on what the buyer received,
        flagged. `None` for a meter that did not answer this round's poll: it, and a meter
        that does not answer the stop, is stopped in a later round."""
        if r.flag != NOT_ARRIVING:
            log.warning("delivery %d: the seller's meter sent %s mWh, the buyer's took in only"
                        " %s, and the gap grows: the energy goes elsewhere on the bus; stopping"
                        " it on both meters", r.delivery_id, r.seller_mwh, r.buyer_mwh)
            r = r.with_(flag=NOT_ARRIVING, note="stopped early: the seller's energy was not"
                        " reaching the buyer's meter (it went elsewhere on the bus)")
        if not r.seller_final and seller is not None:  # first: the energy leaves from there
            report = self._stop(seller, r.delivery_id)
            if isinstance(report, DeliveryReport):
                r = r.with_(**_figures("seller", report))
        if not r.buyer_final and buyer is not None:
            report = self._stop(buyer, r.delivery_id)
            if isinstance(report, DeliveryReport):
                r = r.with_(**_figures("buyer", report))
        return r

    def _after_restart(
        self,
        r: DeliveryRecord,
        now: int,
        buyer: tuple[MeterClient | None, Report],
        seller: tuple[MeterClient | None, Report],
    ) -> DeliveryRecord:
        """A meter restarted and forgot the delivery: stop it on the other meter and settle now
        on the last verified figures (as after silence; 0 Wh, a full refund, if no energy was
        ever reported), instead of holding both meters until the deadline.

        Only once the other meter has stopped it too (a final report, or it forgot it as well)
        or the deadline has passed (the meter stops itself then): until then the delivery stays
        running and the stop is tried again next round, so a meter does not go on moving energy
        for a delivery already paid for.
        """
        figures: dict[str, object] = {}
        stopped_everywhere = True
        for side, (client, report) in (("buyer", buyer), ("seller", seller)):
            if isinstance(report, DeliveryReport) and not report.final:
                stopped = self._stop(client, r.delivery_id)
                report = stopped if stopped is not None else report
            if isinstance(report, DeliveryReport):
                figures[f"{side}_mwh"] = report.delivery.delivered_mwh
            stopped_everywhere &= report is FORGOTTEN or (
                isinstance(report, DeliveryReport) and report.final
            )
        r = r.with_(**figures)
        if not stopped_everywhere and now <= r.deadline:
            return r.with_(note="a meter restarted and forgot it; stopping it on the other")
        decision = settle_after_silence(r.amount_wh, r.buyer_mwh, r.seller_mwh)
        settle_wh = 0 if decision is None else decision.delivered_wh
        log.warning("delivery %d: a meter restarted and forgot it; settling on the last"
                    " reports: %d of %d Wh", r.delivery_id, settle_wh, r.amount_wh)
        return r.with_(phase=Phase.READY, settle_wh=settle_wh, flag=Flag.METER_RESTARTED)

    def _client(self, meter_id: int) -> MeterClient | None:
        """The meter's client; None if unknown, or while a meter that failed is left alone."""
        if not self.backoff.ready(meter_id):
            return None
        return self.meter_client(meter_id)

    def _failed(self, client: MeterClient, exc: MeterError, context: str) -> None:
        """Leave a meter that failed alone for a while, whatever the failure, and say so once.

        A meter that answers wrongly (bad signature, garbage, an error status such as 404
        after a reboot) fails again on the next tick just as a silent one does.
        """
        wait = self.backoff.failed(client.meter_id, f"{context}: {exc}", meter_problem(exc))
        log.warning("%s: meter %d of %s: %s; next try in %.1f s",
                    context, client.meter_id, self._house(client.meter_id), exc, wait)

    def _house(self, meter_id: int) -> str:
        """Which household a meter belongs to, for log lines."""
        house = next((h for h in self.households.all() if h.meter_id == meter_id), None)
        return "no household" if house is None else f"house {house.house_id} ({house.name})"

    def _report(self, client: MeterClient | None, delivery_id: int) -> Report:
        """The meter's verified report on a delivery; FORGOTTEN if the meter does not know it
        (it answered, so it is not left alone); None if it cannot give one now."""
        if client is None:
            return None
        try:
            report = client.delivery(delivery_id)
        except MeterRejected as exc:
            if exc.status != NOT_FOUND:
                self._failed(client, exc, f"delivery {delivery_id}: no report")
                return None
            self.backoff.answered(client.meter_id)
            return FORGOTTEN
        except MeterError as exc:
            self._failed(client, exc, f"delivery {delivery_id}: no report")
            return None
        self.backoff.answered(client.meter_id)
        return report

    def _stop(self, client: MeterClient | None, delivery_id: int) -> Report:
        """Stop a delivery on a meter; its final report, FORGOTTEN if the meter does not know
        it (nothing to stop), or None if the meter cannot answer."""
        if client is None:
            return None
        try:
            report = client.stop(delivery_id)
        except MeterUnreachable as exc:
            self._failed(client, exc, f"delivery {delivery_id}: not stopped")
            return None
        except MeterError:  # refused or unreadable: its report (which backs off if it fails too)
            return self._report(client, delivery_id)
        self.backoff.answered(client.meter_id)
        return report

    # -- chain ---------------------------------------------------------------

    def settle(self, ready: list[DeliveryRecord]) -> None:
        """Settle READY deliveries: batches of up to 50, one by one if a batch is refused."""
        todo = [r for r in ready if self._still_pending(r)]
        for i in range(0, len(todo), MAX_BATCH):
            batch = todo[i : i + MAX_BATCH]
            pairs = [(r.delivery_id, int(r.settle_wh or 0)) for r in batch]
            key = "settle:" + ",".join(f"{d}={w}" for d, w in pairs)
            try:
                self.market.settle_batch(self.operator, pairs, key=key)
            except ChainError as exc:
                log.warning("settle batch refused (%s); settling one by one", exc)
                for r in batch:
                    self._settle_one(r)
                continue
            self.deliveries.save_all([r.with_(phase=Phase.SETTLED) for r in batch])
            for r in batch:
                _log_settled(r)

    def _settle_one(self, r: DeliveryRecord) -> None:
        wh = int(r.settle_wh or 0)
        try:
            self.market.settle(self.operator, r.delivery_id, wh, key=f"settle:{r.delivery_id}={wh}")
        except ChainError as exc:
            log.warning("delivery %d not settled: %s", r.delivery_id, exc)
            self._still_pending(r)
            return
        self.deliveries.save(r.with_(phase=Phase.SETTLED))
        _log_settled(r)

    def _expire(self, r: DeliveryRecord) -> None:
        if not self._still_pending(r):
            return
        for meter in (r.buyer_meter, r.seller_meter):
            if meter is not None:
                self._stop(self._client(meter), r.delivery_id)
        try:
            self.market.expire(self.operator, r.delivery_id, key=f"expire:{r.delivery_id}")
        except ContractRevert as exc:
            log.warning("delivery %d not expired: %s", r.delivery_id, exc.reason)
            self._still_pending(r)
            return
        except ChainError as exc:
            log.warning("delivery %d not expired: %s", r.delivery_id, exc)
            return
        never_started = r.flag is None and r.phase is Phase.PENDING  # only its phase says so
        self.deliveries.save(r.with_(phase=Phase.EXPIRED,
                                     flag=Flag.NOT_STARTED if never_started else r.flag))
        log.info("delivery %d expired unsettled: the buyer's escrow was refunded", r.delivery_id)

    def _still_pending(self, r: DeliveryRecord) -> bool:
        """True if the chain still has the delivery pending; else records its final state."""
        on_chain = self.market.delivery(r.delivery_id)
        if on_chain is None or on_chain.status is DeliveryStatus.PENDING:
            return on_chain is not None
        phase = Phase.SETTLED if on_chain.status is DeliveryStatus.SETTLED else Phase.EXPIRED
        self.deliveries.save(r.with_(phase=phase, settle_wh=int(on_chain.delivered_wh)))
        return False


# how far apart two deadlines of one start may be: the chain deadline is mapped to the meters'
# clock again on every try (now_ms + seconds left), so a retried start's differs a little
SAME_START_MS = 120_000


class MeterHoldsAnother(MeterError):
    """The meter already has a delivery under this id that is not this one: one from before
    the server's records were restored from a backup (the chain numbers deliveries again)."""


def _check_not_held(
    client: MeterClient, delivery_id: int, role: Role, target_wh: int, deadline_ms: int
) -> None:
    """Raise MeterHoldsAnother if the meter has a delivery under this id that is not this one
    (role, target, deadline within SAME_START_MS); none, or this one (an earlier start whose
    answer was lost), is fine. Checked on both meters before either is started, so that
    neither moves energy for a delivery the other cannot take, and the old one's figures are
    never taken for this one's."""
    try:
        held = client.delivery(delivery_id).delivery
    except MeterRejected as exc:
        if exc.status == NOT_FOUND:
            return
        raise
    same = (held.role, held.target_wh) == (role, target_wh)
    if not same or abs(held.deadline_ms - deadline_ms) > SAME_START_MS:
        raise MeterHoldsAnother(
            f"it already holds another delivery {delivery_id} ({held.role.value}"
            f" {held.target_wh} Wh, {held.state.value}), from before a restore:"
            " restart that meter so it forgets it"
        )


def _start_once(
    client: MeterClient, delivery_id: int, role: Role, target_wh: int, deadline_ms: int
) -> None:
    """Start a delivery on a meter; one it already has (409 duplicate) counts as started
    (`_check_not_held` has just found it to be this one)."""
    try:
        client.start_delivery(delivery_id, role, target_wh, deadline_ms)
    except MeterRejected as exc:
        if exc.status != 409 or "full" in exc.message:
            raise


def _figures(side: str, report: DeliveryReport) -> dict[str, object]:
    """What a meter's report says of its `side` ("buyer" or "seller") of a delivery, as record
    fields: the mWh it metered, whether it is final, and (once final) why the meter ended it."""
    d = report.delivery
    return {f"{side}_mwh": d.delivered_mwh, f"{side}_final": report.final,
            f"{side}_end": d.reason if report.final else None}


def _log_settled(r: DeliveryRecord) -> None:
    """One line for the operator's log: what a delivery was settled on, and why if flagged."""
    why = f" (flagged: {r.note or r.flag})" if r.flag else ""
    log.info("delivery %d settled: %d of %d Wh paid%s", r.delivery_id, r.settle_wh or 0,
             r.amount_wh, why)  # fmt: skip
