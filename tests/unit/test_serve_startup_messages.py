"""The words of `gridshare serve`'s refusals, as pure functions: settings named as the operator
gave them, a port another program holds, a data directory that cannot be made, and a failed
start turned into one line (a full disk said plainly, whichever layer noticed it); and what
a start that worked did (a new market or the old one resumed, transactions it finished)."""

from __future__ import annotations

import errno
import socket
import sqlite3
from pathlib import Path

import pytest

from gridshare.chain.deployment import Deployment
from gridshare.chain.outbox import EntryState, OutboxEntry
from gridshare.chain.transactor import RpcFailure, TxRequest
from gridshare.commands.paths import creation_problem
from gridshare.commands.startup import listen_problem, setting_name, startup_failure
from gridshare.config import Settings
from gridshare.runtime import start_summary

DATA = Path("/var/lib/gridshare")
FULL = f"the disk holding {DATA} is full: free space, then start again"


def test_a_setting_is_named_by_its_option_when_given_else_by_its_variable() -> None:
    assert setting_name("port", {"port"}, 99999) == "--port 99999"
    assert setting_name("port", set(), "0") == "GRIDSHARE_PORT=0"
    assert setting_name("chain_url", {"chain_url"}) == "--chain"
    assert setting_name("chain_id", set(), 0) == "GRIDSHARE_CHAIN_ID=0"
    assert setting_name("market_mechanism", set(), "x") == "GRIDSHARE_MARKET_MECHANISM=x"
    assert setting_name("operator_password", set(), "secret") == "GRIDSHARE_OPERATOR_PASSWORD"


def test_a_port_someone_listens_on_is_named_and_a_free_one_is_not() -> None:
    with socket.socket() as listener:
        listener.bind(("127.0.0.1", 0))
        listener.listen()
        port = int(listener.getsockname()[1])
        field, rule = listen_problem("127.0.0.1", port) or ("", "")
    assert field == "port" and rule.startswith("address already in use on 127.0.0.1")
    assert listen_problem("127.0.0.1", port) is None  # closed again: free
    unresolved = listen_problem("nosuchhost.invalid", port)
    assert unresolved is not None and unresolved[0] == "host"


def test_a_missing_folder_is_tried_and_nothing_is_left_behind(tmp_path: Path) -> None:
    assert creation_problem(tmp_path / "a" / "b") is None
    assert list(tmp_path.iterdir()) == []
    problem = creation_problem(Path("/proc/gridshare-nope/data"))
    assert problem is not None and problem.startswith("cannot be created")


def test_a_full_disk_is_said_plainly_whichever_layer_noticed_it() -> None:
    assert startup_failure(sqlite3.OperationalError("database or disk is full"), DATA, None) == FULL
    assert startup_failure(OSError(errno.ENOSPC, "No space left on device"), DATA, None) == FULL
    embedded = RpcFailure("gridshare_sendRawTransaction",
                          {"message": "internal error: OperationalError"})
    try:  # the embedded chain logs its sqlite error, raised while rolling back after the full one
        try:
            raise sqlite3.OperationalError("database or disk is full")
        except sqlite3.OperationalError:
            raise sqlite3.OperationalError("cannot rollback - no transaction is active")  # noqa: B904
    except sqlite3.OperationalError as logged:
        assert startup_failure(embedded, DATA, None, [logged]) == FULL


def test_a_node_whose_own_disk_is_full_is_not_blamed_on_ours() -> None:
    node = RpcFailure("eth_sendRawTransaction", {"message": "no space left on device"})
    message = startup_failure(node, DATA, "http://10.0.0.2:8545")
    assert message == (
        "the chain node at http://10.0.0.2:8545 refused a start-up request: "
        "eth_sendRawTransaction: no space left on device"
    )


def test_other_failures_are_one_line() -> None:
    locked = startup_failure(sqlite3.OperationalError("database is locked"), DATA, None)
    assert locked.startswith(f"a database in {DATA} cannot be used (OperationalError: database")
    denied = PermissionError(errno.EACCES, "Permission denied", str(DATA / "chain"))
    assert startup_failure(denied, DATA, None) == f"cannot use {DATA / 'chain'}: Permission denied"
    assert startup_failure(ValueError("two\n  lines"), DATA, None) == "two lines"


def test_a_start_says_whether_it_made_the_market_and_what_it_finished() -> None:
    settings = Settings(data_dir=DATA)
    deployed = Deployment(chain_id=1337, address="0x" + "aa" * 20, source_hash="h", block=1)

    def entry(state: EntryState) -> OutboxEntry:
        return OutboxEntry("k", 1337, "0x" + "bb" * 20, 0, b"", b"",
                           TxRequest("0x" + "aa" * 20, b""), state, None, None)

    assert start_summary(settings, deployed, True, []) == (
        "deployed a new market in block 1 of chain 1337")
    assert start_summary(settings, deployed, False, []) == f"resumed the market in {DATA}"
    finished = [entry(EntryState.MINED), entry(EntryState.DROPPED), entry(EntryState.MINED)]
    assert start_summary(settings, deployed, False, finished) == (
        f"resumed the market in {DATA}; finished 3 transaction(s) the last stop left"
        " unconfirmed (1 dropped, 2 mined)")


def test_a_resumed_start_names_the_first_start_settings_it_does_not_use() -> None:
    deployed = Deployment(chain_id=1337, address="0x" + "aa" * 20, source_hash="h", block=1)
    given = Settings(data_dir=DATA, delivery_window_s=7200, settle_grace_s=600,
                     treasury_coins=5)  # fmt: skip
    assert start_summary(given, deployed, False, [], timing=(3600, 600)) == (
        f"resumed the market in {DATA}; GRIDSHARE_DELIVERY_WINDOW_S=7200 is not used: the"
        " market's delivery window stays 3600 s, set at its first start;"
        " GRIDSHARE_TREASURY_COINS is not used: the treasury was made when the chain was")
    # the same values, or none given: nothing to say; a first start uses them all
    assert start_summary(given, deployed, False, [], timing=(7200, 600)) == (
        f"resumed the market in {DATA}; GRIDSHARE_TREASURY_COINS is not used: the treasury"
        " was made when the chain was")
    plain = Settings(data_dir=DATA)
    assert start_summary(plain, deployed, False, [], timing=(1, 1)) == (
        f"resumed the market in {DATA}")
    assert start_summary(given, deployed, True, [], timing=None) == (
        "deployed a new market in block 1 of chain 1337")


def test_a_mechanism_chosen_on_the_operator_page_wins_and_a_setting_it_overrides_is_said(
    caplog: pytest.LogCaptureFixture,
) -> None:
    from gridshare.web.context import _mechanism

    given = Settings(data_dir=DATA, market_mechanism="bulletin")
    assert _mechanism(None, given) == "bulletin"
    assert not caplog.records
    assert _mechanism("auction", given) == "auction"
    assert caplog.messages == [
        "GRIDSHARE_MARKET_MECHANISM=bulletin is not used: the operator chose auction on"
        " /operator, which is kept until chosen again there"
    ]
    caplog.clear()
    assert _mechanism("auction", Settings(data_dir=DATA)) == "auction"  # none given: quiet
    assert _mechanism("bulletin", given) == "bulletin"
    assert not caplog.records
