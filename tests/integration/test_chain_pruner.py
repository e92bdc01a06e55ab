"""The server prunes the embedded chain's old state by itself, and trading goes on after it."""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any

from fastapi.testclient import TestClient

from gridshare.chain.embedded import open_embedded_chain
from gridshare.services.chain_pruner import ChainPruner
from tests.integration.web_support import (
    OPERATOR_PASSWORD,
    PASSWORD,
    log_in,
    register,
    web_app,
)

PRICE = 10**15


def test_the_server_prunes_old_state_and_trading_goes_on() -> None:
    with web_app(prune_every_blocks=20, prune_keep_blocks=5) as (runtime, _settings, app), \
            TestClient(app):  # the app's start-up starts the pruner  # fmt: skip
        pruner: ChainPruner = app.state.chain_pruner
        assert (pruner.every_blocks, pruner.keep_blocks) == (20, 5)
        operator, op_csrf = log_in(app, "operator", OPERATOR_PASSWORD)
        seller = register(operator, op_csrf, 1, "amina", "http://127.0.0.1:9", "33" * 32)
        register(operator, op_csrf, 2, "bilal", "http://127.0.0.1:9", "44" * 32)
        amina, amina_csrf = log_in(app, "amina", PASSWORD)
        bilal, bilal_csrf = log_in(app, "bilal", PASSWORD)

        def place(amount_wh: int) -> dict[str, Any]:
            reply = amina.post(
                "/api/v1/orders", json={"side": "sell", "amount_wh": amount_wh,
                                        "price_per_wh": PRICE},
                headers={"X-CSRF-Token": amina_csrf},
            )  # fmt: skip
            assert reply.status_code == 201, reply.text
            return dict(reply.json())

        while runtime.chain.embedded.block_number < 25:
            place(5)
        result = pruner.run_once()
        assert result is not None and result.deleted_nodes > 0
        assert pruner.run_once() is None  # not another 20 blocks yet

        offer = place(30)  # trading goes on over the pruned chain
        took = bilal.post(f"/api/v1/orders/{offer['id']}/take", json={"amount_wh": 10},
                          headers={"X-CSRF-Token": bilal_csrf})  # fmt: skip
        assert took.status_code == 201, took.text
        assert bilal.get("/api/v1/me").status_code == 200
        old = amina.post("/rpc", json={"jsonrpc": "2.0", "id": 1, "method": "eth_getBalance",
                                       "params": [seller["address"], "0x2"]})  # fmt: skip
        assert "missing trie node" in old.json()["error"]["message"]
        latest = amina.post("/rpc", json={"jsonrpc": "2.0", "id": 2, "method": "eth_getBalance",
                                          "params": [seller["address"], "latest"]})  # fmt: skip
        assert "result" in latest.json()


def test_no_pruner_runs_when_it_is_turned_off() -> None:
    with web_app(prune_every_blocks=0) as (_runtime, _settings, app), TestClient(app):
        assert getattr(app.state, "chain_pruner", None) is None


def test_the_pruner_thread_prunes_each_time_enough_blocks_were_made(tmp_path: Path) -> None:
    treasury = bytes.fromhex("11" * 20)
    chain = open_embedded_chain(tmp_path / "chain", 1337, {treasury: 10**24})
    pruner = ChainPruner(chain, every_blocks=10, keep_blocks=2, check_s=0.05)
    try:
        pruner.start()

        def mine_and_wait_for_prune(blocks: int, prunes: int) -> None:
            for _ in range(blocks):
                chain.mine_block()
            deadline = time.monotonic() + 10
            while len(pruner.results) < prunes and time.monotonic() < deadline:
                time.sleep(0.02)

        mine_and_wait_for_prune(9, 0)
        time.sleep(0.2)  # a few checks: 9 blocks are not enough
        assert pruner.results == []
        mine_and_wait_for_prune(3, 1)
        mine_and_wait_for_prune(12, 2)
        first, second = pruner.results
        assert first.head >= 10 and second.head - first.head >= 10
        assert second.kept_from_block == second.head - 1
        assert pruner.errors == 0
    finally:
        pruner.stop()
        chain.close()
