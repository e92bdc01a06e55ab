"""The OpenAPI document as the server answers: every error is {"error": {code, message, field}}.

FastAPI describes a refused field as its own `HTTPValidationError` ({"detail": [...]}), which
this server never sends (`web/errors.py` turns it into the error shape), and leaves the other
error statuses without a body. A client generated from /openapi.json could parse no error.
"""

from __future__ import annotations

from typing import Any

from fastapi import FastAPI
from fastapi.openapi.utils import get_openapi
from pydantic import BaseModel, Field

REF = "#/components/schemas/{model}"


class ErrorDetail(BaseModel):
    code: str = Field(description="stable, for programs: bad_amount, order_closed, csrf, ...")
    message: str = Field(description="for people: the rule that was broken, in words")
    field: str | None = Field(description="the request field at fault (`body` for all of it)")


class ErrorBody(BaseModel):
    """Every error answer of the API."""

    error: ErrorDetail


REFUSED = "refused by a rule of the server or the market; the error names the field"
INVALID = "a field breaks its type or range; the error names it"
TOO_LARGE = "body_too_large: the body is over the server's limit"
CRASHED = "internal: the server failed (it logs why); nothing was changed"
UNAVAILABLE = (
    "chain_unavailable: the chain did not answer; chain_refused: the node refused the "
    "transaction, nothing was sent; disk_full: the server's disk is full"
)
NOT_CONFIRMED = (
    "not_confirmed: the transaction was sent without a receipt in time; it may still take effect"
)
SENDS_TRANSACTION: dict[int | str, dict[str, Any]] = {504: {"description": NOT_CONFIRMED}}
"""The `responses` of a route that sends a transaction and waits for its receipt."""


def error_envelope(schema: dict[str, Any]) -> dict[str, Any]:
    """`schema` with every 4xx/5xx answer described as `ErrorBody`.

    Operations that take input also say they may answer 400 and 422 (FastAPI lists 422 only
    for its own validation, and 400 nowhere), those with a body 413; every operation may
    answer 500 and the market's (/api/v1 but the explorer) 503. Routes that send a
    transaction list 504 themselves (`SENDS_TRANSACTION`)."""
    models = schema.setdefault("components", {}).setdefault("schemas", {})
    for name in ("HTTPValidationError", "ValidationError"):
        models.pop(name, None)
    body = ErrorBody.model_json_schema(ref_template=REF)
    models.update(body.pop("$defs", {}))
    models["ErrorBody"] = body
    content = {"application/json": {"schema": {"$ref": REF.format(model="ErrorBody")}}}
    for path, operations in schema.get("paths", {}).items():
        market = path.startswith("/api/v1/") and not path.startswith("/api/v1/explorer")
        for operation in operations.values():
            answers = operation.setdefault("responses", {})
            if "requestBody" in operation or operation.get("parameters"):
                answers.setdefault("400", {"description": REFUSED})
                answers.setdefault("422", {"description": INVALID})
                answers["422"]["description"] = INVALID  # not FastAPI's "Validation Error"
            if "requestBody" in operation:
                answers.setdefault("413", {"description": TOO_LARGE})
            answers.setdefault("500", {"description": CRASHED})
            if market:
                answers.setdefault("503", {"description": UNAVAILABLE})
            for status, answer in answers.items():
                if status[:1] in ("4", "5"):
                    answer["content"] = content
    return schema


def install_openapi(app: FastAPI) -> None:
    """Serve the OpenAPI document with the server's own error shape."""

    def openapi() -> dict[str, Any]:
        if app.openapi_schema is None:
            app.openapi_schema = error_envelope(get_openapi(
                title=app.title, version=app.version, description=app.description,
                routes=app.routes,
            ))
        return app.openapi_schema

    app.openapi = openapi  # type: ignore[method-assign]
