"""The `gridshare` console script: one sub-command per module in `gridshare.commands`."""

from __future__ import annotations

import argparse
import importlib
import signal
import sys
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from types import FrameType
from typing import Protocol, cast

# Each module named here defines `register(subparsers)`, which adds its sub-command(s)
# and sets `handler=<callable(args) -> int>` as the parser default. Modules are imported
# lazily so `gridshare --help` stays fast and a missing optional piece cannot break the rest.
COMMAND_MODULES = (
    "gridshare.commands.demo",
    "gridshare.commands.serve",
    "gridshare.commands.meter",
    "gridshare.commands.simulate",
    "gridshare.commands.prune",
    "gridshare.commands.operator_password",
)


class _CommandModule(Protocol):
    def register(self, subparsers: argparse._SubParsersAction[argparse.ArgumentParser]) -> None: ...


def build_parser() -> argparse.ArgumentParser:
    """The full argument parser with every available sub-command."""
    parser = argparse.ArgumentParser(
        prog="gridshare",
        description="Peer-to-peer energy trading for off-grid solar microgrids.",
    )
    subparsers = parser.add_subparsers(dest="command", metavar="COMMAND")
    for name in COMMAND_MODULES:
        try:
            module = cast(_CommandModule, importlib.import_module(name))
        except ModuleNotFoundError as exc:
            if exc.name == name:
                continue  # that command has not been built yet
            raise
        module.register(subparsers)
    return parser


class Terminated(BaseException):
    """SIGTERM arrived (`kill`, systemd stop): unwinds like Ctrl-C so clean-up runs."""


def _raise_terminated(_signum: int, _frame: FrameType | None) -> None:
    raise Terminated


@contextmanager
def _sigterm_unwinds() -> Iterator[None]:
    """While the command runs, SIGTERM raises Terminated instead of killing the process on the
    spot (which skipped every `finally`: `simulate` left its temporary chain behind). A server
    command installs its own handler over this one; an ignored SIGTERM stays ignored."""
    if (threading.current_thread() is not threading.main_thread()
            or signal.getsignal(signal.SIGTERM) is not signal.SIG_DFL):
        yield
        return
    signal.signal(signal.SIGTERM, _raise_terminated)
    try:
        yield
    finally:
        signal.signal(signal.SIGTERM, signal.SIG_DFL)


def main(argv: list[str] | None = None) -> int:
    """Parse arguments and run one sub-command; returns the process exit code.

    Ctrl-C (SIGINT) ends any command with one line and exit code 130 (128 + SIGINT), SIGTERM
    with one line and 143 (128 + SIGTERM), after the command's own `finally` clean-up has run.
    A running `serve`, `demo` or `meter` server handles both itself (graceful shutdown, exit
    code 0), so they never reach here then.
    """
    command = "gridshare"
    try:
        with _sigterm_unwinds():
            parser = build_parser()
            args = parser.parse_args(argv)
            command = f"gridshare {args.command}" if args.command else command
            handler = cast(
                Callable[[argparse.Namespace], int] | None, getattr(args, "handler", None)
            )
            if handler is None:
                parser.print_help()
                return 2
            return handler(args)
    except KeyboardInterrupt:
        fresh_line = "\n" if sys.stderr.isatty() else ""  # after ^C or a progress bar
        print(f"{fresh_line}{command}: interrupted", file=sys.stderr)
        return 130
    except Terminated:
        print(f"{command}: stopped (SIGTERM)", file=sys.stderr)
        return 143


if __name__ == "__main__":
    sys.exit(main())
