"""In-process web3 provider over the RPC dispatcher: `Web3(EmbeddedProvider(chain))`."""

from __future__ import annotations

import itertools
from typing import Any, cast

from web3.providers.base import JSONBaseProvider
from web3.types import RPCEndpoint, RPCResponse

from gridshare.chain.embedded.chain import EmbeddedChain
from gridshare.chain.embedded.rpc import RpcDispatcher


class EmbeddedProvider(JSONBaseProvider):
    """A web3 provider that answers from the embedded chain without HTTP or JSON text.

    Reverts come back as JSON-RPC errors with code 3 and Error(string) data, which web3
    raises as ContractLogicError.
    """

    def __init__(self, chain: EmbeddedChain | RpcDispatcher, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.dispatcher = chain if isinstance(chain, RpcDispatcher) else RpcDispatcher(chain)
        self._ids = itertools.count()

    def make_request(self, method: RPCEndpoint, params: Any) -> RPCResponse:
        """Answer one request."""
        request = {
            "jsonrpc": "2.0",
            "id": next(self._ids),
            "method": method,
            "params": list(params or []),
        }
        return cast(RPCResponse, self.dispatcher.handle(request))

    def make_batch_request(
        self, requests: list[tuple[RPCEndpoint, Any]]
    ) -> list[RPCResponse] | RPCResponse:
        """Answer a batch in order."""
        batch = [
            {"jsonrpc": "2.0", "id": next(self._ids), "method": m, "params": list(p or [])}
            for m, p in requests
        ]
        responses = self.dispatcher.handle(batch)
        return cast(list[RPCResponse], responses)

    def is_connected(self, show_traceback: bool = False) -> bool:
        """The embedded chain is always reachable."""
        return True
