"""A full disk is recognised however it reaches the server: SQLite's own words, the OS's
ENOSPC, or wrapped in a chain error raised from either."""

from __future__ import annotations

import errno
import sqlite3

from gridshare.chain.transactor import RpcFailure
from gridshare.storage.disk import is_disk_full


def _raised_from(cause: BaseException, wrapper: BaseException) -> BaseException:
    try:
        try:
            raise cause
        except BaseException as exc:
            raise wrapper from exc
    except BaseException as caught:
        return caught


def test_a_full_disk_is_recognised_directly_and_through_the_errors_it_caused() -> None:
    full = sqlite3.OperationalError("database or disk is full")
    assert is_disk_full(full)
    assert is_disk_full(OSError(errno.ENOSPC, "No space left on device"))
    assert is_disk_full(_raised_from(full, RuntimeError("sending failed")))
    sent = RpcFailure("eth_sendRawTransaction", {"message": "internal error: the disk is full"})
    assert is_disk_full(sent)


def test_other_failures_are_not_taken_for_a_full_disk() -> None:
    assert not is_disk_full(sqlite3.OperationalError("database is locked"))
    assert not is_disk_full(OSError(errno.EACCES, "Permission denied"))
    assert not is_disk_full(_raised_from(ValueError("x"), RuntimeError("y")))
