"""Read-only execution: eth_call and eth_estimateGas against a block's state."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import rlp  # type: ignore[import-untyped]
from eth.abc import BlockHeaderAPI, ComputationAPI
from eth.chains.base import Chain
from eth.exceptions import Revert
from eth.vm.spoof import SpoofTransaction
from eth_abi.abi import decode as abi_decode
from eth_typing import Address
from eth_utils.exceptions import ValidationError

from gridshare.chain.embedded.errors import ExecutionFailed, ExecutionReverted

_ERROR_SELECTOR = bytes.fromhex("08c379a0")  # Error(string)
_PANIC_SELECTOR = bytes.fromhex("4e487b71")  # Panic(uint256)


@dataclass(frozen=True)
class CallRequest:
    """An unsigned message: what eth_call and eth_estimateGas execute."""

    sender: bytes = b"\x00" * 20
    to: bytes = b""
    data: bytes = b""
    value: int = 0
    gas: int | None = None


def revert_reason(data: bytes) -> str:
    """The human reason in revert data: Error(string) text, a Panic code, or plain."""
    if data[:4] == _ERROR_SELECTOR:
        try:
            (text,) = abi_decode(["string"], data[4:])
            return f"execution reverted: {text}"
        except Exception:
            return "execution reverted"
    if data[:4] == _PANIC_SELECTOR and len(data) == 36:
        return f"execution reverted: panic code {int.from_bytes(data[4:], 'big'):#x}"
    return "execution reverted"


class Executor:
    """Runs CallRequests on a state and throws the changes away."""

    def __init__(self, chain: Chain) -> None:
        self._chain = chain
        self._vm_header: BlockHeaderAPI | None = None
        self._vm: Any = None

    def _vm_for(self, header: BlockHeaderAPI) -> Any:
        # Building a VM (and its state over the trie) costs more than most calls; calls at
        # the same block reuse it — each call runs inside a state snapshot that is reverted.
        if self._vm_header is None or self._vm_header != header:
            self._vm = self._chain.get_vm(header)
            self._vm_header = header
        return self._vm

    def run(self, header: BlockHeaderAPI, request: CallRequest, gas: int) -> ComputationAPI:
        """Execute at the state of `header` (its number and timestamp as context)."""
        vm = self._vm_for(header)
        state = vm.state
        unsigned = vm.create_unsigned_transaction(
            nonce=state.get_nonce(Address(request.sender)),
            gas_price=0,
            gas=gas,
            to=Address(request.to),
            value=request.value,
            data=request.data,
        )
        transaction = SpoofTransaction(unsigned, from_=request.sender)
        snapshot = state.snapshot()
        try:
            computation: ComputationAPI = state.apply_transaction(transaction)
        except (ValidationError, rlp.exceptions.RLPException) as exc:
            raise ExecutionFailed(str(exc)) from exc
        finally:
            state.revert(snapshot)
        return computation

    def call(self, header: BlockHeaderAPI, request: CallRequest) -> bytes:
        """Return data of the call; raises ExecutionReverted with the revert data."""
        gas = request.gas if request.gas is not None else header.gas_limit
        computation = self.run(header, request, gas)
        raise_if_failed(computation)
        return bytes(computation.output)

    def estimate_gas(self, header: BlockHeaderAPI, request: CallRequest) -> int:
        """Smallest gas limit (within ~1%) with which the message succeeds."""
        cap = request.gas if request.gas is not None else header.gas_limit
        computation = self.run(header, request, cap)
        raise_if_failed(computation)
        consumed = cap - computation.get_gas_remaining()
        low, high = consumed - 1, cap
        guess = min(cap, consumed * 64 // 63 + 5_000)
        if self._succeeds(header, request, guess):
            high = guess
        else:
            low = guess
        while high - low > max(500, high // 100):
            middle = (low + high) // 2
            if self._succeeds(header, request, middle):
                high = middle
            else:
                low = middle
        return high

    def _succeeds(self, header: BlockHeaderAPI, request: CallRequest, gas: int) -> bool:
        try:
            return not self.run(header, request, gas).is_error
        except (ExecutionReverted, ExecutionFailed):
            return False


def raise_if_failed(computation: ComputationAPI) -> None:
    """Raise ExecutionReverted (with the revert data) or ExecutionFailed for a failed run."""
    if not computation.is_error:
        return
    error = computation.error
    if isinstance(error, Revert):
        data = bytes(error.args[0]) if error.args else b""
        raise ExecutionReverted(revert_reason(data), data)
    raise ExecutionFailed(f"execution failed: {type(error).__name__} {error}".strip())
