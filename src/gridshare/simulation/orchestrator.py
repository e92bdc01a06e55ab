"""Deliveries in the simulation: tell both meters, watch the buyer's, settle on metered Wh.

`Deliveries` is the seam the driver calls; `MeterOrchestrator` is the in-process version
used until the server's delivery orchestrator can be driven the same way. It follows the
architecture's flow: start "import N Wh" on the buyer's meter and "export N Wh + loss cap"
on the seller's; when the buyer's signed report is final, stop the seller and settle the
buyer's metered whole Wh (capped at the traded amount) through `settle_batch`.
"""

from __future__ import annotations

import contextlib
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Protocol

from eth_account.signers.local import LocalAccount

from gridshare.chain import EnergyMarket
from gridshare.domain import Address, Delivery
from gridshare.meters import MeterClient, Role, seller_cap_wh
from gridshare.meters.errors import MeterRejected

SETTLE_BATCH = 50


@dataclass(frozen=True, slots=True)
class SettledTrade:
    """One delivery from creation to settlement, as the report and trades.csv show it."""

    delivery_id: int
    buyer_house: int
    seller_house: int
    amount_wh: int
    price_per_wh: int
    created_at: int
    deadline: int
    settled_at: int
    delivered_wh: int
    paid: int
    refunded: int
    buyer_metered_mwh: int
    seller_metered_mwh: int
    outcome: str


class Deliveries(Protocol):
    """What the driver needs from a delivery orchestrator."""

    def start(self, deliveries: Sequence[Delivery], now: int) -> None:
        """Queue new deliveries on their meters."""
        ...

    def poll(self, now: int, *, final: bool = False) -> list[SettledTrade]:
        """Settle the deliveries whose buyer report is final (all of them when `final`)."""
        ...


@dataclass
class _Pending:
    delivery: Delivery
    created_at: int
    buyer: int
    seller: int
    refused: bool = False


class MeterOrchestrator:
    """Drives deliveries through in-process MeterClients and settles them in batches."""

    def __init__(
        self,
        market: EnergyMarket,
        operator: LocalAccount,
        clients: Mapping[int, MeterClient],
        houses: Mapping[Address, int],
    ) -> None:
        self.market = market
        self.operator = operator
        self.clients = clients
        self.houses = houses
        self.pending: dict[int, _Pending] = {}

    def start(self, deliveries: Sequence[Delivery], now: int) -> None:
        for d in deliveries:
            p = _Pending(d, now, self.houses[d.buyer], self.houses[d.seller])
            self.pending[d.id] = p
            deadline_ms = d.deadline * 1000
            try:
                self.clients[p.buyer].start_delivery(d.id, Role.IMPORT, d.amount_wh, deadline_ms)
                self.clients[p.seller].start_delivery(
                    d.id, Role.EXPORT, seller_cap_wh(d.amount_wh), deadline_ms
                )
            except MeterRejected:  # e.g. a full queue: nothing moves, the buyer is refunded
                p.refused = True
                for house in (p.buyer, p.seller):
                    with contextlib.suppress(MeterRejected):  # the meter never queued it
                        self.clients[house].stop(d.id)

    def poll(self, now: int, *, final: bool = False) -> list[SettledTrade]:
        done: list[SettledTrade] = []
        sellers_heard: set[int] = set()
        for did, p in list(self.pending.items()):
            buyer_mwh = seller_mwh = 0
            outcome = "refused"
            if not p.refused:
                report = self.clients[p.buyer].delivery(did)
                if not report.final and not final:
                    if p.seller not in sellers_heard:
                        self.clients[p.seller].heartbeat()  # keeps the fail-safe quiet
                        sellers_heard.add(p.seller)
                    continue
                if not report.final:
                    report = self.clients[p.buyer].stop(did)
                seller_report = self.clients[p.seller].stop(did)
                buyer_mwh = report.delivery.delivered_mwh
                seller_mwh = seller_report.delivery.delivered_mwh
                outcome = report.delivery.reason or report.delivery.state.value
            delivered = min(buyer_mwh // 1000, p.delivery.amount_wh)
            done.append(self._trade(p, now, delivered, buyer_mwh, seller_mwh, outcome))
            del self.pending[did]
        return self._settle(done)

    def _trade(
        self, p: _Pending, now: int, delivered: int, buyer_mwh: int, seller_mwh: int, outcome: str
    ) -> SettledTrade:
        d = p.delivery
        return SettledTrade(
            d.id, p.buyer, p.seller, d.amount_wh, d.price_per_wh, p.created_at, d.deadline,
            now, delivered, 0, 0, buyer_mwh, seller_mwh, outcome,
        )

    def _settle(self, trades: list[SettledTrade]) -> list[SettledTrade]:
        """Settle on chain in batches; the chain's Settlement events give paid and refunded."""
        out: list[SettledTrade] = []
        for i in range(0, len(trades), SETTLE_BATCH):
            chunk = trades[i : i + SETTLE_BATCH]
            events = self.market.settle_batch(
                self.operator, [(t.delivery_id, t.delivered_wh) for t in chunk]
            )
            by_id = {s.delivery_id: s for s in events}
            for t in chunk:
                s = by_id[t.delivery_id]
                out.append(_with_settlement(t, s.delivered_wh, s.paid, s.refunded))
        return out


def _with_settlement(t: SettledTrade, delivered: int, paid: int, refunded: int) -> SettledTrade:
    return SettledTrade(
        t.delivery_id, t.buyer_house, t.seller_house, t.amount_wh, t.price_per_wh,
        t.created_at, t.deadline, t.settled_at, delivered, paid, refunded,
        t.buyer_metered_mwh, t.seller_metered_mwh, t.outcome,
    )
