"""The event store contract, on the SQLite backend (a real file in WAL mode)."""

from __future__ import annotations

from pathlib import Path

from store_contract import EventStoreContract

from simulator.store import EventStore, SqliteEventStore


class TestSqliteEventStore(EventStoreContract):
    def make_store(self, tmp_path: Path) -> EventStore:
        return SqliteEventStore(tmp_path / "store.sqlite3")
