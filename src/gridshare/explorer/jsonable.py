"""The explorer's views as JSON: wei and other big integers as decimal strings."""

from __future__ import annotations

from typing import Any

from gridshare.explorer.ledger import DeliveryState, OrderState
from gridshare.explorer.records import BlockRecord, Event, TxRecord
from gridshare.explorer.service import AddressView, Paged, Said, Summary, TxView
from gridshare.explorer.words import Context, describe_call

JSON = dict[str, Any]


def _big(value: Any) -> Any:
    """Integers beyond JavaScript's safe range travel as strings; nested values likewise."""
    if isinstance(value, bool):
        return value
    if isinstance(value, int):
        return str(value) if abs(value) > 2**53 else value
    if isinstance(value, dict):
        return {k: _big(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_big(v) for v in value]
    return value


def block_json(b: BlockRecord) -> JSON:
    return {
        "number": b.number, "hash": b.hash, "parent_hash": b.parent_hash, "nonce": b.nonce,
        "difficulty": str(b.difficulty), "size": b.size, "gas_limit": b.gas_limit,
        "gas_used": b.gas_used, "timestamp": b.timestamp, "miner": b.miner,
        "base_fee": str(b.base_fee), "tx_count": b.tx_count,
    }


def tx_json(t: TxRecord, ctx: Context) -> JSON:
    return {
        "hash": t.hash, "block_number": t.block_number, "index": t.index, "from": t.sender,
        "from_name": ctx.name_of(t.sender), "to": t.to,
        "to_name": None if t.to is None else ctx.name_of(t.to),
        "value": str(t.value), "gas": t.gas, "gas_price": str(t.gas_price),
        "gas_used": t.gas_used, "status": t.status, "nonce": t.nonce,
        "contract_address": t.contract_address,
        "call": None if t.call is None else {"function": t.call.function,
                                             "args": _big(t.call.args)},
        "summary": None if t.call is None else describe_call(t.call, ctx, t.value),
    }


def event_json(e: Event, text: str) -> JSON:
    return {"name": e.name, "args": _big(e.args), "text": text, "block_number": e.block_number,
            "log_index": e.log_index, "tx_hash": e.tx_hash, "timestamp": e.timestamp}


def _said(items: tuple[Said, ...]) -> list[JSON]:
    return [event_json(s.event, s.text) for s in items]


def summary_json(s: Summary, ctx: Context) -> JSON:
    return {
        "chain_id": s.chain_id, "head_block": s.head,
        "gas_price": None if s.gas_price is None else str(s.gas_price),
        "indexed_block": s.indexed, "blocks": [block_json(b) for b in s.blocks],
        "transactions": [tx_json(t, ctx) for t in s.transactions],
    }


def tx_view_json(v: TxView, ctx: Context) -> JSON:
    return {**tx_json(v.tx, ctx), "timestamp": v.block_timestamp, "input": v.tx.input,
            "events": _said(v.events)}


def order_json(o: OrderState, said: tuple[Said, ...]) -> JSON:
    return {
        "id": o.id, "owner": o.owner, "side": o.side, "amount_wh": o.amount_wh,
        "remaining_wh": o.remaining_wh, "price_per_wh": str(o.price_per_wh),
        "expires_at": o.expires_at, "status": o.status, "placed_tx": o.placed_tx,
        "deliveries": list(o.deliveries), "events": _said(said),
    }


def delivery_json(d: DeliveryState, said: tuple[Said, ...]) -> JSON:
    return {
        "id": d.id, "buyer": d.buyer, "seller": d.seller, "amount_wh": d.amount_wh,
        "price_per_wh": str(d.price_per_wh), "deadline": d.deadline,
        "buy_order_id": d.buy_order_id, "sell_order_id": d.sell_order_id, "status": d.status,
        "delivered_wh": d.delivered_wh, "paid": str(d.paid), "refunded": str(d.refunded),
        "created_tx": d.created_tx, "events": _said(said),
    }


def _page(p: Paged) -> JSON:
    return {"page": p.page, "pages": p.pages, "total": p.total}


def address_json(v: AddressView, ctx: Context) -> JSON:
    balances = None
    if v.balances is not None:
        balances = dict(zip(("available", "locked", "escrowed"),
                            (str(x) for x in v.balances), strict=True))
    return {
        "address": v.address, "name": v.name,
        "household": None if v.house_id is None else {
            "house_id": v.house_id, "meter_id": v.meter_id, "active": v.active},
        "wallet_balance": None if v.wallet is None else str(v.wallet),
        "market_balances": balances,
        "transactions": {**_page(v.tx_page), "items": [tx_json(t, ctx) for t in v.transactions]},
        "orders": {**_page(v.order_page), "items": [order_json(o, ()) for o in v.orders]},
        "deliveries": {**_page(v.delivery_page),
                       "items": [delivery_json(d, ()) for d in v.deliveries]},
    }
