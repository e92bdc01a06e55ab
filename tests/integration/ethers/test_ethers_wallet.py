"""An ethers v6 wallet (Node) on /rpc of a running `gridshare serve` calls the market."""

from __future__ import annotations

import json
import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest
from eth_account import Account
from web3 import Web3
from web3.providers.rpc import HTTPProvider

from gridshare.chain import EnergyMarket, Transactor, TxRequest, compile_contract
from tests.integration.ethers.gridshare_server import TEST_PASSWORD, ServedProcess, start_server

SCRIPT = Path(__file__).with_name("wallet_deposit.mjs")
COIN = 10**18



@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ServedProcess]:
    served = start_server(tmp_path_factory.mktemp("ethers") / "data")
    yield served
    served.stop()


def test_ethers_wallet_reads_chain_sends_eip1559_call_and_decodes_the_event(
    server: ServedProcess, tmp_path: Path
) -> None:
    health = server.health()
    data_dir = Path(server.log).parent / "data"
    keyfile = json.loads((data_dir / "operator.keystore.json").read_text())
    operator = Account.from_key(Account.decrypt(keyfile, TEST_PASSWORD))
    wallet = Account.create()

    # the operator registers the wallet as a household and tops it up, through /rpc too
    w3 = Web3(HTTPProvider(f"{server.url}/rpc"))
    compiled = compile_contract()
    transactor = Transactor(w3)
    market = EnergyMarket(w3, health["contract_address"], compiled, transactor)
    market.register_household(operator, wallet.address, 42, 4242)
    transactor.transact(operator, TxRequest(wallet.address, b"", 5 * COIN))
    abi_file = tmp_path / "abi.json"
    abi_file.write_text(json.dumps(list(compiled.abi)))

    result = subprocess.run(
        ["node", str(SCRIPT), f"{server.url}/rpc", "0x" + wallet.key.hex(),
         health["contract_address"], str(abi_file), str(2 * COIN)],
        capture_output=True, text=True, timeout=60,
    )  # fmt: skip
    assert result.returncode == 0, result.stderr
    seen = json.loads(result.stdout)

    assert seen["chainId"] == "1337"
    assert seen["wallet"] == wallet.address
    assert int(seen["walletBalance"]) == 5 * COIN
    assert seen["txType"] == 2
    assert seen["status"] == 1
    assert seen["events"] == [
        {"name": "Deposited", "account": wallet.address, "sender": wallet.address,
         "amount": str(2 * COIN)},
    ]  # fmt: skip
    assert int(seen["availableAfter"]) - int(seen["availableBefore"]) == 2 * COIN
    assert market.balances(wallet.address).available == 2 * COIN
    mined = w3.eth.get_transaction(seen["txHash"])
    assert mined["type"] == 2 and mined["blockNumber"] == seen["blockNumber"]
