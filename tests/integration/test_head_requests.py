"""HEAD is answered as GET without the body, over real HTTP (uvicorn): `curl -I` and uptime
checkers send it, and FastAPI's routes answered 405 to it on every page and API path."""

from __future__ import annotations

from collections.abc import Iterator

import httpx
import pytest

from tests.integration.web_support import web_app
from tests.support.live_server import serve_in_thread


@pytest.fixture(scope="module")
def url(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    with web_app(tmp_path_factory.mktemp("head")) as (_runtime, _settings, app), \
            serve_in_thread(app) as base:
        yield base


@pytest.mark.parametrize("path", ["/api/v1/health", "/login", "/explorer", "/api/v1/market",
                                  "/static/app.js"])
def test_head_gives_the_gets_status_and_headers_and_no_body(url: str, path: str) -> None:
    with httpx.Client(base_url=url) as client:
        got = client.get(path, headers={"accept-encoding": "identity"})
        head = client.head(path, headers={"accept-encoding": "identity"})
    assert got.status_code == head.status_code == 200, (got.status_code, head.status_code)
    assert head.content == b""
    assert head.headers["content-type"] == got.headers["content-type"]
    assert head.headers["content-security-policy"] == got.headers["content-security-policy"]
    if path.startswith("/api/v1/health") or path == "/static/app.js":  # the same bytes each time
        assert int(head.headers["content-length"]) == len(got.content)


def test_head_of_a_missing_page_is_404_and_of_a_post_only_path_405(url: str) -> None:
    with httpx.Client(base_url=url) as client:
        assert client.head("/no-such-page").status_code == 404
        refused = client.head("/api/v1/session/recovery")  # POST only
    assert refused.status_code == 405 and refused.content == b""


def test_head_of_the_live_stream_is_refused_rather_than_holding_a_stream_open(url: str) -> None:
    with httpx.Client(base_url=url, timeout=5) as client:
        assert client.head("/api/v1/me/events").status_code == 405
