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
    cached = _cached(cache, source.stem, key)
    if cached is not None:
        return cached
    out = vyper.compile_code(text, output_formats=["abi", "bytecode"])
    data = {"abi": out["abi"], "bytecode": out["bytecode"]}
    try:
        write_atomically(cache, json.dumps(data))  # concurrent compilers never see half a file
    except OSError as exc:
        log.warning("compiled the contract without caching it (%s: %s); set XDG_CACHE_HOME to "
                    "a folder this user can write to keep the next start from compiling again",
                    exc.filename or cache, exc.strerror)
    return _contract(data, source.stem, key)


def _cached(cache: Path, name: str, key: str) -> CompiledContract | None:
    """The contract in `cache`; None (compile it) if there is none, or the file cannot be read
    or holds no contract (a disk fault, a hand edit), which is said."""
    try:
        return _contract(json.loads(cache.read_text(encoding="utf-8")), name, key)
    except (FileNotFoundError, NotADirectoryError):
        return None
    except (OSError, ValueError) as exc:
        log.warning("compiled contract cache %s not used: %s", cache, exc)
        return None


def _contract(data: Any, name: str, key: str) -> CompiledContract:
    """The contract from its JSON form ({"abi": [...], "bytecode": "0x..."}); ValueError if
    `data` is not one."""
    abi, bytecode = (data.get("abi"), data.get("bytecode")) if isinstance(data, dict) else (0, 0)
    if not (isinstance(abi, list) and all(isinstance(i, dict) for i in abi)
            and isinstance(bytecode, str)):
        raise ValueError("not an ABI and bytecode")
    return CompiledContract(
        name=name, abi=tuple(abi), bytecode=bytes.fromhex(bytecode.removeprefix("0x")),
        source_hash=key,
    )
