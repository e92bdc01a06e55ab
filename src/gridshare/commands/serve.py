"""`gridshare serve`: the village server (chain, market, web app, /rpc) on one port."""

from __future__ import annotations

import argparse
import getpass
import logging
import os
import signal
import sys
from pathlib import Path

from pydantic import ValidationError

from gridshare.config import Settings


def register(subparsers: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    """Add the `serve` sub-command."""
    parser = subparsers.add_parser(
        "serve",
        help="run the server: embedded chain (or --chain URL), market, web app and /rpc",
        description="Create the data directory on first run (chain, deployed contract, "
        "operator key in an encrypted keystore) and resume it afterwards. The operator "
        "keystore password comes from GRIDSHARE_OPERATOR_PASSWORD or a prompt; in "
        "development a fixed default is used.",
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
        help="JSON-RPC node URL instead of the embedded chain",
    )
    parser.add_argument("--chain-id", type=int, default=None, help="chain id (default 1337)")
    parser.add_argument(
        "--production",
        action="store_true",
        help="refuse default secrets: the operator password must be given",
    )
    parser.set_defaults(handler=run)


def settings_from_args(args: argparse.Namespace) -> Settings:
    """Settings from the command line, on top of GRIDSHARE_* environment variables.

    Only the options given override: an option left out keeps its environment variable.
    """
    given = {
        "data_dir": args.data, "host": args.host, "port": args.port,
        "chain_url": args.chain, "chain_id": args.chain_id,
    }  # fmt: skip
    overrides: dict[str, object] = {k: v for k, v in given.items() if v is not None}
    if args.production:
        overrides["environment"] = "production"
        if not os.environ.get("GRIDSHARE_OPERATOR_PASSWORD") and sys.stdin.isatty():
            from gridshare.runtime import KEYSTORE

            data_dir = args.data or Settings(environment="development").data_dir
            overrides["operator_password"] = _ask_password(
                first_run=not (data_dir / KEYSTORE).exists()
            )
    return Settings(**overrides)  # type: ignore[arg-type]


def _ask_password(*, first_run: bool) -> str | None:
    """The operator keystore password from the terminal; twice when it makes the keystore."""
    password = getpass.getpass("operator keystore password: ")
    if first_run and password and getpass.getpass("the same password again: ") != password:
        print("gridshare serve: the two passwords differ; nothing was created", file=sys.stderr)
        raise SystemExit(2)
    return password or None


def run(args: argparse.Namespace) -> int:
    """Start the server and block until it stops."""
    import uvicorn

    from gridshare.chain.embedded import EmbeddedChainError
    from gridshare.chain.errors import ChainError
    from gridshare.chain.keystore import KeystoreError
    from gridshare.runtime import StartupError, build_runtime
    from gridshare.web.app import create_app

    try:
        settings = settings_from_args(args)
    except ValidationError as exc:
        for error in exc.errors():
            field = ".".join(str(p) for p in error["loc"]) or "settings"
            message = str(error["msg"]).removeprefix("Value error, ")
            print(f"gridshare serve: {field}: {message}", file=sys.stderr)
        return 2
    # build the runtime before the web server, so a start-up problem is one clear line
    try:
        runtime = build_runtime(settings)
    except (StartupError, KeystoreError, ChainError, EmbeddedChainError, OSError) as exc:
        print(f"gridshare serve: {exc}", file=sys.stderr)
        return 1
    if settings.operator_password is None:
        print(
            "gridshare serve: development mode: the operator key's password is the public "
            "default. A village server starts with --production from its first run.",
            file=sys.stderr,
        )
    print(
        f"gridshare serve: {runtime.chain.kind} chain {settings.chain_id}, market "
        f"{runtime.market.address}, operator {runtime.operator.address}",
        file=sys.stderr,
        flush=True,
    )
    _log_to_stderr()
    # uvicorn shuts down gracefully on SIGTERM/SIGINT, then re-raises the signal: turn it
    # into an exception here so the runtime is closed and the exit status is 0
    for stop_signal in (signal.SIGTERM, signal.SIGINT):
        signal.signal(stop_signal, _stop)
    try:
        app = create_app(settings, runtime)
        uvicorn.run(app, host=settings.host, port=settings.port, log_level="info")
    except _Stopped:
        pass
    finally:
        runtime.close()
    return 0


def _log_to_stderr() -> None:
    """The server's own notes (pruning, meters not answering, refused matches) on stderr,
    beside uvicorn's lines, so they reach the journal; other libraries stay quiet."""
    handler = logging.StreamHandler()
    handler.setFormatter(logging.Formatter("%(levelname)s:     %(name)s: %(message)s"))
    ours = logging.getLogger("gridshare")
    ours.addHandler(handler)
    ours.setLevel(logging.INFO)


class _Stopped(Exception):
    """The server was asked to stop by a signal, after uvicorn's graceful shutdown."""


def _stop(signum: int, frame: object) -> None:
    raise _Stopped(signum)
