"""`gridshare operator-password`: a new password for the operator's key and login.

The operator's password is two things on the server: the password of the operator key's file
(`operator.keystore.json`), which `serve` unlocks at start with GRIDSHARE_OPERATOR_PASSWORD,
and the password of the `operator` login in the web app. This changes both, so a server first
started without --production (the public development default) or a password that leaked can
be replaced without starting a new market.
"""

from __future__ import annotations

import argparse
import getpass
import os
import sys
from collections.abc import Callable, Mapping
from pathlib import Path

from gridshare.commands.paths import DEFAULT_DATA, data_dir

CURRENT_VARIABLE = "GRIDSHARE_OPERATOR_PASSWORD"
NEW_VARIABLE = "GRIDSHARE_NEW_OPERATOR_PASSWORD"


def register(subparsers: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    """Add the `operator-password` sub-command."""
    parser = subparsers.add_parser(
        "operator-password",
        help="change the operator's password (its key's and its login's)",
        description="Re-encrypts the operator key (operator.keystore.json) with a new password "
        "and gives the `operator` login the same one. The current password comes from "
        f"{CURRENT_VARIABLE}, else it is asked for (an empty answer means the development "
        "default, for a data directory first started without --production); the new one "
        f"from {NEW_VARIABLE}, else it is asked for twice. Then put the new password in "
        f"{CURRENT_VARIABLE} (the systemd unit's environment file) and restart `gridshare "
        "serve`: the restart also ends every session.",
    )
    parser.add_argument("--data", type=Path, default=None,
                        help="data directory, as given to `serve` (default GRIDSHARE_DATA_DIR, "
                        f"else {DEFAULT_DATA})")
    parser.set_defaults(handler=run)


def _fail(message: object, code: int) -> int:
    print(f"gridshare operator-password: {message}", file=sys.stderr)
    return code


def passwords(
    environ: Mapping[str, str], ask: Callable[[str], str] | None
) -> tuple[str, str] | str:
    """(current, new) from the environment or by asking (None: no terminal to ask on), or
    why there are none."""
    from gridshare.config import DEVELOPMENT_PASSWORD

    current = environ.get(CURRENT_VARIABLE)
    if not current:
        if ask is None:
            return f"set {CURRENT_VARIABLE} to the current password (no terminal to ask on)"
        current = ask("current operator password (empty: the development default): ")
        current = current or DEVELOPMENT_PASSWORD
    new = environ.get(NEW_VARIABLE)
    if not new:
        if ask is None:
            return f"set {NEW_VARIABLE} to the new password (no terminal to ask on)"
        new = ask("new operator password: ")
        if ask("the same new password again: ") != new:
            return "the two new passwords differ; nothing was changed"
    return current, new


def run(args: argparse.Namespace) -> int:
    """Change the password; 2 on bad input or a missing data directory, 1 on a wrong one."""
    from gridshare.chain.keystore import (
        OPERATOR_SCRYPT_N,
        KeystoreError,
        load_keystore,
        save_keystore,
    )
    from gridshare.runtime import DATABASE, KEYSTORE
    from gridshare.services.accounts import AccountError, AccountService
    from gridshare.storage.database import Database
    from gridshare.storage.users import UserStore
    from gridshare.web.context import OPERATOR_USERNAME

    data, named = data_dir(args.data, os.environ)
    keystore, database = data / KEYSTORE, data / DATABASE
    for needed in (keystore, database):
        if not needed.is_file():
            return _fail(f"{named}: {data} has no {needed.name}: is it the data directory "
                         "`gridshare serve` uses?", 2)
    given = passwords(os.environ, getpass.getpass if sys.stdin.isatty() else None)
    if isinstance(given, str):
        return _fail(given, 2)
    current, new = given
    if current == new:
        return _fail("the new password is the current one; nothing was changed", 2)
    try:
        operator = load_keystore(keystore, current)
    except KeystoreError as exc:
        return _fail(f"{exc}: the current password is not right", 1)
    db = Database(database)
    try:
        accounts = AccountService(UserStore(db))
        try:  # checked (length) and saved before the key file: a refusal changes nothing
            accounts.set_operator_password(OPERATOR_USERNAME, new)
        except AccountError as exc:
            return _fail(exc.message.replace("Password:", "the new password:"), 2)
        save_keystore(keystore, operator, new, scrypt_n=OPERATOR_SCRYPT_N)
    finally:
        db.close()
    print(f"the operator key ({operator.address}) and the `{OPERATOR_USERNAME}` login now have "
          f"the new password. Put it in {CURRENT_VARIABLE} (the server's environment file) and "
          "restart `gridshare serve`.")
    return 0
