"""The data disk: how much room is left, and whether a failure was the disk filling up."""

from __future__ import annotations

import errno
import shutil
from collections.abc import Iterator
from pathlib import Path

LOW_DISK_BYTES = 200 * 1024 * 1024  # about a day of blocks at 100 houses before a prune
DISK_FULL = "The server's disk is full, so nothing was changed. Tell the operator."


def free_bytes(path: Path) -> int:
    """Bytes free for this process on the file system holding `path`."""
    return shutil.disk_usage(path).free


def causes(exc: BaseException) -> Iterator[BaseException]:
    """`exc` and the exceptions it was raised from or while handling."""
    seen: set[int] = set()
    current: BaseException | None = exc
    while current is not None and id(current) not in seen:
        seen.add(id(current))
        yield current
        current = current.__cause__ or current.__context__


def says_disk_full(exc: BaseException) -> bool:
    """This exception itself is the disk being full: SQLite's "database or disk is full",
    an OSError ENOSPC or EDQUOT, or a message that says so."""
    if isinstance(exc, OSError) and exc.errno in (errno.ENOSPC, errno.EDQUOT):
        return True
    text = str(exc).lower()
    return "disk is full" in text or "no space left" in text


def is_disk_full(exc: BaseException) -> bool:
    """True if `exc`, or an error it was raised from, is the disk being full."""
    return any(says_disk_full(cause) for cause in causes(exc))
