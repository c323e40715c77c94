"""What goes into an event store and what comes out.

An event store keeps one append-only log. Every event belongs to a *stream*
(one aggregate instance, ``account-A1``) where it has a *version* (1, 2, 3 … with
no gaps), and has a *global position* in the whole log (1, 2, 3 … across all
streams), which is what catch-up readers keep as their checkpoint. The writer
hands over ``NewEvent`` records — a type tag, a schema version and encoded data,
like EventStoreDB's ``EventData`` — and says which version it believes the stream
is at. If another writer got there first the store answers ``VersionConflict``
instead of appending: optimistic concurrency. ``ANY_VERSION`` skips that check,
which is how a lost update happens.
"""

from __future__ import annotations

import enum
from collections.abc import Sequence
from typing import Final

import msgspec

from simulator.errors import InputError

__all__ = [
    "ANY_VERSION",
    "AnyVersion",
    "AppendRequest",
    "AppendResult",
    "Appended",
    "ExpectedVersion",
    "NewEvent",
    "Snapshot",
    "StoreError",
    "StoredEvent",
    "VersionConflict",
]


class AnyVersion(enum.Enum):
    """Append whatever version the stream is at: no concurrency check at all."""

    ANY = "any"


ANY_VERSION: Final = AnyVersion.ANY

ExpectedVersion = int | AnyVersion
"""The version the writer last saw (0: the stream must not exist yet), or ``ANY_VERSION``."""


class NewEvent(msgspec.Struct, frozen=True, kw_only=True, gc=False):
    """An event on its way into the store, already encoded."""

    type: str
    """Stable tag, ``"account.deposited"``; never a class name, so renames are safe."""
    schema_version: int
    """The payload's schema version; older ones are upcast on read."""
    data: bytes
    """The event as JSON (msgspec-encoded), tag included."""


class StoredEvent(msgspec.Struct, frozen=True, kw_only=True, gc=False):
    """One row of the log."""

    position: int
    """Global position across all streams: 1-based, contiguous, the catch-up checkpoint."""
    stream_id: str
    version: int
    """Position inside its stream: 1-based, contiguous."""
    type: str
    schema_version: int
    data: bytes
    recorded_at_ms: int
    """Virtual time of the append; never decreases along the log."""


class Appended(msgspec.Struct, frozen=True, kw_only=True, gc=False):
    """An append that went through: the stream's new version and the positions taken."""

    stream_id: str
    version: int
    """The stream's version after the append (the version of its last new event)."""
    first_position: int
    last_position: int

    @property
    def count(self) -> int:
        return self.last_position - self.first_position + 1


class VersionConflict(msgspec.Struct, frozen=True, kw_only=True, gc=False):
    """An append refused because the stream moved on since the writer read it."""

    stream_id: str
    expected_version: int
    actual_version: int

    def __str__(self) -> str:
        return (
            f"version conflict on {self.stream_id}: expected version "
            f"{self.expected_version}, stream is at {self.actual_version}"
        )


AppendResult = Appended | VersionConflict


class AppendRequest(msgspec.Struct, frozen=True, kw_only=True, gc=False):
    """One append waiting to be written with others in a group commit."""

    stream_id: str
    events: Sequence[NewEvent]
    expected_version: ExpectedVersion
    recorded_at_ms: int


class Snapshot(msgspec.Struct, frozen=True, kw_only=True, gc=False):
    """An aggregate's state at one version of its stream, encoded, to skip replaying."""

    stream_id: str
    version: int
    schema_version: int
    """The state schema it was taken under; a different one means: do not trust it."""
    state: bytes


class StoreError(InputError):
    """A store file evsim cannot use, or stored data it cannot read; names the file."""

    def __init__(self, file: str, message: str, where: str = "") -> None:
        super().__init__(file, where, message)
