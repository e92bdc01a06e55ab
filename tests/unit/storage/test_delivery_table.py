"""The deliveries table keeps each meter's end reason, and a data directory made before it did
opens with its rows kept: the table is upgraded in place, not refused or recreated."""

from __future__ import annotations

import sqlite3
from pathlib import Path

import pytest

from gridshare.storage import Database
from gridshare.storage.deliveries import DeliveryRecord, DeliveryRepository, Phase

# the deliveries table as version 1 of the schema made it (before the end reasons)
VERSION_1 = """CREATE TABLE deliveries (
    delivery_id INTEGER PRIMARY KEY, buyer TEXT NOT NULL, seller TEXT NOT NULL,
    amount_wh INTEGER NOT NULL, price_per_wh TEXT NOT NULL, deadline INTEGER NOT NULL,
    buyer_meter INTEGER, seller_meter INTEGER, phase TEXT NOT NULL, buyer_mwh INTEGER,
    seller_mwh INTEGER, buyer_final INTEGER NOT NULL DEFAULT 0,
    seller_final INTEGER NOT NULL DEFAULT 0, settle_wh INTEGER, flag TEXT, note TEXT
)"""


def _old_data_dir(path: Path) -> None:
    """A database file as a server of schema version 1 left it, with two deliveries."""
    conn = sqlite3.connect(path)
    conn.executescript(f"""
        CREATE TABLE schema_versions (name TEXT PRIMARY KEY, version INTEGER);
        INSERT INTO schema_versions VALUES ('deliveries', 1);
        {VERSION_1};
        CREATE INDEX deliveries_phase ON deliveries (phase);
        CREATE INDEX deliveries_flag ON deliveries (flag);
        CREATE TABLE engine_cursors (name TEXT PRIMARY KEY, value INTEGER NOT NULL);
        INSERT INTO engine_cursors VALUES ('delivery_created', 41);
        INSERT INTO deliveries VALUES (1, '0xB', '0xS', 200, '1000000000000000', 1700, 2, 1,
            'settled', 150400, 156000, 1, 1, 150, NULL, NULL);
        INSERT INTO deliveries VALUES (2, '0xB', '0xS', 50, '7', 1800, 2, 1, 'running',
            9000, 9400, 0, 0, NULL, 'meter_silent', 'a note');
    """)
    conn.commit()
    conn.close()


def _record(delivery_id: int, **changes: object) -> DeliveryRecord:
    return DeliveryRecord(delivery_id, "0xB", "0xS", 20, 5, 100, 2, 1, Phase.RUNNING).with_(
        **changes)


def test_a_database_from_before_the_end_reasons_opens_with_its_deliveries_kept(
    tmp_path: Path,
) -> None:
    path = tmp_path / "gridshare.sqlite"
    _old_data_dir(path)
    repo = DeliveryRepository(Database(path))
    old = repo.get(1)
    assert old == DeliveryRecord(
        1, "0xB", "0xS", 200, 10**15, 1700, 2, 1, Phase.SETTLED, buyer_mwh=150400,
        seller_mwh=156000, buyer_final=True, seller_final=True, settle_wh=150,
    )  # fmt: skip
    assert old.buyer_end is None and old.seller_end is None  # it never kept them
    assert [r.delivery_id for r in repo.open()] == [2]
    assert [r.note for r in repo.flagged()] == ["a note"]
    assert repo.cursor("delivery_created") == 41
    # the upgraded table takes the new columns, and is version 2 from now on
    repo.save(old.with_(buyer_end="deadline", seller_end="sensor_fault"))
    again = DeliveryRepository(Database(path))  # opening it again changes nothing more
    kept = again.get(1)
    assert kept is not None and (kept.buyer_end, kept.seller_end) == ("deadline", "sensor_fault")
    versions = Database(path).connection().execute(
        "SELECT version FROM schema_versions WHERE name = 'deliveries'").fetchall()
    assert [v[0] for v in versions] == [2]


def test_each_meters_end_reason_is_kept_with_its_delivery(tmp_path: Path) -> None:
    repo = DeliveryRepository(Database(tmp_path / "gridshare.sqlite"))
    repo.add_all([_record(5)], "delivery_created", 9)
    assert repo.get(5) == _record(5)  # none before the meters' final reports
    ended = _record(5, phase=Phase.READY, buyer_final=True, seller_final=True,
                    buyer_end="sensor_fault", seller_end="stop")
    repo.save_all([ended])
    assert repo.many([5]) == {5: ended}


def test_a_database_a_newer_version_made_is_refused_not_used(tmp_path: Path) -> None:
    path = tmp_path / "gridshare.sqlite"
    DeliveryRepository(Database(path))
    conn = sqlite3.connect(path)
    conn.execute("UPDATE schema_versions SET version = 3 WHERE name = 'deliveries'")
    conn.commit()
    conn.close()
    with pytest.raises(RuntimeError, match="'deliveries' is version 3, code expects 2"):
        DeliveryRepository(Database(path))


def test_a_schema_with_no_way_up_from_its_version_is_refused(tmp_path: Path) -> None:
    """A module whose table changed without an upgrade for it fails at start-up, naming it."""
    db = Database(tmp_path / "gridshare.sqlite")
    db.ensure_schema("things", 1, ["CREATE TABLE IF NOT EXISTS things (a)"])
    with pytest.raises(RuntimeError, match="'things' is version 1, code expects 2"):
        db.ensure_schema("things", 2, ["CREATE TABLE IF NOT EXISTS things (a, b)"])
    db.ensure_schema("things", 2, ["CREATE TABLE IF NOT EXISTS things (a, b)"],
                     {1: ["ALTER TABLE things ADD COLUMN b"]})
    db.connection().execute("INSERT INTO things (a, b) VALUES (1, 2)")


def test_many_reads_every_record_asked_for_past_one_query_of_ids(tmp_path: Path) -> None:
    """`many` asks in chunks of ids (SQLite caps the values bound in one statement): a
    resident with more deliveries than one chunk still gets every one, and ids the table
    lacks are left out."""
    repo = DeliveryRepository(Database(tmp_path / "gridshare.sqlite"))
    kept = range(1, 1_202, 2)  # 601 records: two chunks and a bit
    for delivery_id in kept:
        repo.save(_record(delivery_id, flag=f"flag {delivery_id}"))
    found = repo.many([*range(1, 1_203), 1, 3])  # every id, some twice, half of them missing
    assert sorted(found) == list(kept)
    assert all(found[i] == _record(i, flag=f"flag {i}") for i in kept)
