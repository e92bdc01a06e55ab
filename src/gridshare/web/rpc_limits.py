"""What anyone on the village Wi-Fi may make the chain do through /rpc.

/rpc is open to every device on the network: wallets call it without logging in. The EVM
runs under the chain's lock, and gas costs nothing here, so without limits one `eth_call`
of a loop with a huge gas limit (or a free looping transaction) holds the chain for as long
as it asks and stalls trading for everyone. So, on /rpc only (the server's own calls are not
limited):

- `eth_call` and `eth_estimateGas` run with at most `PUBLIC_GAS_CAP`: a larger or missing
  gas is lowered to it, as geth's RPC gas cap does;
- a raw transaction may ask at most `PUBLIC_GAS_CAP` gas, must carry the chain id (EIP-155;
  without it, it could be replayed on any chain), and only the operator and registered
  households may send one; one that does not decode here is refused here, and the chain is
  given the bytes decoded here (`checked_transaction`);
- these three run one at a time (`ExecutionSlot`); a request that waits too long for its turn
  is told to try again;
- a batch holds at most `MAX_EXECUTING_IN_BATCH` of them and of `eth_getLogs` together
  (`LIMITED_IN_BATCH`).

`PUBLIC_GAS_CAP` is about twice the gas of the largest call a resident's wallet makes
(a take: 243,386 gas).
"""

from __future__ import annotations

import re
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any

from eth.abc import SignedTransactionAPI
from eth.exceptions import UnrecognizedTransactionType

from gridshare.chain.embedded.params import INVALID_PARAMS, SERVER_ERROR

PUBLIC_GAS_CAP = 500_000
MAX_EXECUTING_IN_BATCH = 10
EXECUTING_METHODS = frozenset({"eth_call", "eth_estimateGas", "eth_sendRawTransaction"})
# at most MAX_EXECUTING_IN_BATCH of these in one batch: the EVM-running ones, and eth_getLogs,
# whose answer may hold 10,000 logs (200 in a batch made one 20 kB request a 562 MB answer)
LIMITED_IN_BATCH = EXECUTING_METHODS | {"eth_getLogs"}
WAIT_FOR_TURN_S = 10.0

_QUANTITY = re.compile(r"0[xX][0-9a-fA-F]{1,64}")


class Busy(Exception):
    """Other calls held the chain for longer than a request may wait for its turn."""


class ExecutionSlot:
    """One /rpc request at a time may run the EVM; the others wait up to `wait_s`."""

    def __init__(self, wait_s: float = WAIT_FOR_TURN_S) -> None:
        self._semaphore = threading.BoundedSemaphore(1)
        self._wait_s = wait_s

    @contextmanager
    def turn(self) -> Iterator[None]:
        """Hold the slot while the block runs; Busy if it stays taken for `wait_s`."""
        if not self._semaphore.acquire(timeout=self._wait_s):
            raise Busy("the chain is busy with other calls; try again in a moment")
        try:
            yield
        finally:
            self._semaphore.release()


def capped_call(params: Any, cap: int = PUBLIC_GAS_CAP) -> Any:
    """eth_call / eth_estimateGas params whose call object asks at most `cap` gas.

    Anything malformed is returned unchanged, for the chain to refuse with its own error.
    """
    if not isinstance(params, list) or not params or not isinstance(params[0], dict):
        return params
    call = dict(params[0])
    if call.get("gas") is None or _more_than(call["gas"], cap):
        call["gas"] = hex(cap)
    return [call, *params[1:]]


def _more_than(gas: Any, cap: int) -> bool:
    if isinstance(gas, int) and not isinstance(gas, bool):
        return gas > cap
    return isinstance(gas, str) and bool(_QUANTITY.fullmatch(gas)) and int(gas, 16) > cap


@dataclass(frozen=True, slots=True)
class Refusal:
    """A JSON-RPC error answered by /rpc itself: nothing reaches the chain."""

    code: int
    message: str


_HEX = re.compile(r"0[xX]((?:[0-9a-fA-F]{2})*)")


def checked_transaction(
    params: Any,
    decode: Callable[[bytes], SignedTransactionAPI],
    may_send: Callable[[str], bool],
    cap: int = PUBLIC_GAS_CAP,
) -> list[Any] | Refusal:
    """eth_sendRawTransaction's params as /rpc passes them on, or why it will not.

    Closed by default: what does not decode here is refused here, and what is passed on is
    the transaction decoded here, written out again as plain 0x-hex, so the chain can only
    see bytes that were checked (a raw transaction written `0X…`, which the chain reads but
    this check once passed on unread, went through unchecked).
    """
    if not isinstance(params, list) or not params or not isinstance(params[0], str):
        return Refusal(INVALID_PARAMS, "invalid transaction: expected [\"0x<signed transaction>\"]")
    written = _HEX.fullmatch(params[0])
    if written is None:
        return Refusal(INVALID_PARAMS, "invalid transaction: expected 0x-prefixed hex data of"
                                       " whole bytes")
    raw = bytes.fromhex(written.group(1))
    try:
        transaction = decode(raw)
        gas, sender = transaction.gas, "0x" + bytes(transaction.sender).hex()
        chain_id = transaction.chain_id
    except UnrecognizedTransactionType:
        kind = f"0x{raw[0]:02x}" if raw else "(empty)"
        return Refusal(SERVER_ERROR, f"invalid transaction: unknown transaction type {kind}")
    except Exception as exc:  # not RLP, a bad signature: the decoder says which
        return Refusal(SERVER_ERROR, f"invalid transaction: {exc or type(exc).__name__}")
    if chain_id is None:  # geth refuses these over RPC too: they are valid on every chain
        return Refusal(SERVER_ERROR, "invalid transaction: not replay-protected (EIP-155); sign"
                                     " it with this chain's id (eth_chainId)")
    if gas > cap:
        return Refusal(SERVER_ERROR, f"invalid transaction: gas {gas:,} is above {cap:,}, the"
                                     " most /rpc accepts")
    if not may_send(sender):
        return Refusal(SERVER_ERROR, f"invalid transaction: {sender} is not a household of this"
                                     " market; only the operator and registered households may"
                                     " send transactions here")
    return ["0x" + raw.hex(), *params[1:]]
