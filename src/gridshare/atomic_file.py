"""Files that a crash or a power cut leaves whole: the old version or the new one, never half.

    write_atomically(path, json.dumps(data))                  # deployment, counter mark
    write_atomically(path, json.dumps(keyfile), private=True)  # keystore, meter keys (0600)
"""

from __future__ import annotations

import os
import tempfile
from pathlib import Path

PUBLIC_MODE = 0o644


def write_atomically(path: Path, text: str, *, private: bool = False) -> None:
    """Write `text` to a new temporary file beside `path`, sync it, rename it over `path` and
    sync the folder, so the new name survives a power cut too. `private` files are readable
    only by their owner (0600), the others by everyone (0644). Concurrent writers (threads,
    processes) each write their own temporary file; the last rename wins, whole."""
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, name = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    tmp = Path(name)
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as handle:  # mkstemp: 0600, O_EXCL
            if not private:
                os.fchmod(handle.fileno(), PUBLIC_MODE)
            handle.write(text)
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(tmp, path)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise
    folder = os.open(path.parent, os.O_RDONLY)
    try:
        os.fsync(folder)
    finally:
        os.close(folder)
