"""Compile the Vyper market contract, cached on disk by source hash and compiler version.

The cache only saves time (a few seconds of Vyper per start; more on a Pi): a cache folder
that cannot be read or written, as for a service user with no home, compiles in memory and
says where the cache could not go.
"""

from __future__ import annotations

import hashlib
import json
import logging
import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from gridshare.atomic_file import write_atomically

log = logging.getLogger(__name__)

CONTRACTS_DIR = Path(__file__).resolve().parents[3] / "contracts"
MARKET_SOURCE = CONTRACTS_DIR / "energy_market.vy"


@dataclass(frozen=True)
class CompiledContract:
    """ABI and deployment bytecode of one contract."""

    name: str
    abi: tuple[dict[str, Any], ...]
    bytecode: bytes
    source_hash: str


def default_cache_dir() -> Path:
    """Where compiled contracts are cached: $XDG_CACHE_HOME/gridshare/contracts."""
    base = os.environ.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
    return Path(base) / "gridshare" / "contracts"


def compile_contract(
    source: Path = MARKET_SOURCE, cache_dir: Path | None = None
) -> CompiledContract:
    """Compile `source` with the installed Vyper, reusing a cached result for identical input."""
    import vyper  # imported here: compiling is rare and vyper is slow to import

    text = source.read_text(encoding="utf-8")
    key = hashlib.sha256(f"{vyper.__version__}\n{text}".encode()).hexdigest()
    cache = (cache_dir or default_cache_dir()) / f"{source.stem}-{key[:16]}.json"
    try:
        data = json.loads(cache.read_text(encoding="utf-8"))
    except FileNotFoundError:
        data = None
    except (OSError, ValueError) as exc:  # unreadable, or not JSON
        log.warning("compiled contract cache %s not used: %s", cache, exc)
        data = None
    if data is None:
        out = vyper.compile_code(text, output_formats=["abi", "bytecode"])
        data = {"abi": out["abi"], "bytecode": out["bytecode"]}
        try:
            write_atomically(cache, json.dumps(data))  # concurrent compilers never see half
        except OSError as exc:
            log.warning("compiled the contract without caching it (%s: %s); set "
                        "XDG_CACHE_HOME to a folder this user can write to keep the next "
                        "start from compiling again", exc.filename or cache, exc.strerror)
    return CompiledContract(
        name=source.stem,
        abi=tuple(data["abi"]),
        bytecode=bytes.fromhex(data["bytecode"].removeprefix("0x")),
        source_hash=key,
    )
