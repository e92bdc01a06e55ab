"""The compiled-contract cache only saves time: a cache folder the server's user cannot use
(a service user with no home) or a damaged cache file still gives the same contract."""

from __future__ import annotations

import logging
import shutil
from pathlib import Path

import pytest

from gridshare.chain import compile_contract
from gridshare.chain.compiler import CompiledContract


@pytest.fixture(scope="module")
def compiled_once(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, CompiledContract]:
    """A cache folder holding the contract as compiled (vyper takes ~5 s a compile), and it."""
    cache_dir = tmp_path_factory.mktemp("compiled") / "cache"
    return cache_dir, compile_contract(cache_dir=cache_dir)


def test_a_cache_folder_that_cannot_be_made_compiles_in_memory_and_says_where(
    tmp_path: Path, caplog: pytest.LogCaptureFixture,
    compiled_once: tuple[Path, CompiledContract],
) -> None:
    reference = compiled_once[1]
    in_the_way = tmp_path / "home"
    in_the_way.write_text("a file where the cache folder's parent should be")  # even root fails
    cache_dir = in_the_way / ".cache" / "gridshare"

    with caplog.at_level(logging.WARNING, logger="gridshare.chain.compiler"):
        compiled = compile_contract(cache_dir=cache_dir)

    assert compiled == reference
    warning = " ".join(r.getMessage() for r in caplog.records)
    assert "compiled the contract without caching it" in warning
    assert str(in_the_way) in warning and "XDG_CACHE_HOME" in warning
    assert len(caplog.records) == 1


@pytest.mark.parametrize("damaged", [
    '{"abi": [',  # cut short, as by a disk fault
    "{}", "[]", '{"abi": [], "bytecode": "zz"}', '{"abi": "x", "bytecode": "0x00"}',
])
def test_a_damaged_cache_file_is_compiled_again_and_replaced(
    tmp_path: Path, caplog: pytest.LogCaptureFixture, damaged: str,
    compiled_once: tuple[Path, CompiledContract],
) -> None:
    cache_dir = tmp_path / "cache"
    shutil.copytree(compiled_once[0], cache_dir)
    reference = compiled_once[1]
    assert compile_contract(cache_dir=cache_dir) == reference  # read from the good file
    (cached,) = cache_dir.iterdir()
    cached.write_text(damaged)

    with caplog.at_level(logging.WARNING, logger="gridshare.chain.compiler"):
        compiled = compile_contract(cache_dir=cache_dir)

    assert compiled == reference
    assert "not used" in caplog.text
    assert compile_contract(cache_dir=cache_dir) == reference  # read from the mended file
    assert cached.read_text().startswith('{"abi": [{')
