"""An exclusive lock on the chain's data directory: one gridshare process per chain."""

from __future__ import annotations

import fcntl
from pathlib import Path
from typing import IO

from gridshare.chain.embedded.errors import ChainInUse


def lock_directory(data_dir: Path) -> IO[bytes]:
    """Hold an exclusive lock on `data_dir` (released on close, or by the OS if we die)."""
    handle = open(data_dir / "LOCK", "ab")  # noqa: SIM115 - held until close()
    try:
        fcntl.flock(handle.fileno(), fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        handle.close()
        raise ChainInUse(
            f"{data_dir} is in use by another gridshare process: stop it first (the village"
            " server: sudo systemctl stop gridshare; start it again when this is done)"
        ) from None
    return handle
