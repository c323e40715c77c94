"""The event store: streams, global positions, snapshots, upcasting, temporal reads.

Two backends share one interface (``EventStore``) and one contract test:
``InMemoryEventStore`` for simulations and ``SqliteEventStore`` for a real file a
student can open with ``sqlite3``. See ``docs/event-store.md``.
"""

from __future__ import annotations

from simulator.store.base import EventStore, Loaded, SnapshotDiscarded
from simulator.store.codec import EventCodec
from simulator.store.commands import CommandHandled, handle_command
from simulator.store.memory import InMemoryEventStore
from simulator.store.records import (
    ANY_VERSION,
    AnyVersion,
    Appended,
    AppendRequest,
    AppendResult,
    ExpectedVersion,
    NewEvent,
    Snapshot,
    StoredEvent,
    StoreError,
    VersionConflict,
)
from simulator.store.snapshots import NEVER, SnapshotPolicy
from simulator.store.sqlite import GroupCommit, SqliteEventStore

__all__ = [
    "ANY_VERSION",
    "NEVER",
    "AnyVersion",
    "AppendRequest",
    "AppendResult",
    "Appended",
    "CommandHandled",
    "EventCodec",
    "EventStore",
    "ExpectedVersion",
    "GroupCommit",
    "InMemoryEventStore",
    "Loaded",
    "NewEvent",
    "Snapshot",
    "SnapshotDiscarded",
    "SnapshotPolicy",
    "SqliteEventStore",
    "StoreError",
    "StoredEvent",
    "VersionConflict",
    "handle_command",
]
