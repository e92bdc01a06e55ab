"""Suite-wide options and hypothesis profiles."""

from __future__ import annotations

import os

import pytest
from hypothesis import HealthCheck, settings

# `ci` is what `make test` runs. `thorough` is the documented long run of the contract state
# machine: 10,000 examples on the embedded chain, with no per-test timeout (hours):
#   HYPOTHESIS_PROFILE=thorough .venv/bin/python -m pytest \
#       tests/integration/contract/test_market_state_machine.py -k embedded
# Every other hypothesis test sets its own max_examples, so the profile changes only that run.
settings.register_profile(
    "ci", deadline=None, suppress_health_check=[HealthCheck.too_slow], print_blob=True
)
settings.register_profile(
    "thorough",
    max_examples=10_000,
    deadline=None,
    suppress_health_check=list(HealthCheck),
    print_blob=True,
)
settings.load_profile(os.environ.get("HYPOTHESIS_PROFILE", "ci"))


def pytest_addoption(parser: pytest.Parser) -> None:
    parser.addoption(
        "--chains",
        default=os.environ.get("GRIDSHARE_TEST_CHAINS", "embedded,ganache,anvil,anvil-bt1"),
        help="comma-separated chain backends for the contract suite "
        "(embedded, ganache, anvil, anvil-bt1)",
    )


@pytest.hookimpl(tryfirst=True)  # before xdist's, which reads the groups into the node ids
def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    # With `pytest -n 3 --dist loadgroup` (what `make test` runs), every test on one chain
    # backend goes to the same worker, so each node is started once and its snapshots stay
    # consistent; the slow Anvil --block-time 1 group runs beside everything else. The state
    # machine opens a chain of its own, so it runs apart from its backend's group (it is the
    # longest test, and would otherwise make that group's worker the last to finish).
    for item in items:
        callspec = getattr(item, "callspec", None)
        if callspec is not None and "backend" in callspec.params:
            kind = "machine" if item.name.startswith("test_market_state_machine") else "chain"
            item.add_marker(pytest.mark.xdist_group(f"{kind}-{callspec.params['backend']}"))
