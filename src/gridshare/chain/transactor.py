"""Sign, send and confirm transactions: nonces per account, revert reasons before sending."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Protocol, cast

from eth_account.signers.local import LocalAccount
from hexbytes import HexBytes
from web3 import Web3
from web3.types import RPCEndpoint, TxParams, TxReceipt

from gridshare.chain.errors import ContractRevert, TransactionTimeout, revert_reason
from gridshare.chain.receipts import receipt_from_json
from gridshare.chain.signing import Eip1559

GAS_HEADROOM_PERCENT = 20
EMBEDDED_TX_GAS = 15_000_000  # half the embedded block gas limit; gas is free there


@dataclass(frozen=True)
class TxRequest:
    """What to send: destination (None to deploy), calldata and value in wei."""

    to: str | None
    data: bytes
    value: int = 0


class Sender(Protocol):
    """Anything that signs, sends and confirms a transaction: a Transactor or an Outbox."""

    def transact(
        self, signer: LocalAccount, request: TxRequest, *, key: str | None = None
    ) -> TxReceipt:
        """Send `request` signed by `signer` and return its successful receipt."""
        ...


class RpcFailure(Exception):
    """A JSON-RPC error answer from the node (message and data as the node sent them)."""

    def __init__(self, method: str, error: dict[str, Any]) -> None:
        self.message = str(error.get("message", ""))
        self.data = error.get("data")
        self.code = error.get("code")
        super().__init__(f"{method}: {self.message}")


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

    def used(self, address: str, nonce: int) -> None:
        """`nonce` was sent: the next one follows it (caller holds its lock)."""
        self._next[address] = nonce + 1

    def moved_on(self, address: str, tried: int) -> int | None:
        """After a refused send with `tried`: the chain's next nonce if it is another one.

        The cached nonce is dropped either way. A different count means the account also
        sends from elsewhere (a resident's wallet through /rpc uses the same key), so the
        refusal was the stale nonce and a send with the returned one may succeed.
        """
        self.forget(address)
        current = self.peek(address)
        return None if current == tried else current

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
        base_fee: int | None = None,
    ) -> None:
        self.w3 = w3
        self.receipt_timeout = receipt_timeout
        self.poll_interval = poll_interval
        self.gas_limit_cap = gas_limit_cap
        self.chain_id = int(w3.eth.chain_id)
        # a known, fixed base fee (the embedded chain's is always 0) saves a block read per tx
        self.base_fee = base_fee if base_fee is not None else _fixed_base_fee(w3)
        # gridshare's embedded chain refuses a transaction that would revert when it is sent
        # (gridshare_sendRawTransaction), and gas costs nothing there: no dry run, no estimate
        self.checked_sends = _is_embedded(w3)
        self.fixed_gas = EMBEDDED_TX_GAS if self.base_fee == 0 and self.checked_sends else None
        self.nonces = NonceBook(
            lambda a: int(w3.eth.get_transaction_count(Web3.to_checksum_address(a), "pending"))
        )

    def preflight(self, signer: LocalAccount, request: TxRequest) -> int:
        """The gas limit to send with; a revert raises ContractRevert with the contract's reason.

        On the embedded chain nothing is executed here: `broadcast(raw, checked=True)`
        refuses a reverting transaction with the same reason, in the same single execution
        that includes it otherwise.
        """
        if self.fixed_gas is not None and self.checked_sends:
            return self.fixed_gas
        try:
            if self.fixed_gas is not None:
                call = {**self._call_json(signer, request), "gas": hex(self.fixed_gas)}
                self.rpc("eth_call", [call, "pending"])  # reverts exactly as the tx would
                return self.fixed_gas
            estimate = int(self.rpc("eth_estimateGas", [self._call_json(signer, request)]), 16)
        except Exception as exc:
            reason = revert_reason(exc)
            if reason is None:
                raise
            raise ContractRevert(reason) from exc
        return min(estimate * (100 + GAS_HEADROOM_PERCENT) // 100, self.gas_limit_cap)

    def sign(self, signer: LocalAccount, request: TxRequest, *, nonce: int, gas: int) -> HexBytes:
        """A signed EIP-1559 transaction with zero tip, as raw bytes."""
        unsigned = Eip1559(
            chain_id=self.chain_id,
            nonce=nonce,
            max_priority_fee_per_gas=0,
            max_fee_per_gas=self._max_fee(),
            gas=gas,
            to=b"" if request.to is None else bytes.fromhex(request.to.removeprefix("0x")),
            value=request.value,
            data=bytes(request.data),
        )
        return HexBytes(unsigned.sign(bytes(signer.key)))

    def broadcast(self, raw: bytes, *, checked: bool = False) -> HexBytes:
        """Send a signed raw transaction; a refusal raises (ContractRevert for a revert).

        `checked` (a first send after `preflight`): where the chain can, it refuses a
        transaction that would revert instead of mining it as failed, leaving its nonce
        unused. Re-broadcasts after a restart are plain sends.
        """
        method = "gridshare_sendRawTransaction" if checked and self.checked_sends else None
        try:
            return HexBytes(
                self.rpc(method or "eth_sendRawTransaction", ["0x" + bytes(raw).hex()])
            )
        except Exception as exc:
            reason = revert_reason(exc)
            if reason is not None:
                raise ContractRevert(reason) from exc
            raise

    def rpc(self, method: str, params: list[Any]) -> Any:
        """One JSON-RPC call straight through the provider (no web3 formatting layers)."""
        response = self.w3.provider.make_request(RPCEndpoint(method), params)
        if "error" in response:
            raise RpcFailure(method, cast(dict[str, Any], response["error"]))
        return response.get("result")

    def receipt_or_none(self, tx_hash: bytes) -> TxReceipt | None:
        """The receipt of a mined transaction, or None while it is pending or unknown."""
        return self._receipt_or_none(HexBytes(tx_hash))

    def submit(self, signer: LocalAccount, request: TxRequest) -> HexBytes:
        """Preflight, sign with the account's next nonce and send; returns the tx hash."""
        gas = self.preflight(signer, request)
        address = signer.address
        with self.nonces.lock_for(address):
            nonce = self.nonces.peek(address)
            retried = False
            while True:
                raw = self.sign(signer, request, nonce=nonce, gas=gas)
                try:
                    tx_hash = self.broadcast(raw, checked=True)
                    break
                except RpcFailure:  # the node answered: it did not take this transaction
                    current = self.nonces.moved_on(address, nonce)
                    if current is None or retried:
                        raise
                    nonce, retried = current, True  # the account sent from elsewhere meanwhile
                except Exception:
                    self.nonces.forget(address)
                    raise
            self.nonces.used(address, nonce)
        return tx_hash

    def wait(self, tx_hash: HexBytes, request: TxRequest, signer: LocalAccount) -> TxReceipt:
        """Wait for the receipt; a mined revert raises ContractRevert with its reason."""
        receipt = self.await_receipt(tx_hash)
        if receipt["status"] != 1:
            raise ContractRevert(self.mined_revert_reason(receipt, signer.address, request))
        return receipt

    def await_receipt(self, tx_hash: bytes) -> TxReceipt:
        """The receipt once mined, whatever its status; TransactionTimeout after the timeout."""
        deadline = time.monotonic() + self.receipt_timeout
        while True:
            receipt = self._receipt_or_none(HexBytes(tx_hash))
            if receipt is not None:
                return receipt
            if time.monotonic() > deadline:
                raise TransactionTimeout(f"no receipt for 0x{bytes(tx_hash).hex()}")
            time.sleep(self.poll_interval)

    def transact(
        self, signer: LocalAccount, request: TxRequest, *, key: str | None = None
    ) -> TxReceipt:
        """Submit and wait: the receipt of a successful transaction (`key` is not recorded)."""
        return self.wait(self.submit(signer, request), request, signer)

    def mined_revert_reason(self, receipt: TxReceipt, sender: str, request: TxRequest) -> str:
        """Why a mined transaction reverted, by replaying it on the block before."""
        params = cast(dict[str, Any], {"from": sender, "value": request.value})
        params["data"] = request.data
        if request.to is not None:
            params["to"] = Web3.to_checksum_address(request.to)
        try:
            self.w3.eth.call(cast(TxParams, params), receipt["blockNumber"] - 1)
        except Exception as exc:
            return revert_reason(exc) or ""
        return ""

    # -- helpers -------------------------------------------------------------

    def _call_json(self, signer: LocalAccount, request: TxRequest) -> dict[str, str]:
        call = {
            "from": signer.address,
            "value": hex(request.value),
            "data": "0x" + request.data.hex(),
        }
        if request.to is not None:
            call["to"] = request.to
        return call

    def _max_fee(self) -> int:
        if self.base_fee is not None:
            return self.base_fee * 2
        block = self.rpc("eth_getBlockByNumber", ["latest", False])
        return int(block.get("baseFeePerGas") or "0x0", 16) * 2

    def _receipt_or_none(self, tx_hash: HexBytes) -> TxReceipt | None:
        raw = self.rpc("eth_getTransactionReceipt", ["0x" + bytes(tx_hash).hex()])
        return None if raw is None else receipt_from_json(raw)


def _is_embedded(w3: Web3) -> bool:
    from gridshare.chain.embedded import EmbeddedProvider

    return isinstance(w3.provider, EmbeddedProvider)


def _fixed_base_fee(w3: Web3) -> int | None:
    """0 on gridshare's embedded chain (its base fee never moves); None elsewhere."""
    return 0 if _is_embedded(w3) else None
