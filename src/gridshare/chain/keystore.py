"""Encrypted Ethereum keystores (Web3 Secret Storage) on disk."""

from __future__ import annotations

import json
from pathlib import Path

from eth_account import Account
from eth_account.signers.local import LocalAccount

from gridshare.atomic_file import write_atomically

# scrypt cost for the operator's keystore: ~0.1 s here, well under a second on a Pi 4.
OPERATOR_SCRYPT_N = 2**15


class KeystoreError(Exception):
    """A keystore could not be read or unlocked."""


def save_keystore(path: Path, account: LocalAccount, password: str, *, scrypt_n: int) -> None:
    """Write `account`'s key encrypted with `password`, atomically and readable only by us."""
    keyfile = Account.encrypt(account.key, password, kdf="scrypt", iterations=scrypt_n)
    write_atomically(path, json.dumps(keyfile), private=True)


def load_keystore(path: Path, password: str) -> LocalAccount:
    """Unlock the keystore at `path`; a wrong password raises KeystoreError."""
    try:
        keyfile = json.loads(path.read_text(encoding="utf-8"))
        key = Account.decrypt(keyfile, password)
    except ValueError as exc:
        raise KeystoreError(f"cannot unlock {path.name}: wrong password or damaged file") from exc
    account: LocalAccount = Account.from_key(key)
    return account


def load_or_create_keystore(path: Path, password: str, *, scrypt_n: int) -> LocalAccount:
    """Unlock the keystore at `path`, creating a fresh key there on first use."""
    if path.exists():
        return load_keystore(path, password)
    account: LocalAccount = Account.create()
    save_keystore(path, account, password, scrypt_n=scrypt_n)
    return account
