"""The database keeps a connection per live thread, not one per thread that ever used it."""

from __future__ import annotations

import os
import threading
from pathlib import Path

from gridshare.storage import Database


def _open_files(path: Path) -> int:
    """File descriptors of this process open on `path` (Linux /proc)."""
    fds = Path("/proc/self/fd")
    return sum(1 for fd in fds.iterdir() if os.path.realpath(fd) == str(path.resolve()))


def test_connections_of_threads_that_ended_are_closed_when_a_new_one_opens(
    tmp_path: Path,
) -> None:
    """The web server's worker threads end when idle and new ones start for the next burst:
    a soak test saw ~4 descriptors a minute pile up on the database file while serving."""
    db = Database(tmp_path / "gridshare.sqlite")

    def read_once() -> None:
        db.connection().execute("SELECT 1").fetchone()

    for _ in range(20):  # twenty short-lived worker threads, one after another
        worker = threading.Thread(target=read_once)
        worker.start()
        worker.join()
    # SQLite may hold a closed connection's descriptor a while (POSIX locks are per process)
    assert _open_files(tmp_path / "gridshare.sqlite") < 5  # not twenty
    assert db.open_connections() <= 2  # this thread's (from __init__) and the last worker's

    busy = threading.Event()
    done = threading.Event()

    def hold_on() -> None:
        with db.transaction() as conn:
            conn.execute("CREATE TABLE IF NOT EXISTS t (x)")
        busy.set()
        done.wait(10)
        db.connection().execute("SELECT 1").fetchone()  # still its own, still open

    alive = threading.Thread(target=hold_on)
    alive.start()
    assert busy.wait(10)
    read_once()
    done.set()
    alive.join()
    db.close()
    assert db.open_connections() == 0
    assert _open_files(tmp_path / "gridshare.sqlite") == 0
