"""The meter directory file: which meter is at which URL, with which key (secret: mode 0600)."""

from __future__ import annotations

import json
import os
from dataclasses import dataclass
from pathlib import Path

from gridshare.meters.keys import MeterKey


@dataclass(frozen=True, slots=True)
class MeterEntry:
    """One meter: its id, house, HTTP base URL and key."""

    meter_id: int
    house_id: int
    url: str
    key: MeterKey


def save_directory(path: Path, entries: list[MeterEntry]) -> None:
    """Write the directory atomically, readable only by its owner."""
    data = {
        "meters": [
            {"meter_id": e.meter_id, "house_id": e.house_id, "url": e.url, "key": e.key.hex}
            for e in entries
        ]
    }
    tmp = path.with_suffix(".tmp")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w") as f:
        json.dump(data, f, indent=2)
    os.replace(tmp, path)


def load_directory(path: Path) -> list[MeterEntry]:
    """Read a directory written by save_directory (e.g. by `gridshare meter-sim`)."""
    data = json.loads(path.read_text())
    return [
        MeterEntry(
            meter_id=int(m["meter_id"]),
            house_id=int(m["house_id"]),
            url=str(m["url"]),
            key=MeterKey.from_hex(int(m["meter_id"]), str(m["key"])),
        )
        for m in data["meters"]
    ]
