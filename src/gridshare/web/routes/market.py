"""Market engine routes: delivery progress, and (data for) the operator's flagged list.

`install` starts the engine (matcher, delivery orchestrator, agents) on a background thread
and stops it when the runtime closes. The flagged list is operator data, so it has no route
here: operator authentication belongs to the web app, whose operator area should call
`flagged_deliveries(app.state.market_engine)`.
"""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Depends, FastAPI, HTTPException, Path, Request

from gridshare.runtime import Runtime
from gridshare.services.engine import EngineSettings, MarketEngine
from gridshare.services.sessions import Session
from gridshare.storage.deliveries import DeliveryRecord
from gridshare.web.errors import ApiError
from gridshare.web.schemas import PathId
from gridshare.web.security import require_user

router = APIRouter(prefix="/api/v1", tags=["market"])
MAX_ID = 2**63 - 1  # ids are uint256 on chain; anything larger than SQLite's INTEGER is unknown


def engine_settings(runtime: Runtime) -> EngineSettings:
    """Engine settings from the server's Settings."""
    s = runtime.settings
    return EngineSettings(
        mechanism=s.market_mechanism,
        auction_interval_s=s.auction_interval_s,
        agent_interval_s=s.agent_interval_s,
        loss_tolerance_percent=s.loss_tolerance_percent,
        meter_silence_ms=s.meter_silence_s * 1000,
    )


def install(app: FastAPI, runtime: Runtime) -> None:
    """Start the market engine for this server; it stops when the runtime closes."""
    engine = MarketEngine(
        runtime.market,
        runtime.operator,
        runtime.database,
        engine_settings(runtime),
        keys=runtime.key_provider,
        clock_s=runtime.clock_s,  # simulated time in `gridshare demo`
        counter=runtime.meter_counter,
    )
    app.state.market_engine = engine
    if runtime.settings.market_engine:
        engine.start()
        runtime.on_close(engine.stop)


def get_engine(request: Request) -> MarketEngine:
    engine = getattr(request.app.state, "market_engine", None)
    if engine is None:
        raise HTTPException(503, "the market engine is not running")
    assert isinstance(engine, MarketEngine)
    return engine


def delivery_json(r: DeliveryRecord) -> dict[str, Any]:
    """A delivery's orchestrator state as the API shows it (wei as decimal strings)."""
    return {
        "delivery_id": r.delivery_id,
        "buyer": r.buyer,
        "seller": r.seller,
        "amount_wh": r.amount_wh,
        "price_per_wh": str(r.price_per_wh),
        "deadline": r.deadline,
        "status": r.phase.value,
        "delivered_wh": r.delivered_wh,
        "target_wh": r.amount_wh,
        "buyer_mwh": r.buyer_mwh,
        "seller_mwh": r.seller_mwh,
        "settled_wh": r.settle_wh,
        "flag": r.flag,
    }


@router.get("/deliveries/{delivery_id}")
def delivery(
    delivery_id: Annotated[PathId, Path(description="delivery id")],
    engine: Annotated[MarketEngine, Depends(get_engine)],
    session: Annotated[Session, Depends(require_user)],
) -> dict[str, Any]:
    """A delivery's status and progress (delivered, target), for its buyer, seller or operator."""
    # 0 and ids past SQLite's INTEGER are missing ones, as orders' are (they were 422 "less
    # than or equal to 9223372036854775807", where /orders/{id}/take says there is no order)
    record = engine.delivery(delivery_id) if 0 < delivery_id <= MAX_ID else None
    user = session.user
    allowed = session.is_operator or (
        user is not None and user.address.lower() in (record.buyer.lower(), record.seller.lower())
        if record is not None
        else False
    )
    if record is None or not allowed:  # someone else's delivery looks like a missing one
        raise ApiError(404, "no_delivery", f"You have no delivery #{delivery_id}.", "delivery_id")
    return delivery_json(record)


def flagged_deliveries(engine: MarketEngine) -> list[dict[str, Any]]:
    """Deliveries flagged for the operator, newest first (for the operator area's route)."""
    return [delivery_json(r) for r in engine.flagged_deliveries()]
