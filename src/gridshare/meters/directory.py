"""The meter directory file: which meter is at which URL, with which key (secret: mode 0600)."""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

from gridshare.atomic_file import write_atomically
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
    write_atomically(path, json.dumps(data, indent=2), private=True)


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
