"""GET /api/v1/health: is the server up, which chain, which contract, room on the disk."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends
from pydantic import BaseModel, Field

from gridshare.runtime import Runtime
from gridshare.storage.disk import LOW_DISK_BYTES, free_bytes
from gridshare.web.app import get_runtime

router = APIRouter()


class Health(BaseModel):
    status: str = Field(description="ok, or disk_low when the data disk has less than 200 MiB free")
    chain: str
    chain_id: int
    head_block: int
    contract_address: str
    operator: str
    disk_free_bytes: int


@router.get("/api/v1/health", response_model=Health, tags=["system"])
def health(runtime: Annotated[Runtime, Depends(get_runtime)]) -> Health:
    """Chain id, head block, the market contract's address and the data disk's free space."""
    w3 = runtime.chain.w3
    free = free_bytes(runtime.settings.data_dir)
    return Health(
        status="ok" if free >= LOW_DISK_BYTES else "disk_low",
        chain=runtime.chain.kind,
        chain_id=int(w3.eth.chain_id),
        head_block=int(w3.eth.block_number),
        contract_address=runtime.market.address,
        operator=runtime.operator.address,
        disk_free_bytes=free,
    )
