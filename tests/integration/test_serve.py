"""`gridshare serve` as a real process: first run, restart, --chain on a node, refusals."""

from __future__ import annotations

import contextlib
import json
import shutil
import socket
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from eth_account import Account

from tests.integration.ethers.gridshare_server import (
    TEST_PASSWORD,
    run_serve_once,
    start_server,
)
from tests.support.nodes import NodeProcess, free_port, start_node


@pytest.fixture
def anvil() -> Iterator[NodeProcess]:
    node = start_node("anvil")
    yield node
    node.stop()


def test_first_run_creates_data_dir_and_restart_resumes_same_contract_and_head(
    tmp_path: Path,
) -> None:
    data = tmp_path / "data"
    server = start_server(data)
    try:
        first = server.health()
        assert first["chain"] == "embedded"
        assert first["chain_id"] == 1337
        assert first["head_block"] >= 1  # the deployment
        assert first["contract_address"].startswith("0x")
    finally:
        server.stop()
    assert (data / "chain").is_dir()
    assert (data / "deployment-1337.json").exists()
    keyfile = json.loads((data / "operator.keystore.json").read_text())
    assert Account.decrypt(keyfile, TEST_PASSWORD)  # encrypted with the given password
    assert oct((data / "operator.keystore.json").stat().st_mode)[-3:] == "600"
    assert oct(data.stat().st_mode)[-3:] == "700"  # the meters' keys are in gridshare.sqlite

    data.chmod(0o755)  # as an older version made it
    again = start_server(data)
    try:
        second = again.health()
    finally:
        again.stop()
    assert second["contract_address"] == first["contract_address"]
    assert second["operator"] == first["operator"]
    assert second["head_block"] == first["head_block"]
    # each start says what it did
    assert "gridshare serve: deployed a new market in block" in server.log.read_text()
    assert f"gridshare serve: resumed the market in {data}" in again.log.read_text()
    assert "made the data directory readable by this user only" in again.log.read_text()
    assert oct(data.stat().st_mode)[-3:] == "700"


def test_wrong_operator_password_is_refused_with_a_clear_message(tmp_path: Path) -> None:
    data = tmp_path / "data"
    start_server(data).stop()
    result = run_serve_once(data, password="not the password")
    assert result.returncode == 1
    assert "Traceback" not in result.stderr
    # it said only "cannot unlock operator.keystore.json: wrong password or damaged file",
    # to an operator whose environment file still held the password before operator-password
    assert result.stderr.strip() == (
        f"gridshare serve: the operator password given does not unlock"
        f" {data / 'operator.keystore.json'} (wrong password or damaged file): set"
        " GRIDSHARE_OPERATOR_PASSWORD to it (after `gridshare operator-password`, to the new"
        " one; after a restore, to the one the key had when the backup was made), then start"
        " again")


def test_production_without_operator_password_refuses_to_start(tmp_path: Path) -> None:
    result = run_serve_once(tmp_path / "data", "--production", password=None)
    assert result.returncode == 2
    assert "GRIDSHARE_OPERATOR_PASSWORD" in result.stderr
    assert not (tmp_path / "data" / "operator.keystore.json").exists()


def test_production_refuses_a_first_password_operator_password_would_refuse(
    tmp_path: Path,
) -> None:
    """`serve --production` made the operator key (the treasury's) and the `operator` login
    with a five-letter password, which `gridshare operator-password` refuses as a new one.
    A key made before keeps its password: a village already running is not locked out."""
    data = tmp_path / "data"
    refused = run_serve_once(data, "--production", password="short")
    assert refused.returncode == 2, refused.stderr
    assert refused.stderr.strip() == (
        "gridshare serve: GRIDSHARE_OPERATOR_PASSWORD: at least 8 and at most 256 characters"
        " (it becomes the operator key's password and the operator login's); nothing was"
        " created")
    assert not data.exists()

    start_server(data, password="short").stop()  # made in development mode, as before
    server = start_server(data, "--production", password="short")
    try:
        assert server.health()["status"] == "ok"
    finally:
        server.stop()


def test_chain_url_on_anvil_names_the_unfunded_operator_then_deploys_once_funded(
    tmp_path: Path, anvil: NodeProcess
) -> None:
    data = tmp_path / "data"
    refused = run_serve_once(data, "--chain", anvil.url)
    assert refused.returncode == 1
    keyfile = json.loads((data / "operator.keystore.json").read_text())
    operator = "0x" + keyfile["address"]
    assert operator.lower() in refused.stderr.lower()
    assert "fund it" in refused.stderr

    httpx.post(
        anvil.url,
        json={"jsonrpc": "2.0", "id": 1, "method": "anvil_setBalance",
              "params": [operator, hex(10**21)]},
    ).raise_for_status()  # fmt: skip
    server = start_server(data, "--chain", anvil.url)
    try:
        health = server.health()
        assert health["chain"] == "rpc"
        assert health["operator"].lower() == operator.lower()
        code = server.rpc("eth_getCode", [health["contract_address"], "latest"])["result"]
        assert len(code) > 1000  # forwarded to Anvil: the market is deployed there
        assert server.rpc("anvil_setBalance", [operator, "0x0"])["error"]["code"] == -32601
    finally:
        server.stop()
    restarted = start_server(data, "--chain", anvil.url)
    try:
        assert restarted.health()["contract_address"] == health["contract_address"]
    finally:
        restarted.stop()


def test_a_partly_restored_data_dir_is_refused_instead_of_starting_a_new_market(
    tmp_path: Path,
) -> None:
    """Without its key, its deployment record or its chain, a village's directory would come
    up as a new market with every balance at 0; the server names what is missing instead."""
    data = tmp_path / "data"
    server = start_server(data)
    try:
        second = run_serve_once(data)  # the same directory while the first server runs
        assert second.returncode == 1
        assert "in use by another gridshare process" in second.stderr
        assert "Traceback" not in second.stderr
    finally:
        server.stop()

    for missing in ("operator.keystore.json", "deployment-1337.json", "chain"):
        copy = tmp_path / f"without-{missing}"
        shutil.copytree(data, copy)
        target = copy / missing
        shutil.rmtree(target) if target.is_dir() else target.unlink()
        refused = run_serve_once(copy)
        assert refused.returncode == 1, refused.stderr
        assert "restore" in refused.stderr and "Traceback" not in refused.stderr
        assert not target.exists()  # no new key or empty chain was made in its place
        assert ("chain/ is missing from" if missing == "chain" else missing) in refused.stderr

    # a chain alone (as `gridshare simulate --data` leaves one): no key made, no market deployed
    foreign = tmp_path / "foreign"
    shutil.copytree(data / "chain", foreign / "chain")
    refused = run_serve_once(foreign)
    assert refused.returncode == 1, refused.stderr
    assert "operator.keystore.json is missing" in refused.stderr
    assert sorted(p.name for p in foreign.iterdir()) == ["chain"]


def test_a_chain_node_that_does_not_answer_is_named_in_one_line_and_no_key_is_made(
    tmp_path: Path,
) -> None:
    url = f"http://127.0.0.1:{free_port()}"  # nothing listens there
    refused = run_serve_once(tmp_path / "data", "--chain", url)
    assert refused.returncode == 1
    assert f"no chain node answers at {url}: start it, or check --chain" in refused.stderr
    assert "Traceback" not in refused.stderr and "HTTPConnectionPool" not in refused.stderr
    assert not (tmp_path / "data").exists()  # nothing made: the next start makes it all


def test_a_node_on_another_chain_id_is_refused_before_any_key_is_made(
    tmp_path: Path, anvil: NodeProcess
) -> None:
    refused = run_serve_once(tmp_path / "data", "--chain", anvil.url, "--chain-id", "4242")
    assert refused.returncode == 1
    assert f"the node at {anvil.url} has chain id 1337, settings say 4242" in refused.stderr
    assert not (tmp_path / "data").exists()  # docs/scaling.md: "stops before making anything"


def test_a_stop_ends_open_live_update_streams_instead_of_waiting_for_them(
    tmp_path: Path,
) -> None:
    """A resident's live-update stream runs up to five minutes; a soak test saw SIGTERM wait
    74 s for two of them, and a restart in that time was refused (chain in use)."""
    data = tmp_path / "data"
    server = start_server(data)
    try:
        operator = httpx.Client(base_url=server.url, timeout=30)
        login = {"username": "operator", "password": TEST_PASSWORD}
        csrf = operator.post("/api/v1/session", json=login).json()["csrf_token"]
        household = {
            "name": "House 1", "username": "amina", "password": "correct horse battery",
            "house_id": 1, "meter_id": 1, "meter_url": "http://127.0.0.1:9",
            "meter_key": "33" * 32, "top_up_coins": 0,
        }  # fmt: skip
        created = operator.post("/api/v1/households", json=household,
                                headers={"X-CSRF-Token": csrf})
        assert created.status_code == 201, created.text
        resident = httpx.Client(base_url=server.url, timeout=30)
        login = {"username": "amina", "password": "correct horse battery"}
        assert resident.post("/api/v1/session", json=login).status_code == 200
        lines: list[str] = []

        def listen() -> None:  # as a browser does: reading the stream as it comes
            with contextlib.suppress(httpx.HTTPError), resident.stream(
                "GET", "/api/v1/me/events"
            ) as stream:
                lines.extend(stream.iter_lines())

        listener = threading.Thread(target=listen, daemon=True)
        listener.start()
        deadline = time.monotonic() + 30
        while not any(line.startswith("event: update") for line in lines):
            assert time.monotonic() < deadline, lines
            time.sleep(0.1)
        asked = time.monotonic()
        server.process.terminate()
        code = server.process.wait(timeout=60)
        took = time.monotonic() - asked
    finally:
        server.stop()
    assert code == 0
    assert took < 20, took  # GRACEFUL_SHUTDOWN_S (5 s) and the closing, not the stream's 5 min


def test_a_request_with_an_endless_header_is_cut_off_and_others_are_served(
    tmp_path: Path,
) -> None:
    """A tester streamed one endless header: the server buffered it without limit (129 ->
    400 MB) and answered nobody else for as long as the connection lasted."""
    server = start_server(tmp_path / "data")
    cut_off = threading.Event()

    def stream_a_header(port: int) -> None:
        with socket.create_connection(("127.0.0.1", port), timeout=10) as hostile:
            hostile.sendall(b"GET /api/v1/health HTTP/1.1\r\nHost: x\r\nX-Big: ")
            ends = time.monotonic() + 20
            try:
                while time.monotonic() < ends:
                    hostile.sendall(b"a" * 65_536)
            except OSError:  # the server closed the connection
                cut_off.set()

    try:
        port = int(server.url.rsplit(":", 1)[1])
        sender = threading.Thread(target=stream_a_header, args=(port,), daemon=True)
        sender.start()
        time.sleep(1)  # the header is streaming (or already cut off)
        started = time.monotonic()
        assert server.health()["status"] in ("ok", "disk_low")  # everyone else is served
        assert time.monotonic() - started < 5
        assert cut_off.wait(10)  # refused, not buffered for 20 s
    finally:
        server.stop()
