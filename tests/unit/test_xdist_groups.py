"""`make test` runs `pytest -n 3 --dist loadgroup`: the tests of one chain backend share a
worker (each node started once), and so do the tests sharing the one-day simulation.

xdist groups by a suffix it writes into each node id; pytest 9.2's node ids silently dropped
it (pytest-xdist#1386), every group was spread over the workers, and nothing failed: the
suite just ran the simulation twice and started every node on every worker. The chain groups
had never held at all: they are added by tests/conftest.py, whose hook ran after xdist's had
read the marks (it now runs first). These fail instead, under loadgroup, if ids lose groups.
"""

from __future__ import annotations

import pytest


@pytest.mark.xdist_group("grouping-check")
def test_loadgroup_still_puts_a_groups_tests_on_one_worker(request: pytest.FixtureRequest) -> None:
    if not getattr(request.config.option, "loadgroup", False):
        pytest.skip("only meaningful under `pytest -n N --dist loadgroup` (make test)")
    assert request.node.nodeid.endswith("@grouping-check"), (
        f"xdist's loadgroup no longer groups ({request.node.nodeid}): pytest-xdist#1386; keep "
        "pytest below 9.2 in constraints.txt until xdist supports its node ids"
    )


def test_the_chain_groups_added_by_the_conftest_reach_xdist(
    request: pytest.FixtureRequest,
) -> None:
    if not getattr(request.config.option, "loadgroup", False):
        pytest.skip("only meaningful under `pytest -n N --dist loadgroup` (make test)")
    on_chains = [i.nodeid for i in request.session.items
                 if "backend" in getattr(getattr(i, "callspec", None), "params", {})]
    if not on_chains:
        pytest.skip("no test on a chain backend was collected in this run")
    lost = [n for n in on_chains if "@chain-" not in n and "@machine-" not in n]
    assert lost == [], f"chain tests without their backend's group: {lost[:3]}"
