"""The event store contract, on the in-memory backend."""

from __future__ import annotations

from pathlib import Path

from store_contract import EventStoreContract

from simulator.store import EventStore, InMemoryEventStore


class TestInMemoryEventStore(EventStoreContract):
    def make_store(self, tmp_path: Path) -> EventStore:
        return InMemoryEventStore()
