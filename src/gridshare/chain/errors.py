"""Contract reverts turned into errors a resident can read, naming the field at fault."""

from __future__ import annotations

import re
from dataclasses import dataclass

from eth_abi.abi import decode as abi_decode

_ERROR_SELECTOR = "08c379a0"  # Error(string)


@dataclass(frozen=True)
class RevertInfo:
    """What a revert reason means: a stable code, the input field at fault, and a message."""

    code: str
    field: str | None
    message: str


REVERT_REASONS: dict[str, RevertInfo] = {
    "not operator": RevertInfo("not_operator", None, "Only the market operator may do this."),
    "not pending operator": RevertInfo(
        "not_pending_operator", None, "Only the nominated new operator may accept the role."
    ),
    "zero address": RevertInfo("zero_address", "account", "The zero address is not an account."),
    "operator account": RevertInfo(
        "operator_account", "account", "The operator's account cannot be a household."
    ),
    "bad house id": RevertInfo("bad_house_id", "house_id", "House id must be 1 or more."),
    "house taken": RevertInfo(
        "house_taken", "house_id", "That house id is already registered to another account."
    ),
    "bad timing": RevertInfo(
        "bad_timing", "delivery_window", "Delivery window and grace must both be positive."
    ),
    "not household": RevertInfo(
        "not_household", "account", "This account is not a registered household."
    ),
    "inactive": RevertInfo(
        "inactive_household", "account", "This household is deactivated and cannot trade."
    ),
    "maker inactive": RevertInfo(
        "inactive_household", "order_id", "The household that posted this order is deactivated."
    ),
    "bad amount": RevertInfo(
        "bad_amount", "amount_wh", "Amount must be positive and within what is available."
    ),
    "bad price": RevertInfo(
        "bad_price", "price_per_wh", "Price per Wh must be positive and within the market's limit."
    ),
    "bad expiry": RevertInfo("bad_expiry", "expires_at", "Expiry must be in the future."),
    "insufficient balance": RevertInfo(
        "insufficient_balance", "amount", "Not enough available balance."
    ),
    "no order": RevertInfo("no_order", "order_id", "There is no order with that id."),
    "order closed": RevertInfo(
        "order_closed", "order_id", "That order is already filled or cancelled."
    ),
    "order expired": RevertInfo("order_expired", "order_id", "That order has expired."),
    "not owner": RevertInfo(
        "not_owner", "order_id", "Only the order's owner may cancel it before it expires."
    ),
    "own order": RevertInfo("own_order", "order_id", "You cannot trade with your own order."),
    "wrong sides": RevertInfo(
        "wrong_sides", "buy_id", "A match needs one buy order and one sell order."
    ),
    "limit price": RevertInfo(
        "limit_price", "price_per_wh", "The price is outside the buyer's or seller's limit."
    ),
    "empty batch": RevertInfo("empty_batch", "matches", "A batch needs at least one entry."),
    "no delivery": RevertInfo("no_delivery", "delivery_id", "There is no delivery with that id."),
    "delivery closed": RevertInfo(
        "delivery_closed", "delivery_id", "That delivery is already settled or expired."
    ),
    "delivered > amount": RevertInfo(
        "delivered_above_amount",
        "delivered_wh",
        "Delivered energy cannot exceed the traded amount.",
    ),
    "not expired": RevertInfo(
        "not_expired", "delivery_id", "The delivery's deadline and grace period have not passed."
    ),
}

UNKNOWN_REVERT = RevertInfo("reverted", None, "The market contract refused the transaction.")


class ChainError(Exception):
    """A chain operation failed (base class)."""


class ContractRevert(ChainError):
    """The market contract refused a call; `reason` is the contract's own short reason."""

    def __init__(self, reason: str) -> None:
        self.reason = reason
        self.info = REVERT_REASONS.get(reason, UNKNOWN_REVERT)
        super().__init__(f"{self.info.message} ({reason})" if reason else self.info.message)

    @property
    def code(self) -> str:
        return self.info.code

    @property
    def field(self) -> str | None:
        return self.info.field


class TransactionTimeout(ChainError):
    """No receipt arrived in time for a sent transaction."""


_REASON_TEXT = re.compile(
    r"(?:(?:execution reverted:?|VM Exception while processing transaction: revert)\s*)+(.*)",
    re.IGNORECASE | re.DOTALL,
)


def decode_revert_data(data: object) -> str | None:
    """The reason string inside ABI-encoded Error(string) revert data, if that is what `data` is."""
    if isinstance(data, dict):  # nodes wrap it: {"data": ...} or Ganache's {"result": ...}
        data = data.get("data") or data.get("result")
    if isinstance(data, bytes):
        data = "0x" + data.hex()
    if not isinstance(data, str):
        return None
    hex_body = data.removeprefix("0x")
    if not hex_body.startswith(_ERROR_SELECTOR):
        return None
    try:
        (reason,) = abi_decode(["string"], bytes.fromhex(hex_body[8:]))
    except Exception:  # malformed data: not an Error(string)
        return None
    return str(reason)


def revert_reason(exc: BaseException) -> str | None:
    """The contract's revert reason carried by a web3/eth-tester/node exception, if it is one."""
    for data in (getattr(exc, "data", None), *(getattr(exc, "args", ()) or ())):
        reason = decode_revert_data(data)
        if reason is not None:
            return reason
    match = _REASON_TEXT.search(str(getattr(exc, "message", None) or exc))
    if match is None:
        return None
    reason = match.group(1).strip().strip("'\"").strip()
    return reason.split("', ")[0] if reason else ""
