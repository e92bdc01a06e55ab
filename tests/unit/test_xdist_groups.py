"""`make test` runs `pytest -n 2 --dist loadgroup`: the tests of one chain backend share a
worker (each node started once), and so do the tests sharing the one-day simulation.

xdist groups by a suffix it writes into each node id; pytest 9.2's node ids silently dropped
it (pytest-xdist#1386), every group was spread over both workers, and nothing failed: the
suite just ran the simulation twice and started every node on both workers. This test fails
instead, under loadgroup, if its own id has lost its group.
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
