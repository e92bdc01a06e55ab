"""Live updates for a resident's pages as Server-Sent Events: my meter and my deliveries."""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Query, Request
from fastapi.responses import StreamingResponse
from starlette.concurrency import run_in_threadpool

from gridshare.services.engine import MarketEngine
from gridshare.storage.users import User
from gridshare.web import queries
from gridshare.web.context import WebContext
from gridshare.web.errors import ApiError
from gridshare.web.routes.api import Ctx, Reader
from gridshare.web.schemas import MyDeliveryView

router = APIRouter(prefix="/api/v1")

INTERVAL_S = 2.0
UPDATES_PER_STREAM = 150  # ~5 minutes; EventSource reconnects, so no stream lives forever
PARTS = frozenset({"meter", "deliveries"})


def snapshot(
    ctx: WebContext, engine: MarketEngine | None, user: User, parts: frozenset[str] = PARTS
) -> dict[str, Any]:
    """What my pages show live: each delivery with its metered progress, and my meter (only
    the `parts` a page asked for: the meter page has no use for 50 deliveries every 2 s)."""
    data: dict[str, Any] = {}
    if "deliveries" in parts:
        data["deliveries"] = _deliveries(ctx, engine, user)
    if "meter" in parts:
        household = queries.household_of(ctx, user)
        data["meter"] = ctx.readings.get(household).model_dump(mode="json") if household else None
    return data


def _deliveries(ctx: WebContext, engine: MarketEngine | None, user: User) -> list[Any]:
    deliveries = []
    mine = queries.my_deliveries(ctx, user)[:50]
    records = engine.deliveries_by_id(d.id for d in mine) if engine is not None else {}
    why = queries.reasons(engine, mine, records)
    for delivery in mine:
        view = MyDeliveryView.mine(delivery, why.get(delivery.id), user.address).model_dump(
            mode="json"
        )
        record = records.get(delivery.id)
        if record is not None and delivery.status.name == "PENDING":
            view["delivered_wh"] = record.delivered_wh  # metered so far, by the buyer's meter
        deliveries.append(view)
    return deliveries


# Not in the OpenAPI schema: a stream, not a request/response call. The same data is at
# GET /api/v1/me/deliveries and GET /api/v1/me/meter.
@router.get("/me/events", include_in_schema=False)
async def my_events(
    request: Request, session: Reader, ctx: Ctx,
    only: Annotated[Literal["meter", "deliveries"] | None, Query()] = None,
) -> StreamingResponse:
    """`update` events every 2 s with my deliveries' progress and my meter's readings (`only`
    one of them, for a page that shows only that)."""
    parts = PARTS if only is None else frozenset({only})
    user = session.user
    assert user is not None
    engine = getattr(request.app.state, "market_engine", None)
    ticket = ctx.streams.take(session.id)
    if ticket is None:
        raise ApiError(
            429, "too_many_streams",
            f"At most {ctx.streams.per_session} live-update streams at once per login; close"
            " a page that shows live updates first.", None,
        )

    async def stream() -> AsyncIterator[str]:
        assert ticket is not None  # held by this stream for as long as it runs
        yield f"retry: {int(INTERVAL_S * 1000)}\n\n"
        for _ in range(UPDATES_PER_STREAM):
            if await request.is_disconnected() or not ctx.sessions.alive(session.id):
                return  # gone, or logged out (a new password ends every session)
            data = await run_in_threadpool(snapshot, ctx, engine, user, parts)
            yield f"event: update\ndata: {json.dumps(data, separators=(',', ':'))}\n\n"
            await asyncio.sleep(INTERVAL_S)

    return StreamingResponse(
        stream(),
        media_type="text/event-stream",
        headers={"Cache-Control": "no-store", "X-Accel-Buffering": "no"},
    )
