"""Schemathesis on /openapi.json: no 5xx; invalid input -> 4xx naming the field.

Resident operations run as a resident, operator operations as the operator (so their handlers
run, not just the role check), logins without a session. Positive cases check the server never
fails; negative cases (inputs that break the schema) must be refused with 400 or 422 and the
error envelope naming a field the request has (or `body` for a body that is not a JSON object).
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import pytest
import schemathesis
from fastapi.testclient import TestClient
from hypothesis import HealthCheck, given, settings
from schemathesis.config import SchemathesisConfig
from schemathesis.core import NOT_SET
from schemathesis.generation.modes import GenerationMode
from schemathesis.specs.openapi.checks import negative_data_rejection

from gridshare.web.openapi import ErrorBody
from tests.integration.web_support import OPERATOR_PASSWORD, PASSWORD, log_in, register, web_app

# Logging in (POST /api/v1/session) is called without this test's session cookie, so that a
# login attempt cannot end the session the other calls run under.
ANONYMOUS = {"/api/v1/session"}
# Schema-invalid input is invalid whoever sends it: with the right session it gets 400 or 422.
REJECTED = ["400", "422"]


@dataclass
class Api:
    app: Any
    resident: dict[str, str]
    operator: dict[str, str]

    def headers_for(self, op: Any) -> dict[str, str]:
        """The session an operation runs under: none, the operator's or a resident's."""
        if op.path in ANONYMOUS:
            return {}
        return self.operator if "operator" in (op.tags or []) else self.resident


def session_headers(client: Any, csrf: str) -> dict[str, str]:
    return {"X-CSRF-Token": csrf, "Cookie": f"gs_session={client.cookies['gs_session']}"}


@pytest.fixture(scope="module")
def api() -> Iterator[Api]:
    with web_app() as (_runtime, _settings, app):
        operator, op_csrf = log_in(app, "operator", OPERATOR_PASSWORD)
        register(operator, op_csrf, 1, "amina", "http://127.0.0.1:9", "22" * 32)
        client, token = log_in(app, "amina", PASSWORD)
        yield Api(app, session_headers(client, token), session_headers(operator, op_csrf))


def load_schema(app: Any) -> Any:
    config = SchemathesisConfig.from_dict(
        {"checks": {"negative_data_rejection": {"expected-statuses": REJECTED}}}
    )
    return schemathesis.openapi.from_asgi("/openapi.json", app, config=config)


def test_api_has_no_server_errors_and_names_the_field_of_invalid_input(api: Api) -> None:
    schema = load_schema(api.app)
    failures: list[str] = []
    operations = [result.ok() for result in schema.get_all_operations()]
    assert any("operator" in (op.tags or []) for op in operations)
    for op in operations:
        statuses = check_operation(op, api.headers_for(op), failures)
        if "operator" in (op.tags or []):  # the operator's handlers ran, not just the role check
            assert statuses - {401, 403}, (op.method, op.path, statuses)
    assert not failures, failures[:20]


def test_invalid_input_gets_a_4xx_naming_the_field(api: Api) -> None:
    schema = load_schema(api.app)
    spec = api.app.openapi()
    failures: list[str] = []
    checked = []
    for result in schema.get_all_operations():
        op = result.ok()
        names = field_names(spec, op.method, op.path)
        if names is None:  # no input that can break the schema (no body, free-form strings)
            continue
        checked.append(f"{op.method.upper()} {op.path}")
        check_invalid_input(op, api.headers_for(op), names, failures)
    # the operations taking ids, bodies and bounded queries are all among those checked
    for expected in (
        "POST /api/v1/orders",
        "DELETE /api/v1/orders/{order_id}",
        "GET /api/v1/deliveries/{delivery_id}",
        "POST /api/v1/households",
        "POST /api/v1/households/{house_id}/top-up",
        "PUT /api/v1/market/mechanism",
        "POST /api/v1/session",
        "GET /api/v1/explorer/search",
    ):
        assert expected in checked, (expected, checked)
    assert not failures, failures[:20]


def test_the_schema_describes_every_error_as_the_error_shape_the_server_sends(api: Api) -> None:
    """FastAPI's own `HTTPValidationError` ({"detail": [...]}) is never sent by this server; a
    client generated from the schema must be told the shape it will get."""
    spec = TestClient(api.app).get("/openapi.json").json()
    assert "HTTPValidationError" not in str(spec)
    errors = [(path, method, status, answer)
              for path, ops in spec["paths"].items() for method, op in ops.items()
              for status, answer in op["responses"].items() if status[0] in "45"]
    assert len(errors) > 50
    for path, method, status, answer in errors:
        schema = answer["content"]["application/json"]["schema"]
        assert schema == {"$ref": "#/components/schemas/ErrorBody"}, (path, method, status)
    taking_input = spec["paths"]["/api/v1/orders"]["post"]["responses"]
    assert {"400", "422"} <= set(taking_input)
    # what the server sends besides the route's own refusals (web/errors.py, body_guard.py)
    assert {"413", "500", "503", "504"} <= set(taking_input)  # a write to the chain
    reading = set(spec["paths"]["/api/v1/me"]["get"]["responses"])
    assert {"500", "503"} <= reading and not {"413", "504"} & reading
    assert "503" not in spec["paths"]["/api/v1/explorer/summary"]["get"]["responses"]
    assert "504" not in spec["paths"]["/api/v1/session"]["post"]["responses"]  # sends nothing


def test_top_ups_beyond_the_treasury_are_refused_naming_their_field(api: Api) -> None:
    """Found by the run above: a top-up larger than the treasury was a 500 (and registering a
    household with one left its login behind)."""
    client = TestClient(api.app)
    houses = client.get("/api/v1/households", headers=api.operator).json()
    free = next(i for i in range(2, 10**6) if i not in {h["house_id"] for h in houses})
    too_much = 10**9  # coins: the most a request may ask for, more than the treasury holds
    top_up = client.post(
        "/api/v1/households/1/top-up", json={"coins": too_much}, headers=api.operator
    )
    assert top_up.status_code == 409, top_up.text
    assert top_up.json()["error"]["code"] == "treasury_short"
    assert top_up.json()["error"]["field"] == "coins"
    # the coin as the pages name it, exact and grouped as other amounts are ("997,979.5"; it
    # was "997979.50", cut to two decimals)
    held = r"\d{1,3}(,\d{3})+(\.\d*[1-9])?"
    assert re.fullmatch(rf"The treasury holds {held} PKR, less than the top-up\.",
                        top_up.json()["error"]["message"])
    house = {
        "name": f"House {free}",
        "username": "treasury-check",
        "password": PASSWORD,
        "house_id": free,
        "meter_id": free,
        "meter_url": "http://127.0.0.1:9",
        "meter_key": "33" * 32,
        "top_up_coins": too_much,
    }
    created = client.post("/api/v1/households", json=house, headers=api.operator)
    assert created.status_code == 409, created.text
    assert created.json()["error"]["field"] == "top_up_coins"
    # no login was made (read from the user store: the fuzzing above may have used up this
    # client's login attempts, so POST /api/v1/session could answer 429 instead)
    assert api.app.state.web.users.by_username("treasury-check") is None
    after = client.get("/api/v1/households", headers=api.operator).json()
    assert free not in {h["house_id"] for h in after}


def check_operation(op: Any, headers: dict[str, str], failures: list[str]) -> set[int]:
    """Generated calls of one operation: no 5xx, and every 422 names its field.

    Returns the statuses seen."""
    statuses: set[int] = set()

    @settings(max_examples=15, deadline=None, suppress_health_check=list(HealthCheck))
    @given(case=op.as_strategy())
    def check(case: schemathesis.Case) -> None:
        try:
            response = case.call(headers=headers)
        except Exception as exc:  # the in-process server raised: a server error
            failures.append(f"{case.method} {case.formatted_path}: {exc!r}")
            return
        statuses.add(response.status_code)
        if response.status_code >= 500:
            failures.append(f"{case.method} {case.formatted_path}: {response.status_code}")
        elif response.status_code >= 400:  # the shape /openapi.json promises for every error
            try:
                error = ErrorBody.model_validate(response.json()).error
            except ValueError as exc:
                failures.append(f"{case.method} {case.formatted_path}: not an ErrorBody {exc}")
                return
            if response.status_code == 422 and not error.field:
                failures.append(f"{case.method} {case.formatted_path}: 422 without field")

    check()
    return statuses


def field_names(spec: dict[str, Any], method: str, path: str) -> set[str] | None:
    """The names an error about this operation's input may give, or None if it has no input
    a client could get wrong (no body, and only unconstrained string parameters)."""
    operation = spec["paths"][path][method.lower()]
    names, breakable = set(), False
    for param in operation.get("parameters", []):
        names.add(param["name"])
        shape = {k: v for k, v in param["schema"].items() if k not in ("title", "description")}
        breakable |= shape != {"type": "string"} or (
            param["in"] == "query" and param.get("required", False)
        )
    body = operation.get("requestBody")
    if body is not None:
        breakable = True
        schema = body["content"]["application/json"]["schema"]
        if "$ref" in schema:
            schema = spec["components"]["schemas"][schema["$ref"].rsplit("/", 1)[-1]]
        names |= {"body", *schema.get("properties", {})}
    return names if breakable else None


def check_invalid_input(
    op: Any, headers: dict[str, str], names: set[str], failures: list[str]
) -> None:
    """Schema-breaking calls of one operation: never a 5xx; refused with 400/422 (schemathesis'
    negative_data_rejection, which knows when a mutation is still valid on the wire); the error
    envelope names a field of this request (declared, `body`, or an unknown key that was sent)."""

    @settings(
        max_examples=12, deadline=None, suppress_health_check=list(HealthCheck), database=None
    )
    @given(case=op.as_strategy(GenerationMode.NEGATIVE))
    def check(case: schemathesis.Case) -> None:
        body = "" if case.body is NOT_SET else f"{case.body!r:.120}"
        where = f"{case.method} {case.formatted_path} {case.query or ''} {body}"
        try:
            response = case.call(headers=headers)
        except Exception as exc:  # the in-process server raised: a server error
            failures.append(f"{where}: {exc!r}")
            return
        if response.status_code >= 500:
            failures.append(f"{where}: {response.status_code}")
            return
        try:
            case.validate_response(response, checks=[negative_data_rejection])
        except Exception as exc:  # schemathesis' failure: invalid input was accepted
            failures.append(
                f"{where}: {response.status_code} accepted invalid input ({exc!s:.200})"
            )
            return
        if response.status_code < 400:  # the mutation is valid once on the wire (schemathesis)
            return
        error = response.json()["error"]
        if not (error["code"] and error["message"]):
            failures.append(f"{where}: {response.status_code} without code or message: {error}")
        sent = set(case.body) if isinstance(case.body, dict) else set()
        field = error["field"]
        if not field or field.split(".")[0] not in names | sent:
            failures.append(
                f"{where}: {response.status_code} names {field!r}, not one of {sorted(names)}"
            )

    check()
