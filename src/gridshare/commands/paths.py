"""Checks on the folders a command will write in, made before anything is created."""

from __future__ import annotations

import argparse
import contextlib
import os
from collections.abc import Mapping
from pathlib import Path

DEFAULT_DATA = Path(".gridshare/data")  # `serve`'s default data directory


def add_data_option(parser: argparse.ArgumentParser) -> None:
    """`--data`, for a command that works on `serve`'s data directory (read by `data_dir`)."""
    parser.add_argument("--data", type=Path, default=None,
                        help="data directory, as given to `serve` (default GRIDSHARE_DATA_DIR, "
                        f"else {DEFAULT_DATA})")


def data_dir(option: Path | None, environ: Mapping[str, str]) -> tuple[Path, str]:
    """The data directory of a command that works on `serve`'s, and what named it: --data if
    given, else GRIDSHARE_DATA_DIR (as `serve` reads it), else the default."""
    if option is not None:
        return option, "--data"
    if environ.get("GRIDSHARE_DATA_DIR"):
        return Path(environ["GRIDSHARE_DATA_DIR"]), "GRIDSHARE_DATA_DIR"
    return DEFAULT_DATA, "--data"


def directory_problem(path: Path) -> str | None:
    """Why `path` cannot be (or become) a directory we write in; None if it can."""
    if path.exists():
        if not path.is_dir():
            return "is a file, not a directory"
        if not os.access(path, os.W_OK | os.X_OK):
            return "is not writable"
        return None
    parent = path.absolute().parent
    while not parent.exists():
        parent = parent.parent
    if not parent.is_dir():
        return f"cannot be created: {parent} is a file, not a directory"
    if not os.access(parent, os.W_OK | os.X_OK):
        return f"cannot be created: {parent} is not writable"
    return None


def creation_problem(path: Path) -> str | None:
    """Why a missing `path` cannot be created; None if it can, or already exists.

    Found by creating it and removing again every folder that was made, so nothing is left
    behind: permission bits do not tell (root may write anywhere, except on /proc and
    read-only or full file systems).
    """
    if path.exists():
        return None
    missing = [p for p in (path, *path.parents) if not p.exists()]  # deepest first
    try:
        path.mkdir(parents=True)
    except OSError as exc:
        return f"cannot be created ({exc.strerror or exc})"
    finally:
        for folder in missing:
            with contextlib.suppress(OSError):  # not empty (someone else's by now): leave it
                folder.rmdir()
    return None
