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
import sqlite3
import sys
from collections.abc import Callable, Mapping

from gridshare.commands.paths import add_data_option, data_dir

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
    add_data_option(parser)
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
    """Change the password; 2 on bad input or a missing data directory, 1 if it could not.

    The key file is written first (atomically), then the login's hash; if the hash cannot be
    written, the key file is put back under the current password, so either both change or
    neither does."""
    from gridshare.chain.keystore import (
        OPERATOR_SCRYPT_N,
        KeystoreError,
        load_keystore,
        save_keystore,
    )
    from gridshare.config import DEVELOPMENT_PASSWORD
    from gridshare.runtime import DATABASE, KEYSTORE
    from gridshare.services.accounts import AccountService, password_problem
    from gridshare.storage.database import Database
    from gridshare.storage.users import Role, UserStore
    from gridshare.web.context import OPERATOR_USERNAME

    data, named = data_dir(args.data, os.environ)
    keystore, database = data / KEYSTORE, data / DATABASE
    try:
        missing = [p.name for p in (keystore, database) if not p.is_file()]
        owner = keystore.stat() if not missing else None
    except OSError as exc:
        return _fail(f"cannot read {data} ({exc.strerror}): run this as the user `gridshare "
                     "serve` runs as (the service: sudo -u gridshare)", 1)
    if missing:
        return _fail(f"{named}: {data} has no {missing[0]}: is it the data directory "
                     "`gridshare serve` uses?", 2)
    given = passwords(os.environ, getpass.getpass if sys.stdin.isatty() else None)
    if isinstance(given, str):
        return _fail(given, 2)
    current, new = given
    problem = password_problem(new)
    if problem is None and new == DEVELOPMENT_PASSWORD:
        problem = "it is the public development password"
    if problem is None and new == current:
        problem = "it is the current one"
    if problem is not None:
        return _fail(f"the new password: {problem}; nothing was changed", 2)
    try:
        operator = load_keystore(keystore, current)
    except KeystoreError as exc:
        return _fail(f"{exc}; nothing was changed", 1)

    def write_key(password: str) -> None:
        save_keystore(keystore, operator, password, scrypt_n=OPERATOR_SCRYPT_N)
        if owner is not None and os.geteuid() == 0:  # sudo: the file stays the server's
            os.chown(keystore, owner.st_uid, owner.st_gid)

    try:
        write_key(new)
    except OSError as exc:
        return _fail(f"cannot write {keystore} ({exc.strerror}); nothing was changed", 1)
    try:
        db = Database(database)
        try:
            users = UserStore(db)
            login = users.by_username(OPERATOR_USERNAME)
            if login is not None and login.role is Role.OPERATOR:
                AccountService(users).set_operator_password(OPERATOR_USERNAME, new)
        finally:
            db.close()
    except (sqlite3.Error, OSError) as exc:
        try:
            write_key(current)
        except OSError:
            return _fail(f"cannot update the login in {database} ({exc}), nor put the key file "
                         "back: the key has the new password, the login the current one; run "
                         "this again with the new password as the current one", 1)
        return _fail(f"cannot update the login in {database} ({exc}); nothing was changed", 1)
    print(f"the operator key ({operator.address}) and the `{OPERATOR_USERNAME}` login now have "
          f"the new password. Put it in {CURRENT_VARIABLE} (the server's environment file) and "
          "restart `gridshare serve`.")
    return 0
