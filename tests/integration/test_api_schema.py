"""Schemathesis on /openapi.json as a resident: no 5xx; invalid input -> 4xx naming the field."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
import schemathesis
from hypothesis import HealthCheck, given, settings

from tests.integration.web_support import OPERATOR_PASSWORD, PASSWORD, log_in, register, web_app

# Logging in (POST /api/v1/session) is called without this test's session cookie, so that a
# login attempt cannot end the session the other calls run under.
ANONYMOUS = {"/api/v1/session"}


@pytest.fixture(scope="module")
def logged_in() -> Iterator[tuple[object, dict[str, str]]]:
    with web_app() as (_runtime, _settings, app):
        operator, csrf = log_in(app, "operator", OPERATOR_PASSWORD)
        register(operator, csrf, 1, "amina", "http://127.0.0.1:9", "22" * 32)
        client, token = log_in(app, "amina", PASSWORD)
        headers = {"X-CSRF-Token": token, "Cookie": f"gs_session={client.cookies['gs_session']}"}
        yield app, headers


def test_api_has_no_server_errors_and_names_the_field_of_invalid_input(
    logged_in: tuple[object, dict[str, str]],
) -> None:
    app, headers = logged_in
    schema = schemathesis.openapi.from_asgi("/openapi.json", app)
    failures: list[str] = []
    for operation in schema.get_all_operations():
        op = operation.ok()
        check_operation(op, {} if op.path in ANONYMOUS else headers, failures)
    assert not failures, failures[:20]


def check_operation(op: Any, headers: dict[str, str], failures: list[str]) -> None:
    """Generated calls of one operation: no 5xx, and every 422 names its field."""

    @settings(max_examples=15, deadline=None, suppress_health_check=list(HealthCheck))
    @given(case=op.as_strategy())
    def check(case: schemathesis.Case) -> None:
        try:
            response = case.call(headers=headers)
        except Exception as exc:  # the in-process server raised: a server error
            failures.append(f"{case.method} {case.formatted_path}: {exc!r}")
            return
        if response.status_code >= 500:
            failures.append(f"{case.method} {case.formatted_path}: {response.status_code}")
        elif response.status_code == 422:
            field = response.json()["error"]["field"]
            if not field:
                failures.append(f"{case.method} {case.formatted_path}: 422 without field")

    check()
