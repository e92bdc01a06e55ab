"""Sign, send and confirm transactions: nonces per account, revert reasons before sending."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, cast

from eth_account.signers.local import LocalAccount
from hexbytes import HexBytes
from web3 import Web3
from web3.types import TxParams, TxReceipt

from gridshare.chain.errors import ContractRevert, TransactionTimeout, revert_reason

GAS_HEADROOM_PERCENT = 20


@dataclass(frozen=True)
class TxRequest:
    """What to send: destination (None to deploy), calldata and value in wei."""

    to: str | None
    data: bytes
    value: int = 0


class NonceBook:
    """Hands out consecutive nonces per account; thread-safe, resynced from the chain on error."""

    def __init__(self, fetch: Callable[[str], int]) -> None:
        self._fetch = fetch
        self._next: dict[str, int] = {}
        self._locks: dict[str, threading.Lock] = {}
        self._guard = threading.Lock()

    def lock_for(self, address: str) -> threading.Lock:
        """The lock that serialises signing and sending for one account."""
        with self._guard:
            return self._locks.setdefault(address, threading.Lock())

    def peek(self, address: str) -> int:
        """The next nonce for `address` (caller holds its lock)."""
        if address not in self._next:
            self._next[address] = self._fetch(address)
        return self._next[address]

    def advance(self, address: str) -> None:
        """Mark the peeked nonce as used (caller holds its lock)."""
        self._next[address] = self.peek(address) + 1

    def reset(self) -> None:
        """Forget every cached nonce (after the chain was rolled back)."""
        self._next.clear()

    def forget(self, address: str) -> None:
        """Drop the cached nonce so the next one is read from the chain again."""
        self._next.pop(address, None)


class Transactor:
    """Sends signed transactions to any chain web3 reaches and waits for their receipts."""

    def __init__(
        self,
        w3: Web3,
        *,
        receipt_timeout: float = 120.0,
        poll_interval: float = 0.02,
        gas_limit_cap: int = 25_000_000,
    ) -> None:
        self.w3 = w3
        self.receipt_timeout = receipt_timeout
        self.poll_interval = poll_interval
        self.gas_limit_cap = gas_limit_cap
        self.chain_id = int(w3.eth.chain_id)
        self.nonces = NonceBook(
            lambda a: int(w3.eth.get_transaction_count(Web3.to_checksum_address(a), "pending"))
        )

    def preflight(self, signer: LocalAccount, request: TxRequest) -> int:
        """Estimate gas; a revert raises ContractRevert with the contract's reason."""
        params = self._base_params(signer, request)
        try:
            estimate = int(self.w3.eth.estimate_gas(params))
        except Exception as exc:
            reason = revert_reason(exc)
            if reason is None:
                raise
            raise ContractRevert(reason) from exc
        return min(estimate * (100 + GAS_HEADROOM_PERCENT) // 100, self.gas_limit_cap)

    def sign(self, signer: LocalAccount, request: TxRequest, *, nonce: int, gas: int) -> HexBytes:
        """A signed EIP-1559 transaction with zero tip, as raw bytes."""
        params = cast(dict[str, Any], self._base_params(signer, request))
        params.update(
            {
                "nonce": nonce,
                "gas": gas,
                "chainId": self.chain_id,
                "maxFeePerGas": self._max_fee(),
                "maxPriorityFeePerGas": 0,
                "type": 2,
            }
        )
        params.pop("from", None)
        signed = signer.sign_transaction(params)
        return HexBytes(signed.raw_transaction)

    def submit(self, signer: LocalAccount, request: TxRequest) -> HexBytes:
        """Preflight, sign with the account's next nonce and send; returns the tx hash."""
        gas = self.preflight(signer, request)
        address = signer.address
        with self.nonces.lock_for(address):
            nonce = self.nonces.peek(address)
            raw = self.sign(signer, request, nonce=nonce, gas=gas)
            try:
                tx_hash = self.w3.eth.send_raw_transaction(raw)
            except Exception as exc:
                self.nonces.forget(address)
                reason = revert_reason(exc)
                if reason is not None:
                    raise ContractRevert(reason) from exc
                raise
            self.nonces.advance(address)
        return HexBytes(tx_hash)

    def wait(self, tx_hash: HexBytes, request: TxRequest, signer: LocalAccount) -> TxReceipt:
        """Wait for the receipt; a mined revert raises ContractRevert with its reason."""
        deadline = time.monotonic() + self.receipt_timeout
        while True:
            receipt = self._receipt_or_none(tx_hash)
            if receipt is not None:
                break
            if time.monotonic() > deadline:
                raise TransactionTimeout(f"no receipt for {tx_hash.hex()}")
            time.sleep(self.poll_interval)
        if receipt["status"] != 1:
            raise ContractRevert(self._mined_revert_reason(receipt, request, signer))
        return receipt

    def transact(self, signer: LocalAccount, request: TxRequest) -> TxReceipt:
        """Submit and wait: the receipt of a successful transaction."""
        return self.wait(self.submit(signer, request), request, signer)

    # -- helpers -------------------------------------------------------------

    def _base_params(self, signer: LocalAccount, request: TxRequest) -> TxParams:
        params: dict[str, Any] = {
            "from": signer.address,
            "value": request.value,
            "data": request.data,
        }
        if request.to is not None:
            params["to"] = Web3.to_checksum_address(request.to)
        return cast(TxParams, params)

    def _max_fee(self) -> int:
        block = self.w3.eth.get_block("latest")
        base_fee = int(block.get("baseFeePerGas", 0) or 0)
        return base_fee * 2

    def _receipt_or_none(self, tx_hash: HexBytes) -> TxReceipt | None:
        try:
            return self.w3.eth.get_transaction_receipt(tx_hash)
        except Exception as exc:  # web3 raises TransactionNotFound while pending
            if type(exc).__name__ == "TransactionNotFound":
                return None
            raise

    def _mined_revert_reason(
        self, receipt: TxReceipt, request: TxRequest, signer: LocalAccount
    ) -> str:
        params = self._base_params(signer, request)
        try:
            self.w3.eth.call(params, receipt["blockNumber"] - 1)
        except Exception as exc:
            return revert_reason(exc) or ""
        return ""
