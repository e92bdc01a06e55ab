"""write_atomically: a file is replaced whole or not at all, private files stay private."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from gridshare.atomic_file import write_atomically


def test_the_new_text_replaces_the_old_and_no_temporary_file_is_left(tmp_path: Path) -> None:
    path = tmp_path / "deep" / "deployment.json"
    write_atomically(path, "old")
    write_atomically(path, "new")
    assert path.read_text(encoding="utf-8") == "new"
    assert [p.name for p in path.parent.iterdir()] == ["deployment.json"]


def test_a_private_file_is_readable_only_by_its_owner_and_others_follow_the_umask(
    tmp_path: Path,
) -> None:
    old = os.umask(0o022)
    try:
        write_atomically(tmp_path / "operator.keystore.json", "{}", private=True)
        write_atomically(tmp_path / "deployment.json", "{}")
    finally:
        os.umask(old)
    assert (tmp_path / "operator.keystore.json").stat().st_mode & 0o777 == 0o600
    assert (tmp_path / "deployment.json").stat().st_mode & 0o777 == 0o644


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
