"""Which open orders each house's trading agent placed, so it manages those and no others.

A resident trades alongside their agent: an order the resident placed is theirs to keep or
cancel, whatever price it asks. The agent only ever counts, tops up or cancels the orders it
placed itself, and those are listed here (across restarts).
"""

from __future__ import annotations

from collections.abc import Iterable

from gridshare.storage.database import Database

SCHEMA = (
    """CREATE TABLE IF NOT EXISTS agent_orders (
        order_id INTEGER PRIMARY KEY,
        house_id INTEGER NOT NULL
    )""",
    "CREATE INDEX IF NOT EXISTS agent_orders_house ON agent_orders (house_id)",
)


class AgentOrders:
    """The order ids each house's agent placed and has not yet seen close."""

    def __init__(self, database: Database) -> None:
        self.database = database
        database.ensure_schema("agent_orders", 1, SCHEMA)

    def add(self, house_id: int, order_id: int) -> None:
        with self.database.transaction() as conn:
            conn.execute(
                "INSERT OR REPLACE INTO agent_orders (order_id, house_id) VALUES (?, ?)",
                (order_id, house_id),
            )

    def of(self, house_id: int) -> set[int]:
        rows = self.database.connection().execute(
            "SELECT order_id FROM agent_orders WHERE house_id = ?", (house_id,)
        )
        return {int(row["order_id"]) for row in rows}

    def keep_only(self, house_id: int, open_ids: Iterable[int]) -> None:
        """Forget the house's orders that are no longer open (filled, cancelled, gone)."""
        gone = self.of(house_id) - set(open_ids)
        if gone:
            with self.database.transaction() as conn:
                conn.executemany(
                    "DELETE FROM agent_orders WHERE order_id = ?", [(i,) for i in gone]
                )
