"""EmbeddedProvider: web3 8 deploys, transacts, calls, reads events and revert reasons."""

from __future__ import annotations

import pytest
from eth_account.signers.local import LocalAccount
from web3 import Web3
from web3.contract import Contract
from web3.exceptions import ContractLogicError

from gridshare.chain.embedded import EmbeddedChain, EmbeddedProvider
from tests.unit.chain_embedded.embedded_helpers import CHAIN_ID, Compiled


@pytest.fixture
def w3(chain: EmbeddedChain) -> Web3:
    return Web3(EmbeddedProvider(chain))


def sign_and_send(w3: Web3, account: LocalAccount, tx: dict) -> dict:  # type: ignore[type-arg]
    tx.setdefault("nonce", w3.eth.get_transaction_count(account.address, "pending"))
    tx.setdefault("chainId", CHAIN_ID)
    signed = account.sign_transaction(tx)
    tx_hash = w3.eth.send_raw_transaction(signed.raw_transaction)
    return dict(w3.eth.wait_for_transaction_receipt(tx_hash, timeout=5))


@pytest.fixture
def market(w3: Web3, compiled: Compiled, operator: LocalAccount) -> Contract:
    factory = w3.eth.contract(abi=compiled.abi, bytecode=compiled.bytecode)
    tx = factory.constructor(3600, 600).build_transaction({"from": operator.address})
    receipt = sign_and_send(w3, operator, dict(tx))
    assert receipt["status"] == 1
    contract: Contract = w3.eth.contract(address=receipt["contractAddress"], abi=compiled.abi)
    return contract


def test_web3_sees_the_chain(w3: Web3, operator: LocalAccount) -> None:
    assert w3.is_connected()
    assert w3.eth.chain_id == CHAIN_ID
    assert w3.eth.get_balance(operator.address) == 10**24
    assert w3.eth.gas_price == 0


def test_web3_transacts_calls_and_decodes_events(
    w3: Web3, market: Contract, operator: LocalAccount, residents: list[LocalAccount]
) -> None:
    assert market.functions.operator().call() == operator.address
    tx = market.functions.register_household(residents[0].address, 4, 8).build_transaction(
        {"from": operator.address}
    )
    assert tx["maxFeePerGas"] == 0  # web3 fills fees from the zero base fee
    receipt = sign_and_send(w3, operator, dict(tx))
    (event,) = market.events.HouseholdRegistered().process_receipt(receipt)
    assert event["args"]["account"] == residents[0].address and event["args"]["house_id"] == 4
    logs = market.events.HouseholdRegistered.get_logs(from_block=0)
    assert [log["transactionHash"] for log in logs] == [receipt["transactionHash"]]


def test_revert_reason_reaches_web3_as_contract_logic_error(
    w3: Web3, market: Contract, residents: list[LocalAccount]
) -> None:
    with pytest.raises(ContractLogicError, match="execution reverted: not operator"):
        market.functions.set_timing(1, 1).call({"from": residents[0].address})
    with pytest.raises(ContractLogicError, match="not operator"):
        market.functions.set_timing(1, 1).estimate_gas({"from": residents[0].address})


def test_web3_batch_requests(w3: Web3, operator: LocalAccount) -> None:
    with w3.batch_requests() as batch:
        batch.add(w3.eth.get_block("latest"))
        batch.add(w3.eth.get_balance(operator.address))
        block, balance = batch.execute()
    assert block["number"] == 0  # type: ignore[typeddict-item]
    assert balance == 10**24  # type: ignore[comparison-overlap]
