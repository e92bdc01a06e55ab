"""The settled deliveries as the report shows them: the chain's events joined with the
server orchestrator's records (metered mWh, settlement flag) and the houses' ids.

The server's `Orchestrator` decides and sends every settlement; this only reads back what
the chain recorded (`DeliverySettled`), so the report's totals are the chain's by design.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

from web3 import Web3

from gridshare.chain import EnergyMarket
from gridshare.storage.deliveries import DeliveryRepository


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


class SettlementLog:
    """Collects `DeliverySettled` events block by block into `SettledTrade`s."""

    def __init__(
        self,
        market: EnergyMarket,
        deliveries: DeliveryRepository,
        houses: Mapping[str, int],
        created_at: Mapping[int, int],
    ) -> None:
        self.market = market
        self.deliveries = deliveries
        self.houses = {a.lower(): h for a, h in houses.items()}
        self.created_at = created_at
        self.trades: list[SettledTrade] = []
        self._next_block = 0

    def collect(self) -> None:
        """Add the settlements mined since the last call."""
        latest = int(self.market.w3.eth.block_number)
        if latest < self._next_block:
            return
        event = self.market.contract.events.DeliverySettled()
        logs = event.get_logs(from_block=self._next_block, to_block=latest)
        self._next_block = latest + 1
        stamps: dict[int, int] = {}
        for e in logs:
            block = int(e["blockNumber"])
            if block not in stamps:
                stamps[block] = int(self.market.w3.eth.get_block(block)["timestamp"])
            self.trades.append(self._trade(e["args"], stamps[block]))

    def _trade(self, args: Mapping[str, int], settled_at: int) -> SettledTrade:
        did = int(args["delivery_id"])
        r = self.deliveries.get(did)
        assert r is not None, f"delivery {did} settled but not in the orchestrator's table"
        return SettledTrade(
            delivery_id=did,
            buyer_house=self.houses[Web3.to_checksum_address(r.buyer).lower()],
            seller_house=self.houses[Web3.to_checksum_address(r.seller).lower()],
            amount_wh=r.amount_wh,
            price_per_wh=r.price_per_wh,
            created_at=self.created_at.get(did, 0),
            deadline=r.deadline,
            settled_at=settled_at,
            delivered_wh=int(args["delivered_wh"]),
            paid=int(args["paid"]),
            refunded=int(args["refunded"]),
            buyer_metered_mwh=r.buyer_mwh or 0,
            seller_metered_mwh=r.seller_mwh or 0,
            outcome=r.flag or "settled",
        )
