"""The in-memory event store: the whole log as a Python list.

The simplest backend that keeps every guarantee: the list index is the global
position (minus one), each stream keeps its own list of the same records, and an
append checks the expected version and extends both lists before anyone else
can run — there are no threads in the simulator, so a method call is a
transaction. It is the reference the SQLite backend is tested against, and what
the simulation uses when nobody asked for a file.
"""

from __future__ import annotations

from bisect import bisect_right
from collections.abc import Sequence

from simulator.store.base import EventStore
from simulator.store.records import (
    AnyVersion,
    Appended,
    AppendResult,
    ExpectedVersion,
    NewEvent,
    Snapshot,
    StoredEvent,
    VersionConflict,
)

__all__ = ["InMemoryEventStore"]


def _position(event: StoredEvent) -> int:
    return event.position


def _recorded_at_ms(event: StoredEvent) -> int:
    return event.recorded_at_ms


class InMemoryEventStore(EventStore):
    """Streams and one global log, in lists; snapshots in a dict."""

    def __init__(self) -> None:
        super().__init__()
        self._log: list[StoredEvent] = []
        self._streams: dict[str, list[StoredEvent]] = {}
        self._snapshots: dict[str, Snapshot] = {}

    def _append(
        self,
        stream_id: str,
        events: Sequence[NewEvent],
        expected_version: ExpectedVersion,
        recorded_at_ms: int,
    ) -> AppendResult:
        stream = self._streams.get(stream_id)
        actual = len(stream) if stream is not None else 0
        if not isinstance(expected_version, AnyVersion) and expected_version != actual:
            return VersionConflict(
                stream_id=stream_id, expected_version=expected_version, actual_version=actual
            )
        log = self._log
        if log and recorded_at_ms < log[-1].recorded_at_ms:
            raise ValueError(
                f"append to {stream_id} at {recorded_at_ms} ms: the log already has an "
                f"event at {log[-1].recorded_at_ms} ms, and virtual time never goes back"
            )
        head = len(log)
        new = [
            StoredEvent(
                position=head + i,
                stream_id=stream_id,
                version=actual + i,
                type=event.type,
                schema_version=event.schema_version,
                data=event.data,
                recorded_at_ms=recorded_at_ms,
            )
            for i, event in enumerate(events, start=1)
        ]
        log.extend(new)
        if stream is None:
            self._streams[stream_id] = new
        else:
            stream.extend(new)
        return Appended(
            stream_id=stream_id,
            version=actual + len(new),
            first_position=head + 1,
            last_position=head + len(new),
        )

    def _save_snapshot(self, snapshot: Snapshot) -> None:
        self._snapshots[snapshot.stream_id] = snapshot

    def read_stream(
        self, stream_id: str, from_version: int = 0, to_version: int | None = None
    ) -> list[StoredEvent]:
        stream = self._streams.get(stream_id, [])
        start = max(from_version, 1) - 1
        return stream[start:] if to_version is None else stream[start : max(to_version, 0)]

    def read_all(self, from_position: int = 0, limit: int | None = None) -> list[StoredEvent]:
        start = max(from_position, 1) - 1
        return self._log[start:] if limit is None else self._log[start : start + max(limit, 0)]

    def stream_version(self, stream_id: str) -> int:
        stream = self._streams.get(stream_id)
        return len(stream) if stream is not None else 0

    def head_position(self) -> int:
        return len(self._log)

    def stream_ids(self) -> list[str]:
        return list(self._streams)

    def version_at_position(self, stream_id: str, position: int) -> int:
        return bisect_right(self._streams.get(stream_id, []), position, key=_position)

    def position_at_time(self, at_ms: int) -> int:
        return bisect_right(self._log, at_ms, key=_recorded_at_ms)

    def load_snapshot(self, stream_id: str) -> Snapshot | None:
        return self._snapshots.get(stream_id)
