"""`gridshare prune-chain` finds the data directory as `serve` does: --data, else
GRIDSHARE_DATA_DIR, else .gridshare/data; its help says so."""

from __future__ import annotations

from pathlib import Path

import pytest

from gridshare.chain.embedded import open_embedded_chain
from gridshare.cli import main


def test_prune_chain_prunes_the_chain_in_gridshare_data_dir(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    village = tmp_path / "village"
    open_embedded_chain(village / "chain").close()
    monkeypatch.chdir(tmp_path)  # no .gridshare/data here
    monkeypatch.setenv("GRIDSHARE_DATA_DIR", str(village))
    assert main(["prune-chain"]) == 0, capsys.readouterr().err
    assert "kept the state of blocks" in capsys.readouterr().out

    monkeypatch.setenv("GRIDSHARE_DATA_DIR", str(tmp_path / "elsewhere"))
    assert main(["prune-chain"]) == 2
    assert capsys.readouterr().err.startswith("gridshare prune-chain: GRIDSHARE_DATA_DIR: no chain")
    assert main(["prune-chain", "--data", str(village)]) == 0  # the option wins


def test_prune_chain_help_names_gridshare_data_dir(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit):
        main(["prune-chain", "--help"])
    text = " ".join(capsys.readouterr().out.split())
    assert "(default GRIDSHARE_DATA_DIR, else .gridshare/data)" in text
