"""gridshare's EIP-1559 signer makes byte for byte the transaction eth-account makes."""

from __future__ import annotations

from eth_account import Account
from eth_utils.address import to_checksum_address
from hypothesis import given, settings
from hypothesis import strategies as st

from gridshare.chain.signing import Eip1559

SECP256K1_N = 0xFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFEBAAEDCE6AF48A03BBFD25E8CD0364141
keys = st.integers(1, SECP256K1_N - 1).map(lambda k: k.to_bytes(32, "big"))
uint64 = st.integers(0, 2**64 - 1)
uint256 = st.integers(0, 2**256 - 1)


@settings(max_examples=200, deadline=None)
@given(
    key=keys,
    chain_id=st.integers(1, 2**32),
    nonce=uint64,
    tip=uint256,
    max_fee=uint256,
    gas=st.integers(21_000, 2**63 - 1),
    to=st.one_of(st.just(b""), st.binary(min_size=20, max_size=20)),
    value=uint256,
    data=st.binary(max_size=300),
)
def test_signed_bytes_equal_eth_accounts(
    key: bytes, chain_id: int, nonce: int, tip: int, max_fee: int, gas: int, to: bytes,
    value: int, data: bytes,
) -> None:
    ours = Eip1559(chain_id, nonce, tip, max_fee, gas, to, value, data).sign(key)
    params: dict[str, object] = {
        "type": 2, "chainId": chain_id, "nonce": nonce, "maxPriorityFeePerGas": tip,
        "maxFeePerGas": max_fee, "gas": gas, "value": value, "data": data,
    }  # fmt: skip
    if to:
        params["to"] = to_checksum_address(to)
    theirs = Account.sign_transaction(params, key).raw_transaction
    assert ours == bytes(theirs)


def test_the_sender_recovered_from_the_signature_is_the_key_owner() -> None:
    account = Account.create()
    raw = Eip1559(1337, 7, 0, 0, 50_000, b"\x11" * 20, 5, b"\x01\x02").sign(bytes(account.key))
    assert Account.recover_transaction(raw) == account.address
