"""The block explorer: server-rendered pages under /explorer and JSON under /api/v1/explorer."""

from __future__ import annotations

import re
import time
from pathlib import Path
from typing import Annotated, Any, cast
from urllib.parse import quote

from fastapi import APIRouter, Depends, FastAPI, Query, Request
from fastapi import Path as PathParam
from fastapi.responses import FileResponse, RedirectResponse, Response
from fastapi.templating import Jinja2Templates
from web3 import Web3

from gridshare.explorer import Explorer, coins
from gridshare.explorer import jsonable as js
from gridshare.explorer.wiring import build_explorer, stop_explorer
from gridshare.explorer.words import short_address
from gridshare.local_time import abbreviation, date_and_time, offset_s
from gridshare.runtime import Runtime
from gridshare.web.errors import ApiError
from gridshare.web.render import ASSETS, language_values
from gridshare.web.schemas import PathId

WEB = Path(__file__).resolve().parents[1]
STATIC = WEB / "static" / "explorer"
_HASH = re.compile(r"^0x[0-9a-fA-F]{64}$")
_ADDRESS = re.compile(r"^0x[0-9a-fA-F]{40}$")
_BLOCK_REF = re.compile(r"[0-9]+|0x[0-9a-fA-F]{64}")  # ASCII digits only, no sign or spaces
_STATIC_TYPES = {".css": "text/css", ".js": "text/javascript"}

router = APIRouter()


def install(app: FastAPI, runtime: Runtime) -> None:
    """Open the explorer index and start its indexer; stop both when the runtime closes."""
    parts = build_explorer(runtime)
    app.state.explorer = parts
    parts.background.start()
    runtime.on_close(lambda: stop_explorer(parts))


def get_explorer(request: Request) -> Explorer:
    """FastAPI dependency: the explorer's read side."""
    return cast(Explorer, request.app.state.explorer.explorer)


ExplorerDep = Annotated[Explorer, Depends(get_explorer)]
PageNo = Annotated[int, Query(ge=1, le=10**6)]
# ids are uint256 on chain, but no chain here will ever reach SQLite's 64-bit INTEGER: a larger
# one is not on the chain (404, as a block past the head is), not a bad id
EntityId = Annotated[PathId, PathParam(description="an order's or delivery's id")]
MAX_ID = 2**63 - 1


def _templates() -> Jinja2Templates:
    templates = Jinja2Templates(directory=str(WEB / "templates"))
    env = templates.env
    env.filters["checksum"] = lambda a: Web3.to_checksum_address(a) if a else ""
    env.filters["short"] = lambda h: short_address(h) if len(h) == 42 else f"{h[:10]}…{h[-6:]}"
    env.filters["when"] = date_and_time
    env.filters["thousands"] = lambda n: f"{n:,}"
    env.globals["asset"] = ASSETS.url
    return templates


TEMPLATES = _templates()


def _render(request: Request, explorer: Explorer, name: str, status: int = 200,
            **context: Any) -> Response:
    names = explorer.names()
    symbol = explorer.symbol
    now = int(time.time())
    return TEMPLATES.TemplateResponse(
        request, f"explorer/{name}",
        {**language_values(request),
         "name_of": names, "coins": lambda wei: coins(int(wei), symbol), "symbol": symbol,
         "zone": explorer.zone, "zone_name": abbreviation(now, explorer.zone),
         "zone_offset": offset_s(now, explorer.zone), **context},
        status_code=status,
    )


def _not_found(request: Request, explorer: Explorer, what: str) -> Response:
    last = explorer.store.last_block()
    return _render(request, explorer, "not_found.html", 404, what=what,
                   indexed=None if last is None else last.number)


def _valid_address(address: str) -> str:
    if not _ADDRESS.match(address):
        raise ApiError(422, "invalid", "address must be 0x followed by 40 hex digits", "address")
    return address.lower()


def _valid_hash(tx_hash: str) -> str:
    if not _HASH.match(tx_hash):
        raise ApiError(422, "invalid", "tx_hash must be 0x followed by 64 hex digits", "tx_hash")
    return tx_hash.lower()


def _valid_block_ref(ref: str) -> str:
    """A block number in ASCII digits or a block hash (a number past the head is a 404)."""
    if not _BLOCK_REF.fullmatch(ref):
        raise ApiError(422, "invalid", "ref must be a block number (0, 1, 2 …) or a block hash "
                       "(0x followed by 64 hex digits)", "ref")
    return ref


def _missing(what: str) -> ApiError:
    return ApiError(404, "not_found", f"{what} is not on the chain (or not indexed yet)")


# ---------------------------------------------------------------- pages


@router.get("/explorer", include_in_schema=False)
def index_page(request: Request, explorer: ExplorerDep) -> Response:
    return _render(request, explorer, "index.html", summary=explorer.summary(),
                   indexed_txs=explorer.store.transaction_count())


@router.get("/explorer/static/{name}", include_in_schema=False)
def static_file(request: Request, name: str) -> Response:
    path = STATIC / name
    if path.suffix not in _STATIC_TYPES or path.parent != STATIC or not path.is_file():
        raise ApiError(404, "not_found", f"no static file {name!r}")
    kept = ASSETS.cache_control(path, request.query_params.get("v"))
    return FileResponse(path, media_type=_STATIC_TYPES[path.suffix],
                        headers={"Cache-Control": kept})


@router.get("/explorer/block/{ref}", include_in_schema=False)
def block_page(request: Request, ref: str, explorer: ExplorerDep) -> Response:
    found = explorer.block(ref)
    if found is None:
        return _not_found(request, explorer, f"block {ref}")
    return _render(request, explorer, "block.html", block=found[0], txs=found[1])


@router.get("/explorer/tx/{tx_hash}", include_in_schema=False)
def tx_page(request: Request, tx_hash: str, explorer: ExplorerDep) -> Response:
    view = explorer.transaction(tx_hash) if _HASH.match(tx_hash) else None
    if view is None:
        return _not_found(request, explorer, f"transaction {tx_hash}")
    return _render(request, explorer, "tx.html", view=view, tx=view.tx)


@router.get("/explorer/address/{address}", include_in_schema=False)
def address_page(
    request: Request, address: str, explorer: ExplorerDep, page: PageNo = 1,
    orders: PageNo = 1, deliveries: PageNo = 1,
) -> Response:
    if not _ADDRESS.match(address):
        return _not_found(request, explorer, f"address {address}")
    view = explorer.address(address, page, orders, deliveries)
    return _render(request, explorer, "address.html", view=view)


@router.get("/explorer/order/{order_id}", include_in_schema=False)
def order_page(request: Request, order_id: EntityId, explorer: ExplorerDep) -> Response:
    order = explorer.order(order_id) if order_id <= MAX_ID else None
    if order is None:
        return _not_found(request, explorer, f"order {order_id}")
    return _render(request, explorer, "order.html", order=order,
                   said=explorer.describe_all(order.events))


@router.get("/explorer/delivery/{delivery_id}", include_in_schema=False)
def delivery_page(request: Request, delivery_id: EntityId, explorer: ExplorerDep) -> Response:
    delivery = explorer.delivery(delivery_id) if delivery_id <= MAX_ID else None
    if delivery is None:
        return _not_found(request, explorer, f"delivery {delivery_id}")
    return _render(request, explorer, "delivery.html", delivery=delivery,
                   said=explorer.describe_all(delivery.events))


@router.get("/explorer/search", include_in_schema=False)
def search_page(
    request: Request, explorer: ExplorerDep, q: Annotated[str, Query(max_length=200)] = ""
) -> Response:
    found = explorer.search(q)
    if len(found) == 1:
        return RedirectResponse(found[0].url, status_code=303)
    return _render(request, explorer, "search.html", q=q, candidates=found,
                   status=200 if found or not q.strip() else 404)


# ---------------------------------------------------------------- JSON


@router.get("/api/v1/explorer/summary", tags=["explorer"])
def summary_api(explorer: ExplorerDep) -> dict[str, Any]:
    """Chain id, head block, gas price, and the latest indexed blocks and transactions."""
    return js.summary_json(explorer.summary(), explorer.context())


@router.get("/api/v1/explorer/blocks/{ref}", tags=["explorer"])
def block_api(ref: str, explorer: ExplorerDep) -> dict[str, Any]:
    """A block by number or hash, with its transactions."""
    found = explorer.block(_valid_block_ref(ref))
    if found is None:
        raise _missing(f"block {ref}")
    ctx = explorer.context()
    return {**js.block_json(found[0]), "transactions": [js.tx_json(t, ctx) for t in found[1]]}


@router.get("/api/v1/explorer/txs/{tx_hash}", tags=["explorer"])
def tx_api(tx_hash: str, explorer: ExplorerDep) -> dict[str, Any]:
    """A transaction, its decoded call and its EnergyMarket events in words."""
    view = explorer.transaction(_valid_hash(tx_hash))
    if view is None:
        raise _missing(f"transaction {tx_hash}")
    return js.tx_view_json(view, explorer.context())


@router.get("/api/v1/explorer/addresses/{address}", tags=["explorer"])
def address_api(
    address: str, explorer: ExplorerDep, page: PageNo = 1, orders: PageNo = 1,
    deliveries: PageNo = 1,
) -> dict[str, Any]:
    """Balances, household, and paginated transactions, orders and deliveries of an address."""
    view = explorer.address(_valid_address(address), page, orders, deliveries)
    return js.address_json(view, explorer.context())


@router.get("/api/v1/explorer/orders/{order_id}", tags=["explorer"])
def order_api(order_id: EntityId, explorer: ExplorerDep) -> dict[str, Any]:
    """An order as its events tell it."""
    order = explorer.order(order_id) if order_id <= MAX_ID else None
    if order is None:
        raise _missing(f"order {order_id}")
    return js.order_json(order, explorer.describe_all(order.events))


@router.get("/api/v1/explorer/deliveries/{delivery_id}", tags=["explorer"])
def delivery_api(delivery_id: EntityId, explorer: ExplorerDep) -> dict[str, Any]:
    """A delivery as its events tell it."""
    delivery = explorer.delivery(delivery_id) if delivery_id <= MAX_ID else None
    if delivery is None:
        raise _missing(f"delivery {delivery_id}")
    return js.delivery_json(delivery, explorer.describe_all(delivery.events))


@router.get("/api/v1/explorer/search", tags=["explorer"])
def search_api(
    explorer: ExplorerDep, q: Annotated[str, Query(min_length=1, max_length=200)]
) -> dict[str, Any]:
    """What a query names: each candidate with the explorer page that shows it."""
    found = explorer.search(q)
    return {"query": q, "candidates": [
        {"kind": c.kind, "label": c.label, "url": c.url,
         "api": "/api/v1/explorer/" + _api_path(c.url)} for c in found]}


def _api_path(url: str) -> str:
    kind, key = url.removeprefix("/explorer/").split("/", 1)
    plural = {"block": "blocks", "tx": "txs", "address": "addresses", "order": "orders",
              "delivery": "deliveries"}[kind]
    return f"{plural}/{quote(key)}"

