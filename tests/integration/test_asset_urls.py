"""Pages link their scripts, styles and icon under URLs that name the file's content, and
those URLs may be kept by the phone for a year; any other URL of the file is asked again.

Before, /static had no Cache-Control at all and /vendor a day: a phone on a slow link asked
for app.css, app.js and uPlot again (or waited on a heuristic) on most pages it opened.
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Iterator
from typing import Any

import pytest

from gridshare.web.assets import ASK_AGAIN, KEPT
from gridshare.web.render import asset_file
from tests.integration.web_support import (
    OPERATOR_PASSWORD,
    log_in,
    register_residents,
    web_app,
)

ASSET = re.compile(r'(?:src|href|data-ethers)="((?:/static/|/vendor/|/explorer/static/)[^"]+)"')


@pytest.fixture(scope="module")
def world() -> Iterator[dict[str, Any]]:
    with web_app() as (_runtime, _settings, app):
        operator, csrf = log_in(app, "operator", OPERATOR_PASSWORD)
        residents = register_residents(app, operator, csrf, ("amina",), "77" * 32)
        yield {"operator": operator, **residents}


def linked(page: str) -> list[str]:
    return ASSET.findall(page)


def test_every_asset_a_page_links_is_fingerprinted_and_kept_for_a_year(
    world: dict[str, Any],
) -> None:
    client = world["amina"].client
    urls = {u for path in ("/market", "/meter", "/account", "/explorer")
            for u in linked(client.get(path).text)}  # fmt: skip
    paths = {u.split("?")[0] for u in urls}
    assert {"/static/app.css", "/static/app.js", "/static/wallet.js", "/static/favicon.svg",
            "/vendor/uPlot.iife.min.js", "/vendor/uPlot.min.css", "/vendor/ethers.umd.min.js",
            "/explorer/static/explorer.css", "/explorer/static/live.js"} <= paths, paths
    for url in urls:
        path, _, query = url.partition("?v=")
        answer = client.get(url)
        assert answer.status_code == 200, url
        assert query == hashlib.sha256(answer.content).hexdigest()[:12], url
        assert answer.headers["cache-control"] == KEPT, url
        for other in (path, f"{path}?v=0123456789ab"):  # bare, or a page from before an upgrade
            assert client.get(other).headers["cache-control"] == ASK_AGAIN, other


def test_an_asked_again_file_is_a_short_304_when_unchanged(world: dict[str, Any]) -> None:
    client = world["amina"].client
    first = client.get("/static/app.js")
    again = client.get("/static/app.js", headers={"if-none-match": first.headers["etag"]})
    assert (again.status_code, again.content) == (304, b"")


def test_an_asset_url_outside_its_folder_names_no_file() -> None:
    assert asset_file("/static/app.js") is not None
    for path in ("/static/../render.py", "/static/../../config.py", "/vendor/nothing.js",
                 "/explorer/static/../app.js", "/elsewhere/app.js", "/static/explorer"):
        assert asset_file(path) is None, path
