"""A meter's address: the URL the server accepts to talk to a meter at."""

from __future__ import annotations

import re
from urllib.parse import urlsplit

import httpx

# a host name (letters, digits, dots, hyphens; underscores too, as container and some local
# names have them and the client sends to them), or an IPv4 address; IPv6 comes in brackets
_HOST_NAME = re.compile(r"[A-Za-z0-9_](?:[A-Za-z0-9._-]*[A-Za-z0-9_])?")
RULE = ("must be http://host or http://host:port (or https; port 1-65535; a path, for a meter"
        " behind a proxy, is kept), with no user, query or fragment")


def meter_url_problem(url: str) -> str | None:
    """Why `url` cannot be a meter's address (the rule it breaks, in words), or None."""
    if not url.isprintable() or any(c.isspace() for c in url):
        return f"{RULE}; it holds a space or a control character"
    try:
        parts = urlsplit(url)
        port = parts.port  # raises for a port that is no number or is out of range
        httpx.URL(url)  # what the meter client will parse
    except (ValueError, httpx.InvalidURL) as exc:
        return f"{RULE} ({exc})"
    if parts.scheme not in ("http", "https"):
        return RULE
    if parts.username is not None or parts.query or parts.fragment or url.endswith(("?", "#")):
        return RULE
    host = parts.hostname or ""
    if not (parts.netloc.startswith("[") or _HOST_NAME.fullmatch(host)):
        return f"{RULE}; {host or 'no host'!r} is not a host name or address"
    if port is not None and not 1 <= port <= 65535:
        return RULE
    return None
