"""Resident and operator logins: argon2id passwords, encrypted chain keys, recovery phrases."""

from __future__ import annotations

import re
from dataclasses import dataclass, replace

from argon2.exceptions import InvalidHashError, VerificationError
from eth_account import Account
from eth_account.signers.local import LocalAccount
from eth_utils.address import is_checksum_address
from eth_utils.exceptions import ValidationError
from web3 import Web3

from gridshare.services.hashing import COSTS, HashingCost
from gridshare.storage.users import Role, User, UserStore, UserTaken

USERNAME = re.compile(r"^[A-Za-z0-9_.-]{3,32}$")
USERNAME_RULE = "Username: 3-32 letters, digits, '.', '_' or '-'."
MIN_PASSWORD = 8
MAX_PASSWORD = 256
PHRASE_RULE = (
    "Recovery phrase: the 12 words shown when the house was registered, in order, with a"
    " space between words."
)


class AccountError(Exception):
    """A refused account operation, naming the field at fault."""

    def __init__(self, code: str, message: str, field: str | None = None) -> None:
        super().__init__(message)
        self.code, self.message, self.field = code, message, field


@dataclass(frozen=True, slots=True)
class NewResident:
    """A freshly created resident and the recovery phrase to show once."""

    user: User
    recovery_phrase: str | None


@dataclass(frozen=True, slots=True)
class Login:
    """A verified login: the user, and their unlocked key if the server holds one."""

    user: User
    signer: LocalAccount | None


BAD_CHECKSUM = ("This address has a typo: its capital and small letters do not match it"
                " (EIP-55 checksum). Copy it again from the wallet.")


def checksum_holds(address: str) -> bool:
    """A hex address in one case has no checksum to check; one in mixed case must match its
    EIP-55 checksum, which a mistyped character almost always breaks (coins topped up to a
    mistyped address would be lost: no one holds its key)."""
    digits = address[2:]
    return digits in (digits.lower(), digits.upper()) or is_checksum_address(address)


class AccountService:
    """Creates accounts, checks passwords, unlocks and exports keys."""

    def __init__(
        self,
        users: UserStore,
        *,
        cost: HashingCost = COSTS["full"],
    ) -> None:
        self.users = users
        self.scrypt_n = cost.resident_scrypt_n
        self.hasher = cost.password_hasher()  # argon2id
        self._dummy_hash = self.hasher.hash("gridshare-no-such-user")
        Account.enable_unaudited_hdwallet_features()

    def create_resident(
        self, username: str, password: str, house_id: int | None, *, wallet_address: str | None
    ) -> NewResident:
        """A resident with a new key (and recovery phrase), or bound to their own wallet."""
        _check_credentials(username, password)
        if wallet_address is not None:
            if not Web3.is_address(wallet_address):
                raise AccountError("bad_address", "Not an Ethereum address.", "wallet_address")
            if not checksum_holds(wallet_address):
                raise AccountError("bad_checksum", BAD_CHECKSUM, "wallet_address")
            address = Web3.to_checksum_address(wallet_address)
            return NewResident(self._add(username, password, Role.RESIDENT, address, None,
                                         house_id), None)
        account, phrase = Account.create_with_mnemonic()
        keystore = dict(Account.encrypt(account.key, password, kdf="scrypt",
                                        iterations=self.scrypt_n))
        user = self._add(username, password, Role.RESIDENT, account.address, keystore, house_id)
        return NewResident(user, phrase)

    def ensure_operator(self, username: str, password: str, address: str) -> User:
        """The operator's login (created on first start; the key stays the runtime's)."""
        existing = self.users.by_username(username)
        if existing is not None:
            return existing
        return self._add(username, password, Role.OPERATOR, address, None, None)

    def _add(
        self,
        username: str,
        password: str,
        role: Role,
        address: str,
        keystore: dict[str, object] | None,
        house_id: int | None,
    ) -> User:
        try:
            return self.users.add(
                username, self.hasher.hash(password), role, address, keystore, house_id
            )
        except UserTaken as exc:
            raise AccountError("username_taken", "That username is taken.", "username") from exc

    def set_operator_password(self, username: str, new_password: str) -> User:
        """The operator login `username` with `new_password` (its key's new password too:
        the `operator-password` command re-encrypts the keystore file)."""
        current = self.users.by_username(username)
        if current is None or current.role is not Role.OPERATOR:
            raise AccountError("no_operator", f"There is no operator login {username!r}.")
        _check_password(new_password, "new_password")
        return self._set_password(current, new_password, None)

    def login(self, username: str, password: str) -> Login | None:
        """The user and unlocked key if the password is right, else None (same cost either way)."""
        user = self.users.by_username(username) if len(password) <= MAX_PASSWORD else None
        if user is None:
            self._verify(self._dummy_hash, password)
            return None
        if not self._verify(user.password_hash, password):
            return None
        return Login(user, self._unlock(user, password))

    def export_key(self, user: User, password: str) -> str:
        """The private key as 0x-hex, after re-checking the password."""
        if user.keystore is None:
            raise AccountError("no_key", "The server does not hold a key for this account.")
        if not self._verify(user.password_hash, password):
            raise AccountError("wrong_password", "The password is not right.", "password")
        signer = self._unlock(user, password)
        assert signer is not None
        return "0x" + bytes(signer.key).hex()

    def change_password(self, user: User, password: str, new_password: str) -> User:
        """`user` with `new_password`, after the current one; the key is re-encrypted with it.

        The hash and the keystore change in one UPDATE: a failure on the way leaves the old
        password working, never a hash that does not open the stored key."""
        current = self.users.by_id(user.id) or user  # the row, not a session's old copy
        if current.role is Role.OPERATOR:  # it would part from the operator key's password
            raise AccountError(
                "operator_password",
                "The operator's password is also the operator key's: change it on the server"
                " with `gridshare operator-password`, then restart it.", "password",
            )
        if not self._verify(current.password_hash, password):
            raise AccountError("wrong_password", "The password is not right.", "password")
        if new_password == password:  # "changed", the page would say, and nothing would be
            raise AccountError("same_password", "The new password is the current one.",
                               "new_password")
        _check_password(new_password, "new_password")
        return self._set_password(current, new_password, self._unlock(current, password))

    def recover(self, username: str, phrase: str, new_password: str) -> Login:
        """The resident `username` with `new_password`, proved by their 12-word recovery phrase.

        The phrase gives back the key the server created (and keeps only encrypted with the
        forgotten password); it must be this account's key. Wallet-only accounts have no
        phrase here: their key is in their own wallet."""
        words = " ".join(phrase.lower().split())
        if len(words.split()) != 12:
            raise AccountError("bad_phrase", PHRASE_RULE, "recovery_phrase")
        try:
            account: LocalAccount = Account.from_mnemonic(words)
        except (ValidationError, ValueError) as exc:  # a word not in the list, a bad checksum
            raise AccountError("bad_phrase", PHRASE_RULE, "recovery_phrase") from exc
        _check_password(new_password, "new_password")
        user = self.users.by_username(username)
        if user is None or user.keystore is None or user.address != account.address:
            raise AccountError(
                "wrong_phrase", "That recovery phrase is not this username's.", "recovery_phrase"
            )
        return Login(self._set_password(user, new_password, account), account)

    def reset_wallet_password(self, user: User, new_password: str) -> User:
        """A new password the operator gives a wallet-only resident who forgot theirs.

        Only for a login whose key the server does not hold: a held key is encrypted with the
        password, so a reset would lose it (that resident has the recovery phrase instead)."""
        if user.keystore is not None or user.role is not Role.RESIDENT:
            raise AccountError(
                "holds_key",
                "This resident's key is kept here under their password: they set a new one"
                " with their recovery phrase (Forgot your password?), not the operator.",
                "house_id",
            )
        _check_password(new_password, "new_password")
        return self._set_password(user, new_password, None)

    def _set_password(self, user: User, password: str, signer: LocalAccount | None) -> User:
        keystore = None if signer is None else dict(
            Account.encrypt(signer.key, password, kdf="scrypt", iterations=self.scrypt_n)
        )
        password_hash = self.hasher.hash(password)
        self.users.set_password(user.id, password_hash, keystore)
        return replace(user, password_hash=password_hash, keystore=keystore)

    def _verify(self, password_hash: str, password: str) -> bool:
        try:
            return bool(self.hasher.verify(password_hash, password))
        except (VerificationError, InvalidHashError):
            return False

    @staticmethod
    def _unlock(user: User, password: str) -> LocalAccount | None:
        if user.keystore is None:
            return None
        signer: LocalAccount = Account.from_key(Account.decrypt(user.keystore, password))
        return signer


def _check_credentials(username: str, password: str) -> None:
    if not USERNAME.match(username):
        raise AccountError("bad_username", USERNAME_RULE, "username")
    _check_password(password, "password")


def password_problem(password: str) -> str | None:
    """What is wrong with `password` as a new one (its length), or None."""
    if MIN_PASSWORD <= len(password) <= MAX_PASSWORD:
        return None
    return f"at least {MIN_PASSWORD} and at most {MAX_PASSWORD} characters"


def _check_password(password: str, field: str) -> None:
    problem = password_problem(password)
    if problem is not None:
        raise AccountError("weak_password", f"Password: {problem}.", field)
