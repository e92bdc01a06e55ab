"""GET /api/v1/health: is the server up, which chain, which contract."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends
from pydantic import BaseModel

from gridshare.runtime import Runtime
from gridshare.web.app import get_runtime

router = APIRouter()


class Health(BaseModel):
    status: str
    chain: str
    chain_id: int
    head_block: int
    contract_address: str
    operator: str


@router.get("/api/v1/health", response_model=Health, tags=["system"])
def health(runtime: Annotated[Runtime, Depends(get_runtime)]) -> Health:
    """Chain id, head block and the market contract's address."""
    w3 = runtime.chain.w3
    return Health(
        status="ok",
        chain=runtime.chain.kind,
        chain_id=int(w3.eth.chain_id),
        head_block=int(w3.eth.block_number),
        contract_address=runtime.market.address,
        operator=runtime.operator.address,
    )
