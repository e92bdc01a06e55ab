"""Where the market contract lives on a chain, remembered in the data directory."""

from __future__ import annotations

import json
import re
from dataclasses import asdict, dataclass, fields
from pathlib import Path

from gridshare.atomic_file import write_atomically


@dataclass(frozen=True)
class Deployment:
    """The market contract's address on one chain, and the compiled source it came from."""

    chain_id: int
    address: str
    source_hash: str
    block: int
    operator_nonce: int = 1
    """The operator's transaction count right after the deployment (a first start cut short
    may have deployed more than once); 1 in records written before it was kept."""

    def save(self, path: Path) -> None:
        """Write atomically (a crash never leaves half a file)."""
        write_atomically(path, json.dumps(asdict(self), indent=2))

    @classmethod
    def load(cls, path: Path) -> Deployment | None:
        """The saved deployment, or None before the first one; DeploymentUnreadable names the
        file and what is wrong with it."""
        if not path.exists():
            return None
        try:
            data = json.loads(path.read_text(encoding="utf-8"))
        except (OSError, ValueError) as exc:  # UnicodeDecodeError is a ValueError
            raise DeploymentUnreadable(f"{path.name}: cannot be read ({exc})") from exc
        names = {f.name for f in fields(cls)}
        if not isinstance(data, dict) or not names - {"operator_nonce"} <= set(data) <= names:
            raise DeploymentUnreadable(
                f"{path.name}: must be an object with chain_id, address, source_hash and block"
            )
        checks = (
            ("chain_id", isinstance(data["chain_id"], int) and data["chain_id"] > 0),
            ("address", isinstance(data["address"], str)
             and re.fullmatch(r"0x[0-9a-fA-F]{40}", data["address"]) is not None),
            ("source_hash", isinstance(data["source_hash"], str)),
            ("block", isinstance(data["block"], int) and data["block"] >= 0),
            ("operator_nonce", isinstance(data.get("operator_nonce", 1), int)
             and data.get("operator_nonce", 1) >= 1),
        )
        for name, ok in checks:
            if not ok or isinstance(data.get(name), bool):
                raise DeploymentUnreadable(f"{path.name}: {name} is not valid")
        return cls(**data)


class DeploymentUnreadable(ValueError):
    """The deployment file is there but damaged."""
