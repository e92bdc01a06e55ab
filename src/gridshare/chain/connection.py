"""Connect to the chain: the embedded one in the data directory, or any JSON-RPC node."""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
from web3 import Web3
from web3.middleware import ExtraDataToPOAMiddleware
from web3.providers.rpc import HTTPProvider

from gridshare.chain.embedded import EmbeddedChain, EmbeddedProvider, RpcDispatcher
from gridshare.chain.embedded import open_embedded_chain as _open_embedded
from gridshare.chain.embedded.store import Durability


@dataclass
class ChainConnection:
    """A web3 handle plus a raw JSON-RPC entry point for the /rpc endpoint."""

    w3: Web3
    embedded: EmbeddedChain | None
    url: str | None
    _dispatcher: RpcDispatcher | None = None
    _http: httpx.Client | None = None

    @property
    def kind(self) -> str:
        return "embedded" if self.embedded is not None else "rpc"

    def handle_rpc(self, request: Any) -> Any:
        """Answer a JSON-RPC request (or batch): from the embedded chain, or by forwarding."""
        if self._dispatcher is not None:
            return self._dispatcher.handle(request)
        assert self._http is not None and self.url is not None
        reply = self._http.post(
            self.url, content=json.dumps(request), headers={"content-type": "application/json"}
        )
        return reply.json() if reply.content else None

    def close(self) -> None:
        """Release the chain (flushes the embedded database) and any HTTP client."""
        if self._http is not None:
            self._http.close()
        if self.embedded is not None:
            self.embedded.close()


def open_embedded(
    data_dir: Path,
    chain_id: int,
    genesis_alloc: Mapping[str, int],
    *,
    durability: Durability = "full",
) -> ChainConnection:
    """Create or resume the embedded chain under `data_dir`/chain.

    `durability="full"` (the server's) makes each block survive a power cut (an fsync per
    block); "normal" survives a crash of the process only.
    """
    alloc = {
        bytes.fromhex(address.removeprefix("0x")): wei for address, wei in genesis_alloc.items()
    }
    chain = _open_embedded(
        data_dir / "chain", chain_id=chain_id, genesis_alloc=alloc, durability=durability
    )
    dispatcher = RpcDispatcher(chain)
    return ChainConnection(Web3(EmbeddedProvider(dispatcher)), chain, None, _dispatcher=dispatcher)


def connect_rpc(url: str) -> ChainConnection:
    """Use any JSON-RPC node (Ganache, Anvil, Hardhat, Geth, Besu) through HTTP."""
    w3 = Web3(HTTPProvider(url, request_kwargs={"timeout": 30}))
    # Geth/Besu proof-of-authority blocks carry more extraData than mainnet allows
    w3.middleware_onion.inject(ExtraDataToPOAMiddleware, layer=0)
    return ChainConnection(w3, None, url, _http=httpx.Client(timeout=30))
