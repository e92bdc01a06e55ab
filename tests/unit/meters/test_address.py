"""Which URLs the server accepts as a meter's address: what its HTTP client can send to."""

from __future__ import annotations

import pytest

from gridshare.meters.address import RULE, meter_url_problem


@pytest.mark.parametrize(
    "url",
    ["http://192.168.4.21", "http://meter-3.local:8080/", "https://m.example:443/base",
     "http://[::1]:8001", "http://127.0.0.1:65535", "http://meter_1:8100"],
)  # fmt: skip
def test_an_http_address_of_a_host_and_port_is_accepted(url: str) -> None:
    assert meter_url_problem(url) is None


@pytest.mark.parametrize(
    ("url", "why"),
    [
        ("http://[::1", "Invalid IPv6 URL"),
        ("http://a:99999", "out of range"),
        ("http://a:0", ""),
        ("http://a:8x", "8x"),
        ("http://:80", "'no host'"),
        ("http://%zz", "'%zz' is not a host"),
        ("http://a\x00b", "control character"),
        ("http://meter 3", "space"),
        ("http://user:pw@meter", ""),
        ("http://meter/?x=1", ""),
        ("http://meter/#top", ""),
        ("ftp://meter", ""),
        ("meter.local:80", ""),
    ],
)
def test_an_address_the_client_cannot_use_says_the_rule(url: str, why: str) -> None:
    problem = meter_url_problem(url)
    assert problem is not None and problem.startswith(RULE) and why in problem
