"""What `gridshare serve` checks before it creates anything, and how it words a failed start.

Every message names the setting as the operator gave it: the option on the command line
(`--port`) or else its environment variable (`GRIDSHARE_PORT`).
"""

from __future__ import annotations

import errno
import logging
import socket
import sqlite3
from collections.abc import Collection, Sequence
from pathlib import Path

from pydantic import ValidationError

from gridshare.storage.disk import causes, says_disk_full

# Settings field -> the `serve` option that sets it
SERVE_OPTIONS = {
    "data_dir": "--data",
    "host": "--host",
    "port": "--port",
    "chain_url": "--chain",
    "chain_id": "--chain-id",
    "environment": "--production",
}


SECRET_FIELDS = frozenset({"operator_password"})  # never shown in a message


def setting_name(field: str, given: Collection[str], value: object = None) -> str:
    """The option if `field` was given on the command line, else its environment variable;
    with the value the operator gave (`--port 80`, `GRIDSHARE_PORT=80`) if there is one."""
    on_command_line = field in given and field in SERVE_OPTIONS
    name = SERVE_OPTIONS[field] if on_command_line else f"GRIDSHARE_{field.upper()}"
    if value is None or field in SECRET_FIELDS or SERVE_OPTIONS.get(field) == "--production":
        return name
    return f"{name} {value}" if on_command_line else f"{name}={value}"


def settings_problems(exc: ValidationError, given: Collection[str]) -> list[str]:
    """One line per setting pydantic refused, naming the option or variable and the rule."""
    lines = []
    for error in exc.errors():
        message = str(error["msg"]).removeprefix("Value error, ")
        if not error["loc"]:  # a rule across settings: its message names what to set
            lines.append(message)
        else:
            field = str(error["loc"][0])
            lines.append(f"{setting_name(field, given, error.get('input'))}: {message}")
    return lines


def listen_problem(host: str, port: int) -> tuple[str, str] | None:
    """(field, rule) if the web server could not listen on host:port; None if it can.

    Binds the address for a moment as uvicorn will (asyncio's create_server: every address
    the host resolves to, SO_REUSEADDR, IPv6 sockets IPv6 only), then closes it again.
    """
    try:
        addresses = socket.getaddrinfo(
            host, port, type=socket.SOCK_STREAM, flags=socket.AI_PASSIVE
        )
    except (OSError, UnicodeError) as exc:
        reason = exc.strerror if isinstance(exc, OSError) and exc.strerror else exc
        return "host", f"cannot be resolved to an address to listen on ({reason})"
    for family, kind, proto, _name, address in addresses:
        try:
            with socket.socket(family, kind, proto) as sock:
                sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
                if family == socket.AF_INET6:
                    sock.setsockopt(socket.IPPROTO_IPV6, socket.IPV6_V6ONLY, 1)
                sock.bind(address)
        except OSError as exc:
            return _bind_problem(exc, host, port)
    return None


def _bind_problem(exc: OSError, host: str, port: int) -> tuple[str, str]:
    if exc.errno == errno.EADDRINUSE:
        return "port", (
            f"address already in use on {host} (another gridshare serve or another program "
            "is listening there; choose another port)"
        )
    if exc.errno == errno.EADDRNOTAVAIL:
        return "host", "is not an address of this machine"
    if exc.errno == errno.EACCES and port < 1024:
        return "port", "ports below 1024 need root; choose one from 1024 up"
    return "port", f"cannot listen on {host} ({exc.strerror or exc})"


def startup_failure(
    exc: BaseException,
    data_dir: Path,
    chain_url: str | None,
    logged: Sequence[BaseException] = (),
) -> str:
    """One line for a server that could not start; `logged` are the exceptions the chain's
    code logged meanwhile (the embedded chain answers an internal error by its type only)."""
    seen = [*causes(exc), *(c for e in logged for c in causes(e))]
    if chain_url is not None:
        seen = [c for c in seen if not _is_rpc_failure(c)]  # the node's disk, not ours
    if any(says_disk_full(c) for c in seen):
        return f"the disk holding {data_dir} is full: free space, then start again"
    if _is_rpc_failure(exc):
        if chain_url is not None:
            return f"the chain node at {chain_url} refused a start-up request: {_line(exc)}"
        detail = "; ".join(_line(c) for c in logged[-1:])
        return f"the embedded chain in {data_dir} failed: {_line(exc)}" + (
            f" ({detail})" if detail else ""
        )
    if isinstance(exc, sqlite3.DatabaseError):
        return (
            f"a database in {data_dir} cannot be used ({type(exc).__name__}: {_line(exc)}); "
            "if a file there was damaged, restore the data directory from the backup"
        )
    if isinstance(exc, OSError) and exc.strerror and exc.filename:
        return f"cannot use {exc.filename}: {exc.strerror}"
    return _line(exc)


def _is_rpc_failure(exc: BaseException) -> bool:
    from gridshare.chain.transactor import RpcFailure

    return isinstance(exc, RpcFailure)


def _line(exc: BaseException) -> str:
    return " ".join(str(exc).split()) or type(exc).__name__


def startup_failures() -> tuple[type[BaseException], ...]:
    """The exceptions a failed start raises: each is one line for the operator."""
    from gridshare.chain.embedded import EmbeddedChainError
    from gridshare.chain.errors import ChainError
    from gridshare.chain.keystore import KeystoreError
    from gridshare.chain.transactor import RpcFailure
    from gridshare.runtime import StartupError

    return (StartupError, KeystoreError, ChainError, EmbeddedChainError, RpcFailure,
            sqlite3.DatabaseError, OSError)


class HeldLogs(logging.Handler):
    """Holds what is logged while the server starts, so a failed start is one line (not the
    chain's traceback) and a good one shows the notes once the server logs to stderr."""

    def __init__(self) -> None:
        super().__init__()
        self.records: list[logging.LogRecord] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.records.append(record)

    def exceptions(self) -> list[BaseException]:
        """The exceptions logged, oldest first."""
        return [r.exc_info[1] for r in self.records if r.exc_info and r.exc_info[1]]

    def replay(self) -> None:
        """Log the held records again, to the handlers now in place."""
        for record in self.records:
            logging.getLogger(record.name).handle(record)


def log_to_stderr(level: int) -> None:
    """The server's own notes (pruning, meters not answering, refused matches) from `level`
    up on stderr, beside uvicorn's lines, so they reach the journal; other libraries stay
    quiet."""
    handler = logging.StreamHandler()
    handler.setFormatter(logging.Formatter("%(levelname)s:     %(name)s: %(message)s"))
    ours = logging.getLogger("gridshare")
    ours.addHandler(handler)
    ours.setLevel(level)
