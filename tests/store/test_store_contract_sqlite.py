"""The event store contract, on the SQLite backend (a real file in WAL mode)."""

from __future__ import annotations

from pathlib import Path

from store_contract import EventStoreContract
from store_format_1 import write_format_1_store

from simulator.store import EventStore, SqliteEventStore


class TestSqliteEventStore(EventStoreContract):
    def make_store(self, tmp_path: Path) -> EventStore:
        return SqliteEventStore(tmp_path / "store.sqlite3")


class TestSqliteFormat1EventStore(EventStoreContract):
    """The same contract on a file in format 1 (one row per event), as earlier evsim wrote it."""

    def make_store(self, tmp_path: Path) -> EventStore:
        path = tmp_path / "format-1.sqlite3"
        write_format_1_store(path)
        store = SqliteEventStore(path)
        assert store.format_version == 1
        return store
