"""`gridshare serve`: the village server (chain, market, web app, /rpc) on one port."""

from __future__ import annotations

import argparse
import getpass
import logging
import os
import signal
import sys
from collections.abc import Collection
from pathlib import Path

from pydantic import ValidationError

from gridshare.commands.paths import creation_problem, directory_problem
from gridshare.commands.startup import (
    HeldLogs,
    listen_problem,
    log_to_stderr,
    setting_name,
    settings_problems,
    startup_failure,
    startup_failures,
)
from gridshare.config import Settings


def register(subparsers: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    """Add the `serve` sub-command."""
    parser = subparsers.add_parser(
        "serve",
        help="run the server: embedded chain (or --chain URL), market, web app and /rpc",
        description="Create the data directory on first run (chain, deployed contract, "
        "operator key in an encrypted keystore) and resume it afterwards. The operator "
        "keystore password comes from GRIDSHARE_OPERATOR_PASSWORD; with --production and no "
        "such variable, serve asks for it when run on a terminal (twice on the first run). "
        "Without --production and without the variable, a fixed, public development default "
        "is used. The data directory and the port are checked before anything is created.",
        epilog="Every other setting is a GRIDSHARE_* environment variable, e.g. "
        "GRIDSHARE_TIMEZONE=Asia/Karachi (times on the pages; UTC by default), "
        "GRIDSHARE_COIN_SYMBOL, GRIDSHARE_MARKET_MECHANISM, GRIDSHARE_PRUNE_EVERY_BLOCKS "
        "(docs/deployment.md lists them).",
    )
    parser.add_argument(
        "--data", type=Path, default=None,
        help="data directory (default GRIDSHARE_DATA_DIR, else .gridshare/data)",
    )
    parser.add_argument(
        "--host", default=None,
        help="address to bind (default GRIDSHARE_HOST, else 127.0.0.1)",
    )
    parser.add_argument(
        "--port", type=int, default=None, help="port (default GRIDSHARE_PORT, else 8000)"
    )
    parser.add_argument(
        "--chain",
        default=None,
        metavar="URL",
        help="JSON-RPC node URL instead of the embedded chain (default GRIDSHARE_CHAIN_URL)",
    )
    parser.add_argument(
        "--chain-id", type=int, default=None,
        help="chain id (default GRIDSHARE_CHAIN_ID, else 1337)",
    )
    parser.add_argument(
        "--production",
        action="store_true",
        help="refuse default secrets: the operator password must be given "
        "(GRIDSHARE_OPERATOR_PASSWORD, or typed at the prompt on a terminal), and be 8 "
        "characters or more when it makes the operator key",
    )
    parser.set_defaults(handler=run)


def settings_from_args(args: argparse.Namespace) -> Settings:
    """Settings from the command line, on top of GRIDSHARE_* environment variables.

    Only the options given override: an option left out keeps its environment variable.
    """
    overrides = given_settings(args)
    if args.production:
        overrides["environment"] = "production"
        if not os.environ.get("GRIDSHARE_OPERATOR_PASSWORD") and sys.stdin.isatty():
            from gridshare.runtime import KEYSTORE

            data_dir = args.data or Settings(environment="development").data_dir
            overrides["operator_password"] = _ask_password(
                first_run=not (data_dir / KEYSTORE).exists()
            )
    return Settings(**overrides)  # type: ignore[arg-type]


def given_settings(args: argparse.Namespace) -> dict[str, object]:
    """The settings given as options (field -> value); the others come from the environment."""
    given = {
        "data_dir": args.data, "host": args.host, "port": args.port,
        "chain_url": args.chain, "chain_id": args.chain_id,
    }  # fmt: skip
    return {k: v for k, v in given.items() if v is not None}


def _ask_password(*, first_run: bool) -> str:
    """The operator keystore password from the terminal; twice when it makes the keystore."""
    password = getpass.getpass("operator keystore password: ")
    if not password:
        print("gridshare serve: the operator keystore password cannot be empty; nothing was"
              " created", file=sys.stderr)
        raise SystemExit(2)
    problem = new_password_problem(password) if first_run else None
    if problem is not None:
        print(f"gridshare serve: the operator password: {problem}; nothing was created",
              file=sys.stderr)
        raise SystemExit(2)
    if first_run and getpass.getpass("the same password again: ") != password:
        print("gridshare serve: the two passwords differ; nothing was created", file=sys.stderr)
        raise SystemExit(2)
    return password


def run(args: argparse.Namespace) -> int:
    """Start the server and block until it stops.

    A setting it cannot use, a data directory it cannot create or a port in use is refused
    with exit code 2 before anything is created; any other failed start is one line and 1.
    """
    import uvicorn

    from gridshare.runtime import build_runtime
    from gridshare.web.app import GRACEFUL_SHUTDOWN_S, create_app
    from gridshare.web.http_protocol import HTTP_PROTOCOL

    given = {*given_settings(args), *(["environment"] if args.production else [])}
    try:
        settings = settings_from_args(args)
    except ValidationError as exc:
        for line in settings_problems(exc, given):
            print(f"gridshare serve: {line}", file=sys.stderr)
        return 2
    problem = before_start_problem(settings, given)
    if problem is not None:
        print(f"gridshare serve: {problem}", file=sys.stderr)
        return 2
    # build the runtime before the web server, so a start-up problem is one clear line
    held = HeldLogs()
    ours = logging.getLogger("gridshare")
    ours.addHandler(held)
    try:
        runtime = build_runtime(settings)
    except startup_failures() as exc:
        failure = startup_failure(exc, settings.data_dir, settings.chain_url, held.exceptions())
        print(f"gridshare serve: {failure}", file=sys.stderr)
        return 1
    finally:
        ours.removeHandler(held)
    if settings.operator_password is None:
        print(
            "gridshare serve: development mode: the operator key's password is the public "
            "default. A village server starts with --production from its first run.",
            file=sys.stderr,
        )
    print(
        f"gridshare serve: {runtime.chain.kind} chain {settings.chain_id}, market "
        f"{runtime.market.address}, operator {runtime.operator.address}\n"
        f"gridshare serve: {runtime.started}",
        file=sys.stderr,
        flush=True,
    )
    log_to_stderr(logging.INFO)
    held.replay()  # what was logged while starting, now that the log has somewhere to go
    # uvicorn shuts down gracefully on SIGTERM/SIGINT, then re-raises the signal: turn it
    # into an exception here so the runtime is closed and the exit status is 0
    for stop_signal in (signal.SIGTERM, signal.SIGINT):
        signal.signal(stop_signal, _stop)
    try:
        app = create_app(settings, runtime)
        uvicorn.run(app, host=settings.host, port=settings.port, log_level="info",
                    http=HTTP_PROTOCOL, timeout_graceful_shutdown=GRACEFUL_SHUTDOWN_S)
    except _Stopped:
        pass
    except SystemExit as exc:  # uvicorn could not start; its ERROR line above says why
        if not exc.code:
            return 0
        print(f"gridshare serve: the web server could not start on {settings.host}:"
              f"{settings.port} (see the error above)", file=sys.stderr)
        return 1
    finally:
        runtime.close()
    return 0


def new_password_problem(password: str) -> str | None:
    """What is wrong with `password` for a new operator key: the rule `gridshare
    operator-password` holds a new one to (it is also the `operator` login's)."""
    from gridshare.services.accounts import password_problem

    return password_problem(password)


def before_start_problem(settings: Settings, given: Collection[str]) -> str | None:
    """Why the server cannot start with these settings, found before anything is created:
    a data directory that cannot be made, a host or port the web server cannot listen on,
    a production server's first password too short to guard the operator key."""
    from gridshare.runtime import KEYSTORE

    data = settings.data_dir
    problem = directory_problem(data) or creation_problem(data)
    if problem is not None:
        return f"{setting_name('data_dir', given, data)}: {problem}"
    password = settings.operator_password
    if (settings.environment == "production" and password is not None
            and not (data / KEYSTORE).exists()):  # a key already made keeps its password
        problem = new_password_problem(password.get_secret_value())
        if problem is not None:
            return (f"{setting_name('operator_password', given)}: {problem} (it becomes the "
                    "operator key's password and the operator login's); nothing was created")
    refused = listen_problem(settings.host, settings.port)
    if refused is None:
        return None
    field, rule = refused
    value = settings.host if field == "host" else settings.port
    return f"{setting_name(field, given, value)}: {rule}"


class _Stopped(Exception):
    """The server was asked to stop by a signal, after uvicorn's graceful shutdown."""


def _stop(signum: int, frame: object) -> None:
    raise _Stopped(signum)
