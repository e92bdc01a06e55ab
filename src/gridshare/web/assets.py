"""Static files under URLs that name their content, so a phone keeps them instead of asking.

Pages link `/static/app.js?v=<fingerprint>`, the first 12 hex digits of the file's SHA-256.
An answer to a URL whose `v` is the file's own fingerprint may be kept for a year unasked
(`immutable`): the next page costs no round trip for it, which on a village phone's slow link
is most of a page's wait. A new version of a file has a new URL, so an upgrade is seen at once.
A URL without `v`, or with another one (a page drawn before an upgrade), is answered
`no-cache`: the browser asks again each time, and the ETag makes that a short 304.
"""

from __future__ import annotations

import hashlib
import os
import threading
from collections.abc import Callable
from pathlib import Path
from typing import Any

from starlette.datastructures import QueryParams
from starlette.responses import Response
from starlette.staticfiles import StaticFiles
from starlette.types import Scope

KEPT = "public, max-age=31536000, immutable"
ASK_AGAIN = "no-cache"
FINGERPRINT_CHARS = 12


class Assets:
    """Fingerprints of the files behind asset URLs, read once per file (they do not change
    while the server runs: an upgrade restarts it)."""

    def __init__(self, locate: Callable[[str], Path | None]) -> None:
        self._locate = locate  # an asset URL's path -> its file, or None
        self._prints: dict[Path, str] = {}
        self._urls: dict[str, str] = {}  # each page links the same few, so they are kept
        self._lock = threading.Lock()

    def fingerprint(self, file: Path) -> str:
        key = file.resolve()
        with self._lock:
            found = self._prints.get(key)
        if found is None:
            found = hashlib.sha256(key.read_bytes()).hexdigest()[:FINGERPRINT_CHARS]
            with self._lock:
                self._prints[key] = found
        return found

    def url(self, path: str) -> str:
        """`path` with its file's fingerprint, or `path` alone if there is no such file (a
        page still renders; the file's own URL then answers 404)."""
        with self._lock:
            found = self._urls.get(path)
        if found is None:
            file = self._locate(path)
            if file is None:
                return path
            found = f"{path}?v={self.fingerprint(file)}"
            with self._lock:
                self._urls[path] = found
        return found

    def cache_control(self, file: Path, version: str | None) -> str:
        """How long a browser may keep `file` asked for with `?v=version`."""
        return KEPT if version == self.fingerprint(file) else ASK_AGAIN


class KeptStatic(StaticFiles):
    """A static folder whose files are kept by browsers for a year when asked for under their
    fingerprint, and asked for again otherwise."""

    def __init__(self, assets: Assets, **options: Any) -> None:
        super().__init__(**options)
        self.assets = assets

    def file_response(
        self, full_path: str | os.PathLike[str], stat_result: os.stat_result, scope: Scope,
        status_code: int = 200,
    ) -> Response:
        response = super().file_response(full_path, stat_result, scope, status_code)
        version = QueryParams(scope["query_string"]).get("v")
        response.headers["cache-control"] = self.assets.cache_control(Path(full_path), version)
        return response
