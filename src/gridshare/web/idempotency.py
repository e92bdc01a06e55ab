"""Idempotency-Key: a repeated request gets the first one's answer instead of acting again.

A client whose answer was lost (the Wi-Fi dropped, the server restarted) cannot tell whether
its order was placed or its top-up made; sending the request again with the same key is safe.
The answers are kept per account (`storage/request_keys.py`).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Annotated, Any

from eth_abi.exceptions import EncodingError
from fastapi import Header

from gridshare.chain.outbox import TransactionRefused
from gridshare.services.sessions import Session
from gridshare.services.trading import TradingError
from gridshare.storage.request_keys import KEY_RULE, RequestKeyError, RequestUnfinished
from gridshare.web.context import WebContext
from gridshare.web.errors import ApiError

# Refusals raised before a transaction is sent (a check, the contract's dry run, or arguments
# that cannot be encoded): nothing reached the chain, so a request key they interrupt is free
# again, not left unfinished.
REFUSALS: tuple[type[Exception], ...] = (ApiError, TradingError, EncodingError, TransactionRefused)

IdempotencyKey = Annotated[
    str | None,
    Header(
        alias="Idempotency-Key",  # its length too is KEY_RULE's, checked by `once`
        description="Optional. A repeat of a request with the same key gets the first one's "
        f"answer instead of acting again ({KEY_RULE}); kept for a day.",
    ),
]  # fmt: skip
R_KEY: dict[int | str, dict[str, Any]] = {
    409: {"description": "refused; or an earlier request with this Idempotency-Key did not finish"},
    422: {"description": "bad input; or this Idempotency-Key was used for another request"},
}


def once(
    ctx: WebContext, session: Session, key: str | None, fingerprint: str, work: Callable[[], str]
) -> str:
    """`work()`'s answer, computed once per Idempotency-Key (every time without one)."""
    if key is None:
        return work()
    assert session.user is not None
    try:
        return ctx.requests.run(session.user.address, key, fingerprint, work, frees=REFUSALS)
    except RequestKeyError as exc:
        status = 409 if isinstance(exc, RequestUnfinished) else 422
        raise ApiError(status, exc.code, str(exc), "Idempotency-Key") from exc


def once_per_form(
    ctx: WebContext, session: Session, request_key: str, fingerprint: str,
    work: Callable[[], str],
) -> str:
    """`work()`'s message, computed once per form (its hidden `request_key`; every time
    without one). The page answers the `RequestKeyError`s in its own words."""
    if not request_key:  # a page drawn before request keys, or a client that sends none
        return work()
    assert session.user is not None
    return ctx.requests.run(session.user.address, request_key, fingerprint, work, frees=REFUSALS)
