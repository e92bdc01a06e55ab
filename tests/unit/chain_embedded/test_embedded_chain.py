"""EmbeddedChain: persistence, block production, clock, fees, validation, snapshots."""

from __future__ import annotations

import os
import subprocess
import sys
import threading
from pathlib import Path

import pytest
from eth_account.signers.local import LocalAccount
from eth_utils.address import to_checksum_address
from web3 import Web3

from gridshare.chain.embedded import (
    CallRequest,
    ChainMismatch,
    EmbeddedChain,
    EmbeddedProvider,
    ExecutionReverted,
    InvalidTransaction,
    LogFilter,
    RpcDispatcher,
    UnknownBlock,
    open_embedded_chain,
)
from gridshare.services.chain_clock import ChainClock
from tests.unit.chain_embedded.embedded_helpers import (
    CHAIN_ID,
    GENESIS_TIME,
    TREASURY_WEI,
    Compiled,
    FakeClock,
    addr,
    call_raw,
    deploy_raw,
    encode_call,
    topic,
    transfer,
)

REGISTERED = topic("HouseholdRegistered(address,uint32,uint32)")


def deploy(chain: EmbeddedChain, compiled: Compiled, operator: LocalAccount, nonce: int) -> str:
    tx_hash = chain.send_raw_transaction(deploy_raw(compiled, operator, nonce))
    record = chain.transaction(tx_hash)
    assert record is not None and record.status == 1 and record.contract_address
    return to_checksum_address(record.contract_address)


def test_genesis_funds_the_treasury_with_zero_base_fee(
    chain: EmbeddedChain, operator: LocalAccount
) -> None:
    assert chain.block_number == 0
    assert chain.balance(addr(operator.address)) == TREASURY_WEI
    assert chain.head.base_fee_per_gas == 0
    assert chain.head.timestamp == GENESIS_TIME
    assert chain.chain_id == CHAIN_ID


def test_signature_recovery_uses_coincurve() -> None:
    assert EmbeddedChain.signature_backend() == "CoinCurveECCBackend"


def test_keccak_runs_on_safe_pysha3_in_a_fresh_process() -> None:
    """eth-hash would pick pycryptodome (10x the cost per hash) unless gridshare chooses."""
    code = ("import gridshare.chain\nfrom eth_hash.auto import keccak\n"
            "assert keccak(b'').hex().startswith('c5d2460186f7')\n"
            "print(type(keccak.hasher.__self__).__name__)")  # fmt: skip
    env = {k: v for k, v in os.environ.items() if k != "ETH_HASH_BACKEND"}
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         env=env, check=True)  # fmt: skip
    assert out.stdout.strip() == "PySha3Backend"


def test_each_transaction_is_mined_into_its_own_block(
    chain: EmbeddedChain, operator: LocalAccount, residents: list[LocalAccount]
) -> None:
    to = residents[0].address
    hashes = [chain.send_raw_transaction(transfer(operator, n, to, 5)) for n in range(3)]
    assert chain.block_number == 3
    assert [chain.transaction(h).block_number for h in hashes] == [1, 2, 3]  # type: ignore[union-attr]
    assert chain.balance(addr(to)) == 15
    assert chain.nonce(addr(operator.address)) == 3


@pytest.mark.parametrize("tx_type", [0, 1, 2])
def test_zero_gas_price_is_accepted_for_every_transaction_type(
    chain: EmbeddedChain, operator: LocalAccount, residents: list[LocalAccount], tx_type: int
) -> None:
    tx_hash = chain.send_raw_transaction(transfer(operator, 0, residents[0].address, 7, tx_type))
    record = chain.transaction(tx_hash)
    assert record is not None and record.status == 1 and record.effective_gas_price == 0
    assert chain.balance(addr(operator.address)) == TREASURY_WEI - 7


def test_base_fee_stays_zero_after_a_block_more_than_half_full(
    chain: EmbeddedChain, compiled: Compiled, operator: LocalAccount
) -> None:
    chain.send_raw_transactions([deploy_raw(compiled, operator, n) for n in range(6)])
    assert chain.block_number == 1
    assert chain.head.gas_used > chain.head.gas_limit // 2
    chain.send_raw_transaction(transfer(operator, 6, operator.address))
    assert chain.head.base_fee_per_gas == 0


def test_batch_puts_many_transactions_into_one_block(
    chain: EmbeddedChain, operator: LocalAccount, residents: list[LocalAccount]
) -> None:
    raws = [transfer(operator, n, residents[n % 4].address, 1) for n in range(100)]
    hashes = chain.send_raw_transactions(raws)
    assert chain.block_number == 1
    records = chain.block_transactions(chain.head)
    assert [r.hash for r in records] == hashes
    assert [r.tx_index for r in records] == list(range(100))
    assert records[-1].cumulative_gas_used == 100 * 21_000


def test_without_automine_transactions_wait_for_mine_pending(
    chain: EmbeddedChain, operator: LocalAccount, residents: list[LocalAccount]
) -> None:
    chain.set_automine(False)
    for n in range(5):
        chain.send_raw_transaction(transfer(operator, n, residents[0].address))
    assert chain.block_number == 0
    assert chain.nonce(addr(operator.address), "pending") == 5
    assert chain.nonce(addr(operator.address)) == 0
    assert len(chain.pending_transactions()) == 5
    header = chain.mine_pending()
    assert header is not None and header.block_number == 1
    assert len(chain.block_transactions(header)) == 5
    assert chain.mine_pending() is None


def test_batch_context_mines_one_block(
    chain: EmbeddedChain, operator: LocalAccount, residents: list[LocalAccount]
) -> None:
    with chain.batch():
        for n in range(4):
            chain.send_raw_transaction(transfer(operator, n, residents[1].address))
    assert chain.block_number == 1 and chain.automine


def test_block_that_would_exceed_the_gas_limit_is_split(
    chain: EmbeddedChain, compiled: Compiled, operator: LocalAccount
) -> None:
    hashes = chain.send_raw_transactions([deploy_raw(compiled, operator, n) for n in range(12)])
    assert chain.block_number == 2  # ~2.7M gas used each: 10 fit in 30M, 2 go to block 2
    first = chain.block_transactions(chain.header(1))
    assert len(first) == 10 and first[-1].cumulative_gas_used <= chain.head.gas_limit
    assert [r.hash for r in first + chain.block_transactions(chain.head)] == hashes


def test_refused_transactions_leave_the_chain_unchanged(
    chain: EmbeddedChain, operator: LocalAccount, residents: list[LocalAccount]
) -> None:
    to = residents[0].address
    with pytest.raises(InvalidTransaction, match="nonce"):
        chain.send_raw_transaction(transfer(operator, 3, to))
    with pytest.raises(InvalidTransaction, match="chain id"):
        chain.send_raw_transaction(transfer(operator, 0, to, chainId=99))
    with pytest.raises(InvalidTransaction):
        chain.send_raw_transaction(transfer(residents[1], 0, to, 10**30))  # no funds
    with pytest.raises(InvalidTransaction):
        chain.send_raw_transaction(b"\x02garbage")
    assert chain.block_number == 0
    chain.send_raw_transaction(transfer(operator, 0, to))
    assert chain.block_number == 1


def test_a_checked_send_that_would_revert_is_refused_and_leaves_no_trace(
    chain: EmbeddedChain, compiled: Compiled, operator: LocalAccount, residents: list[LocalAccount]
) -> None:
    market = deploy(chain, compiled, operator, 0)
    stranger = residents[2]  # not a registered household: place_order reverts
    offer = encode_call("place_order(bool,uint256,uint256,uint256)", False, 5, 2, 2**40)
    head, balance = chain.block_number, chain.balance(addr(stranger.address))
    with pytest.raises(ExecutionReverted, match="not household") as refused:
        chain.send_raw_transaction(call_raw(stranger, 0, market, offer), refuse_failed=True)
    assert refused.value.data[:4] == bytes.fromhex("08c379a0")  # Error(string) for the caller
    assert chain.block_number == head  # nothing mined, not even an empty block
    assert chain.nonce(addr(stranger.address), "pending") == 0  # the nonce is still free
    assert chain.balance(addr(stranger.address)) == balance
    # the same transaction sent plainly is mined as failed, as on any node
    failed = chain.transaction(chain.send_raw_transaction(call_raw(stranger, 0, market, offer)))
    assert failed is not None and failed.status == 0


def test_a_refused_checked_send_in_a_batch_keeps_the_others(
    chain: EmbeddedChain, compiled: Compiled, operator: LocalAccount, residents: list[LocalAccount]
) -> None:
    market = deploy(chain, compiled, operator, 0)
    seller, stranger = residents[0], residents[2]
    register = encode_call("register_household(address,uint32,uint32)", seller.address, 1, 1)
    offer = encode_call("place_order(bool,uint256,uint256,uint256)", False, 5, 2, 2**40)
    with chain.batch():
        chain.send_raw_transaction(call_raw(operator, 1, market, register), refuse_failed=True)
        with pytest.raises(ExecutionReverted, match="not household"):
            chain.send_raw_transaction(call_raw(stranger, 0, market, offer), refuse_failed=True)
        chain.send_raw_transaction(call_raw(seller, 0, market, offer), refuse_failed=True)
    mined = chain.block_transactions(chain.head)
    assert [r.sender for r in mined] == [addr(operator.address), addr(seller.address)]
    assert all(r.status == 1 for r in mined)
    assert chain.nonce(addr(stranger.address)) == 0


def test_state_logs_and_head_survive_reopening(
    tmp_path: Path,
    compiled: Compiled,
    operator: LocalAccount,
    residents: list[LocalAccount],
    clock: FakeClock,
) -> None:
    data_dir = tmp_path / "chain"
    chain = open_embedded_chain(data_dir, CHAIN_ID, {addr(operator.address): TREASURY_WEI},
                                clock=clock)
    market = deploy(chain, compiled, operator, 0)
    register = encode_call("register_household(address,uint32,uint32)", residents[0].address, 3, 9)
    chain.send_raw_transaction(call_raw(operator, 1, market, register))
    chain.send_raw_transaction(transfer(operator, 2, residents[0].address, 1234))
    before = (chain.head.hash, chain.code(addr(market)), chain.storage_at(addr(market), 1))
    logs_before = chain.logs(LogFilter(0, chain.block_number, (addr(market),), ((REGISTERED,),)))
    chain.close()

    reopened = open_embedded_chain(data_dir, CHAIN_ID, {}, clock=clock)
    assert (reopened.head.hash, reopened.code(addr(market)),
            reopened.storage_at(addr(market), 1)) == before
    assert reopened.storage_at(addr(market), 1) == int(operator.address, 16)  # operator slot
    assert reopened.balance(addr(residents[0].address)) == 1234
    assert reopened.nonce(addr(operator.address)) == 3
    assert reopened.logs(
        LogFilter(0, reopened.block_number, (addr(market),), ((REGISTERED,),))
    ) == logs_before != []
    reopened.send_raw_transaction(transfer(operator, 3, residents[1].address))
    assert reopened.block_number == 4
    reopened.close()


def test_reopening_with_another_chain_id_is_refused(tmp_path: Path) -> None:
    open_embedded_chain(tmp_path, 1337, {}).close()
    with pytest.raises(ChainMismatch):
        open_embedded_chain(tmp_path, 1338, {})


def test_block_timestamps_follow_the_callers_clock_and_never_go_back(
    chain: EmbeddedChain, operator: LocalAccount, clock: FakeClock
) -> None:
    clock.now = GENESIS_TIME + 100
    chain.send_raw_transaction(transfer(operator, 0, operator.address))
    assert chain.head.timestamp == GENESIS_TIME + 100
    chain.send_raw_transaction(transfer(operator, 1, operator.address))
    assert chain.head.timestamp == GENESIS_TIME + 100  # same second: same timestamp
    clock.now = GENESIS_TIME + 101
    chain.send_raw_transaction(transfer(operator, 2, operator.address))
    assert chain.head.timestamp == GENESIS_TIME + 101
    chain.set_next_timestamp(GENESIS_TIME + 5000)
    chain.mine_block()
    assert chain.head.timestamp == GENESIS_TIME + 5000
    with pytest.raises(ValueError, match="greater"):
        chain.set_next_timestamp(GENESIS_TIME + 5000)
    clock.now = GENESIS_TIME + 6000
    assert chain.increase_time(60) == 60
    chain.mine_block()
    assert chain.head.timestamp == GENESIS_TIME + 6060
    chain.set_clock(lambda: GENESIS_TIME + 9000)
    chain.mine_block()
    assert chain.head.timestamp == GENESIS_TIME + 9060


def test_a_burst_of_transactions_does_not_push_block_time_ahead_of_the_clock(
    chain: EmbeddedChain, operator: LocalAccount, clock: FakeClock
) -> None:
    """300 transactions in one second of the clock: 300 blocks, all stamped that second.

    With timestamps forced to parent + 1 the chain's clock would now be 5 minutes ahead of
    the meters', and every deadline the contract sets from block.timestamp with it.
    """
    clock.now = GENESIS_TIME + 500
    first = chain.block_number + 1
    for nonce in range(300):
        chain.send_raw_transaction(transfer(operator, nonce, operator.address))
    assert chain.block_number == first + 299
    assert {chain.header(n).timestamp for n in range(first, first + 300)} == {GENESIS_TIME + 500}
    clock.now = GENESIS_TIME + 501
    chain.mine_block()
    assert chain.head.timestamp == GENESIS_TIME + 501


def test_contract_sees_the_block_timestamp(
    chain: EmbeddedChain,
    compiled: Compiled,
    operator: LocalAccount,
    residents: list[LocalAccount],
    clock: FakeClock,
) -> None:
    market = deploy(chain, compiled, operator, 0)
    seller = residents[0]
    register = encode_call("register_household(address,uint32,uint32)", seller.address, 1, 1)
    chain.send_raw_transaction(call_raw(operator, 1, market, register))
    # place_order requires expires_at > block.timestamp
    offer = encode_call(
        "place_order(bool,uint256,uint256,uint256)", False, 5, 2, GENESIS_TIME + 150
    )
    clock.now = GENESIS_TIME + 100
    chain.mine_block()
    order_id = chain.call(CallRequest(addr(seller.address), addr(market), offer))
    assert order_id == (1).to_bytes(32, "big")
    clock.now = GENESIS_TIME + 150
    chain.mine_block()
    with pytest.raises(ExecutionReverted, match="bad expiry"):
        chain.call(CallRequest(addr(seller.address), addr(market), offer))


def test_reads_of_unknown_blocks_raise(chain: EmbeddedChain) -> None:
    with pytest.raises(UnknownBlock):
        chain.header(5)
    with pytest.raises(UnknownBlock):
        chain.header(b"\x01" * 32)


def test_revert_to_a_snapshot_is_durable_and_the_chain_continues(
    tmp_path: Path, operator: LocalAccount, residents: list[LocalAccount]
) -> None:
    chain = open_embedded_chain(tmp_path, CHAIN_ID, {addr(operator.address): TREASURY_WEI})
    chain.send_raw_transaction(transfer(operator, 0, residents[0].address, 1))
    snapshot = chain.snapshot()
    orphan = chain.send_raw_transaction(transfer(operator, 1, residents[0].address, 2))
    assert chain.revert(snapshot)
    assert not chain.revert(snapshot)  # used up
    assert chain.block_number == 1 and chain.transaction(orphan) is None
    assert chain.balance(addr(residents[0].address)) == 1
    again = chain.send_raw_transaction(transfer(operator, 1, residents[0].address, 3))
    head = chain.head.hash
    chain.close()
    reopened = open_embedded_chain(tmp_path, CHAIN_ID)
    assert reopened.head.hash == head and reopened.transaction(again) is not None
    assert reopened.balance(addr(residents[0].address)) == 4
    reopened.close()


def test_estimate_gas_is_enough_and_close_to_what_is_used(
    chain: EmbeddedChain, compiled: Compiled, operator: LocalAccount, residents: list[LocalAccount]
) -> None:
    market = deploy(chain, compiled, operator, 0)
    register = encode_call("register_household(address,uint32,uint32)", residents[0].address, 3, 9)
    estimate = chain.estimate_gas(CallRequest(addr(operator.address), addr(market), register))
    tx_hash = chain.send_raw_transaction(call_raw(operator, 1, market, register, gas=estimate))
    record = chain.transaction(tx_hash)
    assert record is not None and record.status == 1
    assert record.gas_used <= estimate <= record.gas_used * 1.1


def test_concurrent_senders_are_serialized(
    tmp_path: Path, operator: LocalAccount, residents: list[LocalAccount]
) -> None:
    senders = [operator, *residents]
    chain = open_embedded_chain(tmp_path, CHAIN_ID, {addr(a.address): 10**20 for a in senders})
    errors: list[BaseException] = []

    def send_all(account: LocalAccount) -> None:
        try:
            for n in range(20):
                chain.send_raw_transaction(transfer(account, n, operator.address))
        except BaseException as exc:
            errors.append(exc)

    threads = [threading.Thread(target=send_all, args=(a,)) for a in senders]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert errors == []
    assert chain.block_number == 20 * len(senders) == chain.transaction_count()
    assert all(chain.nonce(addr(a.address)) == 20 for a in senders)
    chain.close()


def test_the_engines_chain_clock_reads_the_next_blocks_own_timestamp(
    chain: EmbeddedChain, operator: LocalAccount, clock: FakeClock
) -> None:
    """After a block in this second, the engine's `now` is this second, not one ahead."""
    engine_clock = ChainClock(Web3(EmbeddedProvider(RpcDispatcher(chain))), clock)
    clock.now = GENESIS_TIME + 700
    chain.send_raw_transaction(transfer(operator, 0, operator.address))
    assert engine_clock.next_block() == GENESIS_TIME + 700
    chain.send_raw_transaction(transfer(operator, 1, operator.address))
    assert chain.head.timestamp == engine_clock.next_block() == GENESIS_TIME + 700


def test_next_timestamp_is_the_one_the_next_block_gets(
    chain: EmbeddedChain, operator: LocalAccount, clock: FakeClock
) -> None:
    """The simulation's `now`: the clock's second, a fixed next timestamp, never the past."""
    clock.now = GENESIS_TIME + 800
    assert chain.next_timestamp() == GENESIS_TIME + 800
    chain.send_raw_transaction(transfer(operator, 0, operator.address))
    assert chain.head.timestamp == chain.next_timestamp() == GENESIS_TIME + 800
    chain.set_next_timestamp(GENESIS_TIME + 900)
    assert chain.next_timestamp() == GENESIS_TIME + 900  # ahead of the clock, as asked
    chain.send_raw_transaction(transfer(operator, 1, operator.address))
    assert chain.head.timestamp == chain.next_timestamp() == GENESIS_TIME + 900
    clock.now = GENESIS_TIME + 901
    assert chain.next_timestamp() == GENESIS_TIME + 901
