"""One error shape for the whole API: {"error": {"code", "message", "field"}}; a browser
opening a page (not the API) gets the same message as a page instead (`ErrorPage`)."""

from __future__ import annotations

import logging
import sqlite3
import sys
from collections.abc import Callable, Mapping
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse, Response
from starlette.exceptions import HTTPException as StarletteHTTPException

from gridshare.chain.errors import ChainError, ContractRevert, TransactionTimeout
from gridshare.chain.outbox import TransactionRefused
from gridshare.storage.disk import DISK_FULL, is_disk_full
from gridshare.web.page_rules import page_rule

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
    if is_disk_full(exc):  # the embedded chain could not write its block
        return 503, "disk_full", DISK_FULL
    if isinstance(exc, TransactionTimeout):
        return 504, "not_confirmed", NOT_CONFIRMED
    if isinstance(exc, TransactionRefused):
        return 503, "chain_refused", CHAIN_REFUSED
    return 503, "chain_unavailable", CHAIN_UNAVAILABLE


class ApiError(Exception):
    """A refused request: HTTP status, stable code, readable message, the field at fault."""

    def __init__(
        self, status: int, code: str, message: str, field: str | None = None,
        headers: Mapping[str, str] | None = None,
    ) -> None:
        super().__init__(message)
        self.status, self.code, self.message, self.field = status, code, message, field
        self.headers = headers


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


def unparsable(cause: BaseException | None) -> str:
    """Why a body could not be parsed: Python's limit on a number's digits, or not UTF-8 JSON."""
    if isinstance(cause, ValueError) and "digits" in str(cause):  # int(...) over 4,300 digits
        return (f"body: a number in it has more than {sys.get_int_max_str_digits():,} digits"
                " (no field's range comes near that).")
    return "body: the request body is not UTF-8 JSON."


NOT_AN_OBJECT = ("model_attributes_type", "dict_type")  # pydantic: the body is no JSON object


def not_json(error: Mapping[str, Any]) -> str:
    """Why a body is not JSON, and where: FastAPI's own words were "JSON decode error"."""
    loc, why = error.get("loc", ()), (error.get("ctx") or {}).get("error")
    where = f" at character {loc[1]}" if len(loc) > 1 and isinstance(loc[1], int) else ""
    return f"body: not valid JSON ({why or 'cannot be read'}{where})."


def not_an_object(content_type: str) -> str:
    """Why a body is not the JSON object the API wants: its Content-Type, or what it holds."""
    if content_type.split(";")[0].strip().lower() != "application/json":
        return (f"body: send a JSON object with Content-Type: application/json (this request's"
                f" is {content_type[:60] or 'missing'}).")
    return "body: must be a JSON object ({...}), not an array, string or number."


ErrorPage = Callable[[Request, int, str, str], Response]
"""(request, status, code, message) -> the page a browser shows for an error."""

NOT_PAGES = ("/api/", "/rpc", "/static/", "/vendor/", "/explorer/static/")


def wants_page(request: Request) -> bool:
    """A browser opening one of the pages (not the API, a script or a wallet's RPC)."""
    accept = request.headers.get("accept", "")
    return "text/html" in accept and not request.url.path.startswith(NOT_PAGES)


def install_error_handlers(app: FastAPI, page: ErrorPage | None = None) -> None:
    """Turn every failure into the error shape: validation, reverts, HTTP errors, crashes;
    into `page` for a browser opening a page, if given."""

    def answer(
        request: Request, status: int, code: str, message: str, field: str | None = None,
        headers: Mapping[str, str] | None = None, on_page: str | None = None,
    ) -> Response:
        """The error as JSON, or as a page saying `on_page` (else `message`)."""
        if page is not None and status >= 400 and wants_page(request):
            try:
                shown = page(request, status, code, on_page or message)
            except Exception:  # the page itself failed: the message still gets through
                log.exception("error page failed")
            else:
                shown.headers.update(headers or {})
                return shown
        return JSONResponse(error_body(code, message, field), status_code=status, headers=headers)

    @app.exception_handler(ApiError)
    async def _api_error(request: Request, exc: ApiError) -> Response:
        return answer(request, exc.status, exc.code, exc.message, exc.field, exc.headers)

    @app.exception_handler(ContractRevert)
    async def _revert(request: Request, exc: ContractRevert) -> Response:
        return answer(request, 409, exc.code, exc.info.message, exc.field)

    @app.exception_handler(ChainError)
    async def _chain(request: Request, exc: ChainError) -> Response:
        log.warning("chain failure: %s", exc)
        status, code, message = chain_trouble(exc)
        return answer(request, status, code, message)

    @app.exception_handler(RequestValidationError)
    async def _invalid(request: Request, exc: RequestValidationError) -> Response:
        first = exc.errors()[0] if exc.errors() else {"loc": (), "msg": "invalid request"}
        field = invalid_field(first)
        message = f"{field}: {first.get('msg')}" if field else str(first.get("msg"))
        if field == "body" and first.get("type") in NOT_AN_OBJECT:
            message = not_an_object(request.headers.get("content-type", ""))
        if first.get("type") == "json_invalid":  # 400, as a body not UTF-8, too deep or with a
            return answer(request, 400, "invalid", not_json(first), "body")  # key given twice
        # a page names the rule in the catalog's words, not pydantic's under the code name
        return answer(request, 422, "invalid", message, field, on_page=page_rule(first))

    @app.exception_handler(StarletteHTTPException)
    async def _http(request: Request, exc: StarletteHTTPException) -> Response:
        if exc.status_code == 400 and exc.detail == BODY_PARSE_ERROR:
            return answer(request, 400, "invalid", unparsable(exc.__cause__), "body")
        code = {401: "unauthorised", 403: "forbidden", 404: "not_found", 405: "method_not_allowed"}
        return answer(
            request, exc.status_code, code.get(exc.status_code, "http_error"), str(exc.detail),
            headers=getattr(exc, "headers", None),
        )

    async def _crash(request: Request, exc: Exception) -> Response:
        if is_disk_full(exc):
            log.error("the disk is full: %s", exc)
            return answer(request, 503, "disk_full", DISK_FULL)
        log.exception("unhandled error")
        message = "Something went wrong on the server; nothing was changed."
        return answer(request, 500, "internal", message)

    # Starlette answers a handler for Exception itself and then raises the error again, so
    # the server logs a traceback and drops the connection: a full disk did that on every
    # refused write. The errors a full disk shows up as are handled where they stay handled.
    for kind in (Exception, sqlite3.Error, OSError):
        app.add_exception_handler(kind, _crash)
