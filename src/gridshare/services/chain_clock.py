"""Chain time as the engine sees it: the timestamp the next block will (at least) carry."""

from __future__ import annotations

import time
from collections.abc import Callable

from web3 import Web3
from web3.types import RPCEndpoint

from gridshare.chain.errors import ChainError


class ChainClock:
    """Seconds on the chain's clock; `clock_s` is the clock block timestamps follow."""

    def __init__(self, w3: Web3, clock_s: Callable[[], float] = time.time) -> None:
        self.w3 = w3
        self.clock_s = clock_s
        self.head: tuple[int, str] | None = None
        """Number and hash of the latest block as last read (None before the first read)."""

    def latest(self) -> int:
        """Timestamp of the latest block (read through the provider: no web3 formatting)."""
        response = self.w3.provider.make_request(
            RPCEndpoint("eth_getBlockByNumber"), ["latest", False]
        )
        if "error" in response:
            raise ChainError(f"eth_getBlockByNumber: {response['error']}")
        block = response["result"]
        self.head = (int(str(block["number"]), 16), str(block["hash"]))
        return int(str(block["timestamp"]), 16)

    def next_block(self) -> int:
        """The earliest timestamp the next block can carry (a lower bound for `now`).

        On the embedded chain that is exactly the next block's timestamp (same-second blocks
        share one); a node that makes each block strictly later gives a second more at most.
        """
        return max(self.latest(), int(self.clock_s()))

    def __call__(self) -> int:
        return self.next_block()
