"""The server refuses to start on a data directory whose parts do not belong together, naming the
file to restore, rather than start a market that silently lost something: a damaged deployment
record (was a traceback), a lost or emptied database (was a new village beside the chain's
households), a chain older than the database (took back confirmed trades without a word).
Real embedded chain and database files, as a crash or a careless restore leaves them."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest

from gridshare.chain.deployment import Deployment
from gridshare.config import Settings
from gridshare.runtime import DATABASE, StartupError, build_runtime

DEPLOYMENT = "deployment-1337.json"


def _start_and_stop(data: Path, operator_transactions: int = 0) -> None:
    runtime = build_runtime(Settings(data_dir=data, market_engine=False))
    try:
        for _ in range(operator_transactions):  # each recorded in the database's outbox
            runtime.market.set_timing(runtime.operator, 3600, 600)
    finally:
        runtime.close()


def test_a_damaged_deployment_record_is_named_not_a_traceback(tmp_path: Path) -> None:
    _start_and_stop(tmp_path)
    record = tmp_path / DEPLOYMENT
    good = json.loads(record.read_text())
    for text, why in (("", "cannot be read"), ("[1]", "must be an object"),
                      (json.dumps({**good, "address": "0x12"}), "address is not valid"),
                      (json.dumps({**good, "block": -1}), "block is not valid")):  # fmt: skip
        record.write_text(text)
        with pytest.raises(StartupError, match=f"{DEPLOYMENT}: {why}.*restore it from the backup"):
            build_runtime(Settings(data_dir=tmp_path, market_engine=False))


def test_a_lost_or_emptied_database_is_refused_and_not_made_anew(tmp_path: Path) -> None:
    _start_and_stop(tmp_path, operator_transactions=2)
    for part in tmp_path.glob(DATABASE + "*"):  # the file and its write-ahead log
        part.unlink()
    with pytest.raises(StartupError, match=f"{DATABASE} .* is missing or holds none of the 3"):
        build_runtime(Settings(data_dir=tmp_path, market_engine=False))
    assert not (tmp_path / DATABASE).exists()
    (tmp_path / DATABASE).write_bytes(b"")  # as a lost write-ahead log leaves it: no rows
    with pytest.raises(StartupError, match="holds none of the 3 transactions"):
        build_runtime(Settings(data_dir=tmp_path, market_engine=False))


def test_a_lost_chain_is_refused_and_not_made_anew(tmp_path: Path) -> None:
    _start_and_stop(tmp_path)
    shutil.rmtree(tmp_path / "chain")
    with pytest.raises(StartupError, match=r"chain/ is missing from .* restore the chain's files"):
        build_runtime(Settings(data_dir=tmp_path, market_engine=False))
    assert not (tmp_path / "chain").exists()  # nothing in the way of the restore


def test_a_chain_older_than_the_database_is_refused(tmp_path: Path) -> None:
    data, older = tmp_path / "data", tmp_path / "older-chain"
    _start_and_stop(data)
    shutil.copytree(data / "chain", older)
    _start_and_stop(data, operator_transactions=2)
    shutil.rmtree(data / "chain")
    shutil.copytree(older, data / "chain")
    with pytest.raises(StartupError, match="the chain's files are older than the database"):
        build_runtime(Settings(data_dir=data, market_engine=False))


def test_a_first_start_cut_short_after_deploying_starts_again(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Killed after the market was deployed but before it was recorded, the next start deploys
    again (the operator has then sent 2 transactions and no database exists yet): that is a
    new village still, not a lost database."""

    def killed(self: Deployment, path: Path) -> None:
        raise KeyboardInterrupt

    with monkeypatch.context() as patch:
        patch.setattr(Deployment, "save", killed)
        with pytest.raises(KeyboardInterrupt):
            build_runtime(Settings(data_dir=tmp_path, market_engine=False))
    assert not (tmp_path / DEPLOYMENT).exists() and not (tmp_path / DATABASE).exists()
    _start_and_stop(tmp_path, operator_transactions=1)
    _start_and_stop(tmp_path)  # and every start after it
    assert json.loads((tmp_path / DEPLOYMENT).read_text())["operator_nonce"] == 2
