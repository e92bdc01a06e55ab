"""Households for the trading-service tests: registered over the real HouseholdService."""

from __future__ import annotations

from eth_account import Account
from eth_account.signers.local import LocalAccount

from gridshare.meters import MeterEntry, MeterKey
from gridshare.runtime import Runtime
from gridshare.services.households import HouseholdService
from gridshare.storage.households import HouseholdRepository


def register_households(
    runtime: Runtime, count: int
) -> tuple[HouseholdService, list[LocalAccount]]:
    """`count` new accounts registered as houses 1..count (meters on unused loopback ports)."""
    households = HouseholdService(
        runtime.market, runtime.operator, HouseholdRepository(runtime.database)
    )
    accounts: list[LocalAccount] = [Account.create() for _ in range(count)]
    for i, account in enumerate(accounts, start=1):
        meter = MeterEntry(i, i, f"http://127.0.0.1:{9000 + i}", MeterKey.generate(i))
        households.register(f"house-{i:02d}", account.address, i, meter)
    return households, accounts
