"""The orchestrator's record of every delivery: meters, progress, decision, final state."""

from __future__ import annotations

import sqlite3
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, fields, replace
from enum import StrEnum

from gridshare.storage.database import Database


class Phase(StrEnum):
    """Where a delivery is in the orchestrator (settled/expired are final, as on chain)."""

    PENDING = "pending"  # created on chain, not yet started on the meters
    RUNNING = "running"  # both meters told; waiting for the buyer's final report
    READY = "ready"  # decision taken (settle_wh), settlement not yet confirmed
    SETTLED = "settled"
    EXPIRED = "expired"

    @property
    def final(self) -> bool:
        return self in (Phase.SETTLED, Phase.EXPIRED)


SCHEMA = (
    """CREATE TABLE IF NOT EXISTS deliveries (
        delivery_id INTEGER PRIMARY KEY,
        buyer TEXT NOT NULL,
        seller TEXT NOT NULL,
        amount_wh INTEGER NOT NULL,
        price_per_wh TEXT NOT NULL,
        deadline INTEGER NOT NULL,
        buyer_meter INTEGER,
        seller_meter INTEGER,
        phase TEXT NOT NULL,
        buyer_mwh INTEGER,
        seller_mwh INTEGER,
        buyer_final INTEGER NOT NULL DEFAULT 0,
        seller_final INTEGER NOT NULL DEFAULT 0,
        settle_wh INTEGER,
        flag TEXT,
        note TEXT,
        buyer_end TEXT,
        seller_end TEXT
    )""",
    "CREATE INDEX IF NOT EXISTS deliveries_phase ON deliveries (phase)",
    "CREATE INDEX IF NOT EXISTS deliveries_flag ON deliveries (flag)",
    """CREATE TABLE IF NOT EXISTS engine_cursors (
        name TEXT PRIMARY KEY,
        value INTEGER NOT NULL
    )""",
)
VERSION = 2
UPGRADES: dict[int, tuple[str, ...]] = {
    1: (  # version 1 kept no end reasons: its rows have none (they read as before)
        "ALTER TABLE deliveries ADD COLUMN buyer_end TEXT",
        "ALTER TABLE deliveries ADD COLUMN seller_end TEXT",
    ),
}
"""How a version's tables become the next version's, in place (`Database.ensure_schema`)."""


@dataclass(frozen=True, slots=True)
class DeliveryRecord:
    """One delivery as the orchestrator tracks it (mWh figures are the last verified reports;
    `buyer_end`/`seller_end` the reason each meter's final report gave, `EndReason` values)."""

    delivery_id: int
    buyer: str
    seller: str
    amount_wh: int
    price_per_wh: int
    deadline: int
    buyer_meter: int | None
    seller_meter: int | None
    phase: Phase
    buyer_mwh: int | None = None
    seller_mwh: int | None = None
    buyer_final: bool = False
    seller_final: bool = False
    settle_wh: int | None = None
    flag: str | None = None
    note: str | None = None
    buyer_end: str | None = None
    seller_end: str | None = None

    @property
    def delivered_wh(self) -> int:
        """Whole Wh the buyer's meter has reported so far."""
        return min((self.buyer_mwh or 0) // 1000, self.amount_wh)

    def with_(self, **changes: object) -> DeliveryRecord:
        return replace(self, **changes)  # type: ignore[arg-type]


_COLUMNS = tuple(f.name for f in fields(DeliveryRecord))
_IDS_PER_QUERY = 500  # well under SQLite's limit of bound values in one statement


class DeliveryRepository:
    """The `deliveries` table and the event cursor that feeds it."""

    def __init__(self, database: Database) -> None:
        self.database = database
        database.ensure_schema("deliveries", VERSION, SCHEMA, UPGRADES)

    def add_all(self, records: Iterable[DeliveryRecord], cursor: str, block: int) -> None:
        """Record new deliveries (known ones are kept as they are) and advance `cursor`."""
        with self.database.transaction() as conn:
            for r in records:
                conn.execute(
                    f"INSERT OR IGNORE INTO deliveries ({', '.join(_COLUMNS)})"
                    f" VALUES ({', '.join('?' for _ in _COLUMNS)})",
                    _row(r),
                )
            conn.execute(
                "INSERT INTO engine_cursors (name, value) VALUES (?, ?)"
                " ON CONFLICT (name) DO UPDATE SET value = excluded.value",
                (cursor, block),
            )

    def cursor(self, name: str) -> int | None:
        row = self.database.connection().execute(
            "SELECT value FROM engine_cursors WHERE name = ?", (name,)
        ).fetchone()
        return None if row is None else int(row["value"])

    def save(self, record: DeliveryRecord) -> None:
        """Write a record's current state."""
        self.save_all([record])

    def save_all(self, records: Sequence[DeliveryRecord]) -> None:
        """Write several records' state in one transaction."""
        with self.database.transaction() as conn:
            for r in records:
                conn.execute(
                    f"INSERT OR REPLACE INTO deliveries ({', '.join(_COLUMNS)})"
                    f" VALUES ({', '.join('?' for _ in _COLUMNS)})",
                    _row(r),
                )

    def get(self, delivery_id: int) -> DeliveryRecord | None:
        row = self.database.connection().execute(
            "SELECT * FROM deliveries WHERE delivery_id = ?", (delivery_id,)
        ).fetchone()
        return None if row is None else _record(row)

    def many(self, delivery_ids: Iterable[int]) -> dict[int, DeliveryRecord]:
        """The records of these deliveries (those the table has), by delivery id."""
        ids = sorted(set(delivery_ids))
        found: dict[int, DeliveryRecord] = {}
        for i in range(0, len(ids), _IDS_PER_QUERY):
            chunk = ids[i : i + _IDS_PER_QUERY]
            rows = self.database.connection().execute(
                f"SELECT * FROM deliveries WHERE delivery_id IN ({', '.join('?' for _ in chunk)})",
                chunk,
            ).fetchall()
            found.update((int(r["delivery_id"]), _record(r)) for r in rows)
        return found

    def open(self) -> list[DeliveryRecord]:
        """Deliveries not yet settled or expired, oldest first."""
        rows = self.database.connection().execute(
            "SELECT * FROM deliveries WHERE phase NOT IN (?, ?) ORDER BY delivery_id",
            (Phase.SETTLED.value, Phase.EXPIRED.value),
        ).fetchall()
        return [_record(r) for r in rows]

    def flagged(self) -> list[DeliveryRecord]:
        """Deliveries flagged for the operator, newest first."""
        rows = self.database.connection().execute(
            "SELECT * FROM deliveries WHERE flag IS NOT NULL ORDER BY delivery_id DESC"
        ).fetchall()
        return [_record(r) for r in rows]

    def count_by_phase(self) -> dict[Phase, int]:
        """How many deliveries are in each phase (phases with none are left out)."""
        return {phase: count for phase, (count, _) in self.totals_by_phase().items()}

    def totals_by_phase(self) -> dict[Phase, tuple[int, int]]:
        """(deliveries, agreed Wh) in each phase (phases with none are left out)."""
        rows = self.database.connection().execute(
            "SELECT phase, COUNT(*) AS n, SUM(amount_wh) AS wh FROM deliveries GROUP BY phase"
        ).fetchall()
        return {Phase(r["phase"]): (int(r["n"]), int(r["wh"])) for r in rows}


def _row(r: DeliveryRecord) -> tuple[object, ...]:
    values: list[object] = []
    for name in _COLUMNS:
        value = getattr(r, name)
        if name == "price_per_wh":
            value = str(value)
        elif isinstance(value, Phase):
            value = value.value
        elif isinstance(value, bool):
            value = int(value)
        values.append(value)
    return tuple(values)


def _record(row: sqlite3.Row) -> DeliveryRecord:
    return DeliveryRecord(
        delivery_id=int(row["delivery_id"]),
        buyer=str(row["buyer"]),
        seller=str(row["seller"]),
        amount_wh=int(row["amount_wh"]),
        price_per_wh=int(row["price_per_wh"]),
        deadline=int(row["deadline"]),
        buyer_meter=row["buyer_meter"],
        seller_meter=row["seller_meter"],
        phase=Phase(row["phase"]),
        buyer_mwh=row["buyer_mwh"],
        seller_mwh=row["seller_mwh"],
        buyer_final=bool(row["buyer_final"]),
        seller_final=bool(row["seller_final"]),
        settle_wh=row["settle_wh"],
        flag=row["flag"],
        note=row["note"],
        buyer_end=row["buyer_end"],
        seller_end=row["seller_end"],
    )
