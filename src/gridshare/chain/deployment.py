"""Where the market contract lives on a chain, remembered in the data directory."""

from __future__ import annotations

import json
import os
from dataclasses import asdict, dataclass
from pathlib import Path


@dataclass(frozen=True)
class Deployment:
    """The market contract's address on one chain, and the compiled source it came from."""

    chain_id: int
    address: str
    source_hash: str
    block: int

    def save(self, path: Path) -> None:
        """Write atomically (a crash never leaves half a file)."""
        path.parent.mkdir(parents=True, exist_ok=True)
        tmp = path.with_suffix(".tmp")
        tmp.write_text(json.dumps(asdict(self), indent=2), encoding="utf-8")
        with open(tmp, "rb") as handle:
            os.fsync(handle.fileno())
        tmp.replace(path)

    @classmethod
    def load(cls, path: Path) -> Deployment | None:
        """The saved deployment, or None before the first one."""
        if not path.exists():
            return None
        return cls(**json.loads(path.read_text(encoding="utf-8")))
