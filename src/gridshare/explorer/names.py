"""Who an address is, in words: a household name, the operator, the market, or a short address."""

from __future__ import annotations

from collections.abc import Callable

from gridshare.explorer.store import ExplorerStore
from gridshare.explorer.words import house_name, short_address

HouseNamer = Callable[[int], str]
"""house id -> display name; the default is 'house-03'. A households table can replace it."""


class Names:
    """Address -> name, from the indexed HouseholdRegistered events (built per request)."""

    def __init__(
        self, store: ExplorerStore, *, market: str, operator: str | None,
        house_namer: HouseNamer = house_name,
    ) -> None:
        self._houses: dict[str, int] = {}
        for event in store.registrations():  # oldest first: a re-registration wins
            self._houses[str(event.args["account"])] = int(event.args["house_id"])
        self._market = market.lower()
        self._operator = operator.lower() if operator else None
        self._house_namer = house_namer

    def house_id(self, address: str) -> int | None:
        return self._houses.get(address.lower())

    def __call__(self, address: str) -> str:
        address = address.lower()
        house_id = self._houses.get(address)
        if house_id is not None:
            return self._house_namer(house_id)
        if address == self._operator:
            return "operator"
        if address == self._market:
            return "EnergyMarket"
        return short_address(address)
