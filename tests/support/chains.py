"""One test-facing API over every chain the contract suite runs on.

`embedded` is the in-process EVM; `ganache`, `anvil` and `anvil-bt1` (Anvil mining a block
every second, like a real proof-of-authority network) are real nodes over HTTP JSON-RPC.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
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

    def close(self) -> None:
        """Release the chain's resources."""


class EmbeddedHarness(ChainHarness):
    """The in-process EVM (eth-tester over py-evm)."""

    name = "embedded"

    def __init__(self) -> None:
        from web3 import EthereumTesterProvider

        self.provider = EthereumTesterProvider()
        self.tester = self.provider.ethereum_tester
        self.w3 = Web3(self.provider)
        self._faucet = self.w3.eth.accounts[0]

    def fund(self, address: str, wei: int) -> None:
        self.w3.eth.send_transaction({"from": self._faucet, "to": address, "value": wei})

    def advance_time(self, seconds: int) -> None:
        pending = int(self.tester.get_block_by_number("pending")["timestamp"])
        self.tester.time_travel(max(pending, self.now()) + seconds)
        self.tester.mine_blocks()

    def snapshot(self) -> Any:
        return self.tester.take_snapshot()

    def revert(self, snapshot: Any) -> None:
        self.tester.revert_to_snapshot(snapshot)


class NodeHarness(ChainHarness):
    """Ganache or Anvil in a subprocess, reached over HTTP JSON-RPC like any real node."""

    def __init__(self, name: str) -> None:
        kind, block_time = {"ganache": ("ganache", None), "anvil": ("anvil", None),
                            "anvil-bt1": ("anvil", 1)}[name]
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
