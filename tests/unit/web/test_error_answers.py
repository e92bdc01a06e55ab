"""Errors reach a browser as a page and anything else as the API's JSON; if the page itself
fails, the JSON still carries the message (not a bare 500)."""

from __future__ import annotations

from fastapi import FastAPI, Request
from fastapi.responses import HTMLResponse, Response
from fastapi.testclient import TestClient

from gridshare.web.errors import install_error_handlers

BROWSER = {"accept": "text/html,*/*;q=0.8"}


def _app(page: object) -> TestClient:
    app = FastAPI()
    install_error_handlers(app, page=page)  # type: ignore[arg-type]

    @app.post("/form")
    def form() -> None: ...

    return TestClient(app)


def test_a_browser_gets_the_page_and_a_script_the_json() -> None:
    def page(_: Request, status: int, code: str, message: str) -> Response:
        return HTMLResponse(f"<p>{code}: {message}</p>", status_code=status)

    client = _app(page)
    shown = client.get("/nope", headers=BROWSER)
    assert (shown.status_code, shown.text) == (404, "<p>not_found: Not Found</p>")
    assert client.get("/nope").json()["error"]["code"] == "not_found"
    wrong = client.get("/form", headers=BROWSER)
    assert (wrong.status_code, wrong.headers["allow"]) == (405, "POST")  # kept on the page
    assert client.get("/api/v1/nope", headers=BROWSER).json()["error"]["code"] == "not_found"


def test_an_error_page_that_fails_still_answers_with_the_message() -> None:
    def broken(*_: object) -> Response:
        raise RuntimeError("the template is missing")

    shown = _app(broken).get("/nope", headers=BROWSER)
    assert shown.status_code == 404
    assert shown.json()["error"] == {"code": "not_found", "message": "Not Found", "field": None}
