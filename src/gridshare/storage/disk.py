"""The data disk: how much room is left, and whether a failure was the disk filling up."""

from __future__ import annotations

import errno
import shutil
from pathlib import Path

LOW_DISK_BYTES = 200 * 1024 * 1024  # about a day of blocks at 100 houses before a prune
DISK_FULL = "The server's disk is full, so nothing was changed. Tell the operator."


def free_bytes(path: Path) -> int:
    """Bytes free for this process on the file system holding `path`."""
    return shutil.disk_usage(path).free


def is_disk_full(exc: BaseException) -> bool:
    """True if `exc`, or an error it was raised from, is the disk being full: SQLite's
    "database or disk is full", or an OSError ENOSPC."""
    seen: set[int] = set()
    current: BaseException | None = exc
    while current is not None and id(current) not in seen:
        seen.add(id(current))
        if isinstance(current, OSError) and current.errno == errno.ENOSPC:
            return True
        if "disk is full" in str(current):
            return True
        current = current.__cause__ or current.__context__
    return False
