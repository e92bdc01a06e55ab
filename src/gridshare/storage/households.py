"""Households the server knows: name, account, meter (URL and key) and auto-trading rules."""

from __future__ import annotations

import json
import sqlite3
from dataclasses import asdict, dataclass

from gridshare.domain import Wei
from gridshare.market import AgentRules
from gridshare.meters import MeterEntry, MeterKey
from gridshare.storage.database import Database

SCHEMA = (
    """CREATE TABLE IF NOT EXISTS households (
        house_id INTEGER PRIMARY KEY,
        name TEXT NOT NULL UNIQUE,
        account TEXT NOT NULL UNIQUE,
        meter_id INTEGER NOT NULL,
        meter_url TEXT NOT NULL,
        meter_key_hex TEXT NOT NULL,
        auto_rules TEXT
    )""",
)


@dataclass(frozen=True, slots=True)
class HouseholdRecord:
    """One household as the server stores it (the meter key is a secret)."""

    house_id: int
    name: str
    account: str
    meter_id: int
    meter_url: str
    meter_key_hex: str
    auto_trading: AgentRules | None

    @property
    def meter(self) -> MeterEntry:
        """The household's meter as the meter clients want it."""
        return MeterEntry(
            self.meter_id,
            self.house_id,
            self.meter_url,
            MeterKey.from_hex(self.meter_id, self.meter_key_hex),
        )

    def __repr__(self) -> str:  # never print the meter key
        return (
            f"HouseholdRecord(house_id={self.house_id}, name={self.name!r}, "
            f"account={self.account!r}, meter_id={self.meter_id}, meter_url={self.meter_url!r})"
        )


def rules_to_json(rules: AgentRules | None) -> str | None:
    """Rules as stored (prices as decimal strings: wei exceed 2**63)."""
    if rules is None:
        return None
    data = {k: str(v) for k, v in asdict(rules).items()}
    return json.dumps(data, sort_keys=True)


def rules_from_json(text: str | None) -> AgentRules | None:
    """Rules from their stored form."""
    if text is None:
        return None
    data = {k: int(v) for k, v in json.loads(text).items()}
    return AgentRules(
        sell_above_permille=data["sell_above_permille"],
        min_sell_price=Wei(data["min_sell_price"]),
        buy_below_permille=data["buy_below_permille"],
        max_buy_price=Wei(data["max_buy_price"]),
        order_ttl_s=data["order_ttl_s"],
        min_order_wh=data["min_order_wh"],
    )


class HouseholdRepository:
    """The `households` table."""

    def __init__(self, database: Database) -> None:
        self.database = database
        database.ensure_schema("households", 1, SCHEMA)

    def save(self, record: HouseholdRecord) -> None:
        """Insert or replace the household with this house id."""
        with self.database.transaction() as conn:
            conn.execute(
                "INSERT OR REPLACE INTO households"
                " (house_id, name, account, meter_id, meter_url, meter_key_hex, auto_rules)"
                " VALUES (?, ?, ?, ?, ?, ?, ?)",
                (
                    record.house_id,
                    record.name,
                    record.account,
                    record.meter_id,
                    record.meter_url,
                    record.meter_key_hex,
                    rules_to_json(record.auto_trading),
                ),
            )

    def set_auto_trading(self, house_id: int, rules: AgentRules | None) -> bool:
        """Switch a household's agent on (rules) or off (None); False if no such house."""
        with self.database.transaction() as conn:
            cur = conn.execute(
                "UPDATE households SET auto_rules = ? WHERE house_id = ?",
                (rules_to_json(rules), house_id),
            )
            return cur.rowcount > 0

    def get(self, house_id: int) -> HouseholdRecord | None:
        row = self._one("SELECT * FROM households WHERE house_id = ?", (house_id,))
        return None if row is None else _record(row)

    def by_account(self, account: str) -> HouseholdRecord | None:
        row = self._one(
            "SELECT * FROM households WHERE lower(account) = lower(?)", (account,)
        )
        return None if row is None else _record(row)

    def all(self) -> list[HouseholdRecord]:
        rows = self.database.connection().execute(
            "SELECT * FROM households ORDER BY house_id"
        ).fetchall()
        return [_record(r) for r in rows]

    def auto_trading(self) -> list[HouseholdRecord]:
        """Households whose agent is switched on."""
        return [r for r in self.all() if r.auto_trading is not None]

    def _one(self, sql: str, args: tuple[object, ...]) -> sqlite3.Row | None:
        row: sqlite3.Row | None = self.database.connection().execute(sql, args).fetchone()
        return row


def _record(row: sqlite3.Row) -> HouseholdRecord:
    return HouseholdRecord(
        house_id=int(row["house_id"]),
        name=str(row["name"]),
        account=str(row["account"]),
        meter_id=int(row["meter_id"]),
        meter_url=str(row["meter_url"]),
        meter_key_hex=str(row["meter_key_hex"]),
        auto_trading=rules_from_json(row["auto_rules"]),
    )
