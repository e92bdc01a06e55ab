"""SQLite storage: the database file and the repositories built on it."""

from gridshare.storage.database import Database

__all__ = ["Database"]
