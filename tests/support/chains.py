"""One test-facing API over every chain the contract suite runs on.

`embedded` is the in-process EVM; `ganache`, `anvil` and `anvil-bt1` (Anvil mining a block
every second, like a real proof-of-authority network) are real nodes over HTTP JSON-RPC.
"""

from __future__ import annotations

import shutil
import tempfile
from abc import ABC, abstractmethod
from pathlib import Path
from typing import Any

from eth_account import Account
from eth_account.signers.local import LocalAccount
from web3 import Web3
from web3.providers.rpc import HTTPProvider

from tests.support.nodes import NodeProcess, start_node

BACKENDS = ("embedded", "ganache", "anvil", "anvil-bt1")
NODE_BACKENDS = BACKENDS[1:]


class ChainHarness(ABC):
    """A chain under test: web3, funding, time control and snapshots."""

    name: str
    w3: Web3
    instant: bool = True

    @abstractmethod
    def fund(self, address: str, wei: int) -> None:
        """Give `address` native coins (test set-up only)."""

    @abstractmethod
    def advance_time(self, seconds: int) -> None:
        """Move chain time forward and mine a block, so the next block is later."""

    @abstractmethod
    def snapshot(self) -> Any:
        """Remember the current state."""

    @abstractmethod
    def revert(self, snapshot: Any) -> None:
        """Go back to a remembered state."""

    def now(self) -> int:
        """Timestamp of the latest block."""
        return int(self.w3.eth.get_block("latest")["timestamp"])

    def new_account(self, wei: int = 10**22) -> LocalAccount:
        """A fresh local key with `wei` to spend."""
        account: LocalAccount = Account.create()
        if wei:
            self.fund(account.address, wei)
        return account

    @abstractmethod
    def close(self) -> None:
        """Release the chain's resources."""


class EmbeddedHarness(ChainHarness):
    """gridshare's own persistent embedded chain (py-evm over SQLite) in a scratch directory."""

    name = "embedded"

    def __init__(self) -> None:
        from gridshare.chain.embedded import EmbeddedProvider, open_embedded_chain

        self._dir = Path(tempfile.mkdtemp(prefix="gridshare-embedded-"))
        self._faucet: LocalAccount = Account.create()
        self.chain = open_embedded_chain(
            self._dir, genesis_alloc={bytes.fromhex(self._faucet.address[2:]): 10**30}
        )
        self.w3 = Web3(EmbeddedProvider(self.chain))
        self._faucet_nonce = 0

    def fund(self, address: str, wei: int) -> None:
        signed = self._faucet.sign_transaction(
            {
                "to": address,
                "value": wei,
                "gas": 21_000,
                "maxFeePerGas": 0,
                "maxPriorityFeePerGas": 0,
                "nonce": self.chain.nonce(bytes.fromhex(self._faucet.address[2:])),
                "chainId": self.w3.eth.chain_id,
                "type": 2,
            }
        )
        self.chain.send_raw_transaction(bytes(signed.raw_transaction))

    def advance_time(self, seconds: int) -> None:
        # relative to the latest block: fast test blocks can run ahead of the wall clock
        self.chain.mine_block(timestamp=self.now() + seconds)

    def snapshot(self) -> Any:
        return self.chain.snapshot()

    def revert(self, snapshot: Any) -> None:
        if not self.chain.revert(snapshot):
            raise RuntimeError("the embedded chain refused the snapshot")

    def close(self) -> None:
        self.chain.close()
        shutil.rmtree(self._dir, ignore_errors=True)


class NodeHarness(ChainHarness):
    """Ganache or Anvil in a subprocess, reached over HTTP JSON-RPC like any real node."""

    def __init__(self, name: str) -> None:
        kind, block_time = {
            "ganache": ("ganache", None),
            "anvil": ("anvil", None),
            "anvil-bt1": ("anvil", 1),
        }[name]
        self.name = name
        self.instant = block_time is None
        self.node: NodeProcess = start_node(kind, block_time=block_time)
        self.w3 = Web3(HTTPProvider(self.node.url, request_kwargs={"timeout": 30}))
        self._set_balance = "anvil_setBalance" if kind == "anvil" else "evm_setAccountBalance"

    def _rpc(self, method: str, params: list[Any]) -> Any:
        response = self.w3.provider.make_request(method, params)  # type: ignore[arg-type]
        if "error" in response:
            raise RuntimeError(f"{method}: {response['error']}")
        return response["result"]

    def fund(self, address: str, wei: int) -> None:
        self._rpc(self._set_balance, [address, hex(wei)])

    def advance_time(self, seconds: int) -> None:
        self._rpc("evm_increaseTime", [seconds])
        self._rpc("evm_mine", [])

    def snapshot(self) -> Any:
        return self._rpc("evm_snapshot", [])

    def revert(self, snapshot: Any) -> None:
        if not self._rpc("evm_revert", [snapshot]):
            raise RuntimeError("evm_revert refused the snapshot")

    def close(self) -> None:
        self.node.stop()


def open_harness(name: str) -> ChainHarness:
    """Start the chain called `name` (one of BACKENDS)."""
    if name == "embedded":
        return EmbeddedHarness()
    if name in NODE_BACKENDS:
        return NodeHarness(name)
    raise ValueError(f"unknown chain backend {name!r}")
