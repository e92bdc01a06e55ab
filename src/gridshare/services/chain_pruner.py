"""Keeps the embedded chain's disk use flat: prunes old state every so many blocks.

    pruner = ChainPruner(chain, every_blocks=10_000, keep_blocks=128)
    pruner.start(); ...; pruner.stop()

A daemon thread looks at the head every `check_s`. Once `every_blocks` blocks have been made
since the last prune (counting from 0 at start, so a restarted server prunes once soon after),
it runs `EmbeddedChain.prune_state`; blocks go on being made meanwhile (see its docstring).
Failures are logged and tried again at the next check.
"""

from __future__ import annotations

import logging
import threading

from gridshare.chain.embedded import EmbeddedChain
from gridshare.chain.embedded.pruning import PruneResult

log = logging.getLogger(__name__)


class ChainPruner:
    """Runs `prune_state` on a chain in the background every `every_blocks` blocks."""

    def __init__(
        self, chain: EmbeddedChain, *, every_blocks: int, keep_blocks: int, check_s: float = 60.0
    ) -> None:
        if every_blocks < 1 or keep_blocks < 1:
            raise ValueError("every_blocks and keep_blocks must be at least 1")
        self.chain = chain
        self.every_blocks = every_blocks
        self.keep_blocks = keep_blocks
        self.check_s = check_s
        self.last_pruned_at = 0
        self.results: list[PruneResult] = []
        self.errors = 0
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="chain-pruner", daemon=True)

    def start(self) -> None:
        self._thread.start()

    def stop(self) -> None:
        """Ask the thread to stop and wait for it (a prune in progress finishes first)."""
        self._stop.set()
        if self._thread.is_alive():
            self._thread.join(timeout=120)

    def run_once(self) -> PruneResult | None:
        """Prune if `every_blocks` blocks were made since the last prune; what it did."""
        head = self.chain.block_number
        if head - self.last_pruned_at < self.every_blocks:
            return None
        result = self.chain.prune_state(self.keep_blocks)
        self.last_pruned_at = result.head
        self.results.append(result)
        log.info(
            "pruned the state of blocks before %d: %d trie nodes, %.1f MB",
            result.kept_from_block, result.deleted_nodes, result.deleted_bytes / 1e6,
        )  # fmt: skip
        return result

    def _run(self) -> None:
        while not self._stop.is_set():
            try:
                self.run_once()
            except Exception:  # a closed or busy database: keep the server up, try again
                self.errors += 1
                log.exception("chain pruner: prune failed, retrying at the next check")
            self._stop.wait(self.check_s)
