"""Files that a crash or a power cut leaves whole: the old version or the new one, never half.

    write_atomically(path, json.dumps(data))                  # deployment, counter mark
    write_atomically(path, json.dumps(keyfile), private=True)  # keystore, meter keys (0600)
"""

from __future__ import annotations

import os
from pathlib import Path


def write_atomically(path: Path, text: str, *, private: bool = False) -> None:
    """Write `text` to a temporary file beside `path`, sync it, rename it over `path` and sync
    the folder, so the new name survives a power cut too. `private` files are created
    readable only by their owner (mode 0600)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f"{path.name}.{os.getpid()}.tmp")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600 if private else 0o644)
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as handle:
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
