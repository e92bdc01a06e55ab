"""The full hashing cost is the documented one; the tests' light cost opens the same records."""

from __future__ import annotations

from pathlib import Path

from argon2 import extract_parameters
from eth_account import Account

from gridshare.chain.keystore import OPERATOR_SCRYPT_N
from gridshare.services.accounts import AccountService
from gridshare.services.hashing import COSTS, RESIDENT_SCRYPT_N
from gridshare.storage.database import Database
from gridshare.storage.users import UserStore

PASSWORD = "correct horse battery"


def test_the_full_cost_is_scrypt_2_16_for_residents_2_15_for_the_operator_and_rfc_9106() -> None:
    full = COSTS["full"]
    assert (full.resident_scrypt_n, full.operator_scrypt_n) == (2**16, 2**15)
    assert (RESIDENT_SCRYPT_N, OPERATOR_SCRYPT_N) == (2**16, 2**15)  # docs/keys.md names these
    made = extract_parameters(full.password_hasher().hash(PASSWORD))
    assert (made.time_cost, made.memory_cost, made.parallelism) == (3, 65536, 4)


def test_records_made_at_one_cost_open_at_the_other(tmp_path: Path) -> None:
    """A hash and a keystore carry their own parameters, so switching cost locks no one out."""
    database = Database(tmp_path / "users.db")
    try:
        users = UserStore(database)
        light, full = AccountService(users, cost=COSTS["light"]), AccountService(users)
        created = light.create_resident("amina", PASSWORD, 1, wallet_address=None)
        user = users.by_username("amina")
        assert user is not None and user.keystore is not None
        assert user.keystore["crypto"]["kdfparams"]["n"] == 2**10
        assert extract_parameters(user.password_hash).memory_cost == 1024
        login = full.login("amina", PASSWORD)
        assert login is not None and login.signer is not None
        assert login.signer.address == created.user.address
        assert full.login("amina", "wrong password") is None
        assert Account.decrypt(user.keystore, PASSWORD) == login.signer.key
    finally:
        database.close()
