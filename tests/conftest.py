"""Suite-wide options and hypothesis profiles."""

from __future__ import annotations

import os

import pytest
from hypothesis import HealthCheck, settings

# `ci` is what `make test` runs; `thorough` is the documented long run
# (HYPOTHESIS_PROFILE=thorough make test, or pytest with that variable set).
settings.register_profile(
    "ci", deadline=None, suppress_health_check=[HealthCheck.too_slow], print_blob=True
)
settings.register_profile(
    "thorough", deadline=None, suppress_health_check=list(HealthCheck), print_blob=True
)
settings.load_profile(os.environ.get("HYPOTHESIS_PROFILE", "ci"))


def pytest_addoption(parser: pytest.Parser) -> None:
    parser.addoption(
        "--chains",
        default=os.environ.get("GRIDSHARE_TEST_CHAINS", "embedded,ganache,anvil,anvil-bt1"),
        help="comma-separated chain backends for the contract suite "
        "(embedded, ganache, anvil, anvil-bt1)",
    )
