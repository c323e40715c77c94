"""The event store as the CQRS processes share it: the log, and the run's books about it.

An append takes the next *global positions* at once, but its events become
visible to a reader of the whole log only when the append's transaction
commits (``visible_at[position]``). Positions are handed out in order while
transactions commit in any order, which is where the visibility gap comes from
(see ``projector``); ``writers = "single"`` closes it at the source by letting
one append transaction open at a time. The books also remember which trace
record stored each position and which command wrote it, so a query can wait
for a command's events and a finding can cite the record that explains it.
"""

from __future__ import annotations

from collections.abc import Iterable
from pathlib import Path, PurePath
from typing import Any

import msgspec

from simulator.cqrs.projections import Projection, Table, fold
from simulator.domain import get_domain
from simulator.domain.decider import Domain, event_schema_version, event_tag
from simulator.errors import InputError
from simulator.scenario import StoreSpec
from simulator.store import EventStore, InMemoryEventStore, Loaded, StoredEvent
from simulator.store.sqlite import create_run_store, reuse_run_store

__all__ = ["RUNS_DIR", "EventLog", "StoreFile", "open_store", "run_directory", "store_path"]

RUNS_DIR = "evsim-runs"
"""Where a relative ``[store] path`` lands: ``evsim-runs/<lesson>/`` in the working folder."""


class StoreFile(msgspec.Struct, frozen=True, kw_only=True):
    """The SQLite file a run writes its log to, and whether it may reuse one already there.

    Only a run that is handed one writes a file (``evsim play``); every other run
    of a scenario with ``backend = "sqlite"`` keeps the same log in memory — the
    backends pass one contract test, so the trace is the same.
    """

    path: Path
    reuse: bool = False
    """``--reuse-store``: empty and reuse an evsim store an earlier run of this lesson left."""


def run_directory(scenario: str, root: Path) -> Path:
    """``root/evsim-runs/<scenario>``: a folder the user can see, named after the lesson."""
    safe = "".join(ch if ch.isalnum() or ch in "-_." else "_" for ch in scenario).lstrip(".")
    return root / RUNS_DIR / (safe or "lesson")


def relative_store_problem(path: str) -> str | None:
    """Why a relative ``[store] path`` would leave its run directory, or None."""
    parts = PurePath(path).parts
    if not parts or ".." in parts:
        return "a relative path must stay inside the run directory (no '..')"
    return None


def store_path(spec: StoreSpec, scenario: str, root: Path) -> Path:
    """Where a run of ``scenario`` keeps its SQLite store.

    An absolute ``path`` is used as written; a relative one is inside the lesson's
    run directory under ``root`` (the working folder), never next to the lesson
    file (a built-in lesson lives inside the installed package).
    """
    assert spec.path is not None
    path = Path(spec.path)
    return path if path.is_absolute() else run_directory(scenario, root) / path


def open_store(spec: StoreSpec, scenario: str, file: StoreFile | None) -> EventStore:
    """The store a run writes: in memory, or the SQLite file it was handed.

    A run never deletes or replaces a file: it creates a new store (refused if
    anything is at the path), or with ``reuse`` empties in place the store an
    earlier run of the same scenario left — never one another process has open.
    """
    if spec.backend == "memory" or file is None:
        return InMemoryEventStore()
    try:
        file.path.parent.mkdir(parents=True, exist_ok=True)
    except OSError as error:
        raise InputError(str(file.path.parent), "", error.strerror or "cannot create") from None
    if file.reuse:
        return reuse_run_store(file.path, scenario)
    return create_run_store(file.path, scenario)


class EventLog:
    """The store, when each position becomes visible, and who stored it."""

    def __init__(self, store: EventStore, *, single_writer: bool) -> None:
        self.store = store
        self.single_writer = single_writer
        """``writers = "single"``: an append waits until the open transaction has committed."""
        self.writer_busy_until_ms = 0
        """Single writer: when the open append transaction commits."""
        self.visible_at: list[int] = [0]
        """Index = global position: when that event's transaction commits."""
        self.stored_seq: dict[int, int] = {}
        """Position → seq of the ``EventStored`` record."""
        self.command_positions: dict[str, int] = {}
        """Command id → the last position it appended (what read-your-writes waits for)."""
        self._cache: dict[int, StoredEvent] = {}
        self._tags: dict[str, frozenset[str]] = {}
        self._upcast_counts: dict[str, tuple[object, int, int, dict[str, int]]] = {}
        """Stream → (domain, snapshot version, version counted to, upcasts in that tail)."""

    def stored(self, event: StoredEvent, seq: int, visible_at: int, command: str) -> None:
        """Book an appended event: its record, its commit time, its command."""
        self.visible_at.append(visible_at)
        self.stored_seq[event.position] = seq
        self.command_positions[command] = event.position
        self._cache[event.position] = event

    def committed(self, _: object) -> None:
        """An append's transaction commits (its events become visible); nothing to record."""

    def visible_positions(self, now_ms: int) -> list[int]:
        """Every position whose transaction has committed by ``now_ms``, in log order."""
        visible_at = self.visible_at
        return [p for p in range(1, len(visible_at)) if visible_at[p] <= now_ms]

    def event_at(self, position: int) -> StoredEvent:
        event = self._cache.get(position)
        if event is None:
            event = self.store.read_all(position, 1)[0]
        return event

    def decode(self, projection: Projection, stored: StoredEvent) -> Any:
        """The event as the projection's domain reads it (upcast), or None if not its domain."""
        domain = get_domain(projection.domain)
        codec = self.store.codec(domain)
        tags = self._tags.get(domain.name)
        if tags is None:
            tags = self._tags[domain.name] = frozenset(event_tag(t) for t in domain.event_types)
        if stored.type not in tags:
            return None
        return codec.decode(stored)

    def fold(self, projection: Projection, positions: Iterable[int]) -> Table:
        """The read model a correct projector builds from the events at ``positions``."""
        decode, event_at = self.decode, self.event_at
        events = []
        for p in positions:
            event = decode(projection, event_at(p))
            if event is not None:
                events.append(event)
        return fold(projection, events)

    def row_at(self, projection: Projection, position: int) -> str | None:
        """The row of ``projection`` that the event at ``position`` addresses."""
        event = self.decode(projection, self.event_at(position))
        return None if event is None else projection.row_of(event)

    def upcasts(
        self, domain: Domain[Any, Any, Any], stream: str, loaded: Loaded[Any]
    ) -> dict[str, int]:
        """Events of the replayed tail stored under an older schema: ``type vN→vM`` → count."""
        if not domain.upcasters:
            return {}
        current = {event_tag(t): event_schema_version(t) for t in domain.event_types}
        start = loaded.snapshot_version
        counted = self._upcast_counts.get(stream)
        if (
            counted is not None
            and counted[0] is domain
            and counted[1] == start
            and counted[2] <= loaded.version
        ):
            # Counted up to an earlier load from the same snapshot: count only the new tail.
            version, out = counted[2], dict(counted[3])
        else:
            version, out = start, {}
        for event in self.store.read_stream(stream, version + 1, loaded.version):
            now = current.get(event.type, event.schema_version)
            if event.schema_version < now:
                label = f"{event.type} v{event.schema_version}→v{now}"
                out[label] = out.get(label, 0) + 1
        self._upcast_counts[stream] = (domain, start, loaded.version, out)
        return dict(out)
