"""One error shape for the whole API: {"error": {"code", "message", "field"}}."""

from __future__ import annotations

import logging
from collections.abc import Mapping
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from starlette.exceptions import HTTPException as StarletteHTTPException

from gridshare.chain.errors import ChainError, ContractRevert, TransactionTimeout
from gridshare.chain.outbox import TransactionRefused

log = logging.getLogger(__name__)

SOURCES = ("body", "query", "path", "header", "cookie")  # where FastAPI found a bad value
BODY_PARSE_ERROR = "There was an error parsing the body"  # FastAPI's 400 for undecodable bytes
NOT_CONFIRMED = (
    "The transaction was sent but is not confirmed yet, so it may still take effect."
    " Check before trying again."
)
CHAIN_UNAVAILABLE = "The chain did not answer. Try again in a minute."
CHAIN_REFUSED = "The chain refused the transaction, so nothing was sent. Try again in a minute."


def chain_trouble(exc: ChainError) -> tuple[int, str, str]:
    """(HTTP status, code, message) for a chain failure that is not the contract's refusal."""
    if isinstance(exc, TransactionTimeout):
        return 504, "not_confirmed", NOT_CONFIRMED
    if isinstance(exc, TransactionRefused):
        return 503, "chain_refused", CHAIN_REFUSED
    return 503, "chain_unavailable", CHAIN_UNAVAILABLE


class ApiError(Exception):
    """A refused request: HTTP status, stable code, readable message, the field at fault."""

    def __init__(self, status: int, code: str, message: str, field: str | None = None) -> None:
        super().__init__(message)
        self.status, self.code, self.message, self.field = status, code, message, field


def error_body(code: str, message: str, field: str | None = None) -> dict[str, object]:
    """The JSON body of an error response."""
    return {"error": {"code": code, "message": message, "field": field}}


def invalid_field(error: Mapping[str, Any]) -> str | None:
    """The field a validation error is about: `amount_wh`, `order_id`, or `body` as a whole.

    FastAPI's error location starts with where the value came from (body, query, path, ...);
    a body that is not JSON at all, or not an object, is the `body` field itself.
    """
    loc = [str(part) for part in error.get("loc", ())]
    if error.get("type") == "json_invalid":  # loc is ("body", character position)
        return "body"
    names = loc[1:] if loc and loc[0] in SOURCES else loc
    return ".".join(names) or (loc[0] if loc else None)


def install_error_handlers(app: FastAPI) -> None:
    """Turn every failure into the error shape: validation, reverts, HTTP errors, crashes."""

    @app.exception_handler(ApiError)
    async def _api_error(_: Request, exc: ApiError) -> JSONResponse:
        return JSONResponse(error_body(exc.code, exc.message, exc.field), status_code=exc.status)

    @app.exception_handler(ContractRevert)
    async def _revert(_: Request, exc: ContractRevert) -> JSONResponse:
        return JSONResponse(error_body(exc.code, exc.info.message, exc.field), status_code=409)

    @app.exception_handler(ChainError)
    async def _chain(_: Request, exc: ChainError) -> JSONResponse:
        log.warning("chain failure: %s", exc)
        status, code, message = chain_trouble(exc)
        return JSONResponse(error_body(code, message), status_code=status)

    @app.exception_handler(RequestValidationError)
    async def _invalid(_: Request, exc: RequestValidationError) -> JSONResponse:
        first = exc.errors()[0] if exc.errors() else {"loc": (), "msg": "invalid request"}
        field = invalid_field(first)
        message = f"{field}: {first.get('msg')}" if field else str(first.get("msg"))
        return JSONResponse(error_body("invalid", message, field), status_code=422)

    @app.exception_handler(StarletteHTTPException)
    async def _http(_: Request, exc: StarletteHTTPException) -> JSONResponse:
        if exc.status_code == 400 and exc.detail == BODY_PARSE_ERROR:
            return JSONResponse(
                error_body("invalid", "body: the request body is not UTF-8 JSON.", "body"),
                status_code=400,
            )
        code = {401: "unauthorised", 403: "forbidden", 404: "not_found", 405: "method_not_allowed"}
        return JSONResponse(
            error_body(code.get(exc.status_code, "http_error"), str(exc.detail)),
            status_code=exc.status_code,
            headers=getattr(exc, "headers", None),
        )

    @app.exception_handler(Exception)
    async def _crash(_: Request, exc: Exception) -> JSONResponse:
        log.exception("unhandled error")
        return JSONResponse(
            error_body("internal", "Something went wrong on the server; nothing was changed."),
            status_code=500,
        )
