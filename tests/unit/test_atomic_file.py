"""write_atomically: a file is replaced whole or not at all, private files stay private."""

from __future__ import annotations

import os
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest

from gridshare.atomic_file import write_atomically


def test_the_new_text_replaces_the_old_and_no_temporary_file_is_left(tmp_path: Path) -> None:
    path = tmp_path / "deep" / "deployment.json"
    write_atomically(path, "old")
    write_atomically(path, "new")
    assert path.read_text(encoding="utf-8") == "new"
    assert [p.name for p in path.parent.iterdir()] == ["deployment.json"]


def test_a_private_file_is_readable_only_by_its_owner_and_others_by_everyone(
    tmp_path: Path,
) -> None:
    write_atomically(tmp_path / "operator.keystore.json", "{}", private=True)
    write_atomically(tmp_path / "deployment.json", "{}")
    assert (tmp_path / "operator.keystore.json").stat().st_mode & 0o777 == 0o600
    assert (tmp_path / "deployment.json").stat().st_mode & 0o777 == 0o644


def test_writers_at_once_each_leave_a_whole_file(tmp_path: Path) -> None:
    """Threads (or pytest workers sharing the compile cache) never share a temporary file."""
    path = tmp_path / "cache.json"
    texts = [str(i) * 100_000 for i in range(8)]
    with ThreadPoolExecutor(8) as pool:
        list(pool.map(lambda text: write_atomically(path, text), texts))
    assert path.read_text(encoding="utf-8") in texts
    assert [p.name for p in tmp_path.iterdir()] == ["cache.json"]


def test_a_failed_write_keeps_the_old_file_and_removes_the_half_written_one(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    path = tmp_path / "meters.json"
    write_atomically(path, "old")

    def disk_full(fd: int) -> None:
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(os, "fsync", disk_full)
    with pytest.raises(OSError, match="No space left"):
        write_atomically(path, "new")
    monkeypatch.undo()
    assert path.read_text(encoding="utf-8") == "old"
    assert [p.name for p in tmp_path.iterdir()] == ["meters.json"]
