"""Find what a search box query names: block, transaction, address, house, order, delivery."""

from __future__ import annotations

import re
from dataclasses import dataclass

from gridshare.explorer.store import ExplorerStore

_HASH = re.compile(r"^0x[0-9a-f]{64}$")
_ADDRESS = re.compile(r"^0x[0-9a-f]{40}$")
_HOUSE = re.compile(r"^house[-\s#]*0*([0-9]{1,9})$")
_KEYED = re.compile(r"^(block|order|delivery)[-\s#]*([0-9]{1,18})$")


@dataclass(frozen=True)
class Candidate:
    """One thing the query may mean, with the page that shows it."""

    kind: str
    label: str
    url: str


def block_candidate(number: int) -> Candidate:
    return Candidate("block", f"block {number}", f"/explorer/block/{number}")


def search(store: ExplorerStore, query: str) -> list[Candidate]:
    """Every indexed thing `query` could name, most specific first (empty: nothing found)."""
    q = query.strip().lower()
    if not q:
        return []
    if _HASH.match(q):
        found = []
        if store.transaction(q) is not None:
            found.append(Candidate("tx", f"transaction {q}", f"/explorer/tx/{q}"))
        block = store.block_by_hash(q)
        if block is not None:
            found.append(block_candidate(block.number))
        return found
    if _ADDRESS.match(q):
        return [Candidate("address", f"address {q}", f"/explorer/address/{q}")]
    house = _HOUSE.match(q)
    if house:
        return _house(store, int(house.group(1)))
    keyed = _KEYED.match(q)
    if keyed:
        return _numbered(store, int(keyed.group(2)), (keyed.group(1),))
    if q.isascii() and q.isdigit() and len(q) <= 18:  # "²".isdigit(), int("²") fails
        return _numbered(store, int(q), ("block", "order", "delivery"))
    return []


def _house(store: ExplorerStore, house_id: int) -> list[Candidate]:
    registrations = store.house_registrations(house_id)
    if not registrations:
        return []
    account = registrations[-1].args["account"]
    label = f"house-{house_id:02d} ({account})"
    return [Candidate("house", label, f"/explorer/address/{account}")]


def _numbered(store: ExplorerStore, number: int, kinds: tuple[str, ...]) -> list[Candidate]:
    found = []
    if "block" in kinds and store.block(number) is not None:
        found.append(block_candidate(number))
    if "order" in kinds and any(
        e.name == "OrderPlaced" for e in store.order_events([number])
    ):
        found.append(Candidate("order", f"order {number}", f"/explorer/order/{number}"))
    if "delivery" in kinds and any(
        e.name == "DeliveryCreated" for e in store.delivery_events([number])
    ):
        found.append(Candidate("delivery", f"delivery {number}", f"/explorer/delivery/{number}"))
    return found
