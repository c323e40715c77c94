"""The event store and its read side, folded from the trace (the CQRS part of ``tui.fold``).

``StoreView`` is what a CQRS lesson draws: the store's head and the newest
events of the global log, each stream's version and the positions it holds,
each command handler's last decision (with the expected and actual version of
a conflict), events stored but not yet published (the dual write's crash
window, the outbox's rows), and one ``ProjectorView`` per projector.

A projector has two positions a class must tell apart — the last event it
*applied* and the checkpoint it *saved* — and its read model's **values**: the
rows themselves, with the open transaction of an atomic projector kept apart
until its checkpoint commits it (a crash throws it away). An event applied a
second time to a row (a naive projector re-reading after a crash, a duplicate
delivery) marks that row. A rebuild empties the table and refills it one
``EventReplayed`` at a time — from zero, or from the read-model snapshot it
starts at — and a blue/green rebuild fills version N+1 beside version N until
``ReadModelSwitched`` moves the reads.

"The fold of the log" beside each table is derived, not reported: for each
projection, every position applied *once* (the first time any of its
projectors applied it), numeric rows moving by what that first application
moved them, others taking its value — what an exactly-once projector would
hold. When the checker compares the read models with a fresh fold at the end
(``ReadModelMismatched``), its answer replaces the derived one for that row.

Everything is bounded (rows, streams, positions kept), so a checkpoint of the
fold stays a small copy.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING, TypeVar

from simulator.trace import (
    AggregateLoaded,
    CheckpointSaved,
    CommandRejected,
    Crashed,
    EventPublished,
    EventReplayed,
    EventStored,
    EventUnpublished,
    GapSkipped,
    GapWaited,
    Projected,
    ProjectionSkipped,
    ReadModelMismatched,
    ReadModelQueried,
    ReadModelSnapshotted,
    ReadModelSwitched,
    RebuildFinished,
    RebuildProgressed,
    RebuildStarted,
    SnapshotDiscarded,
    SnapshotTaken,
    UpcastApplied,
    UpdateLost,
    VersionConflicted,
)

if TYPE_CHECKING:
    from tui.fold import ViewState

__all__ = [
    "HandlerView",
    "Positions",
    "ProjectorView",
    "StoreView",
    "number",
]

V = TypeVar("V")

ROWS_KEPT = 48
"""Rows of a read model the view keeps (a lesson's tables are a handful of accounts)."""
STREAMS_KEPT = 48
LOG_KEPT = 24
"""The newest events of the global log kept for its lane."""
UNPUBLISHED_KEPT = 16
EXTRA_KEPT = 64
"""Positions applied out of order that ``Positions`` remembers above its low-water mark."""


def number(value: str | None) -> int | None:
    """A row's value as a number, if it is one (balances are; a status is not)."""
    if value is None:
        return None
    try:
        return int(value)
    except ValueError:
        return None


@dataclass(slots=True)
class Positions:
    """Which global positions have been applied: all below ``below``, and a few above it."""

    below: int = 1
    extra: dict[int, None] = field(default_factory=dict)

    def __contains__(self, position: int) -> bool:
        return position < self.below or position in self.extra

    def add(self, position: int) -> None:
        if position < self.below:
            return
        self.extra[position] = None
        while self.below in self.extra:
            del self.extra[self.below]
            self.below += 1
        if len(self.extra) > EXTRA_KEPT:
            # A hole that never fills (a gap skipped for good): forget it.
            lowest = min(self.extra)
            self.below = lowest
            while self.below in self.extra:
                del self.extra[self.below]
                self.below += 1

    def copy(self) -> Positions:
        return Positions(self.below, dict(self.extra))


def _keep(table: dict[int, V], key: int, value: V) -> None:
    table[key] = value
    if len(table) > EXTRA_KEPT:
        del table[next(iter(table))]


def _put(table: dict[str, str], row: str, value: str) -> None:
    table[row] = value
    if len(table) > ROWS_KEPT:
        del table[next(iter(table))]


@dataclass(slots=True)
class ProjectorView:
    """One projector (a read model's writer) as the trace shows it."""

    name: str
    checkpoint: int = 1
    """The next global position it will read (``CheckpointSaved.position``)."""
    applied: int = 0
    """Global position of the last event it projected."""
    reading: int = 1
    """Version of the read model that queries go to (blue/green switches change it)."""
    rebuild_version: int | None = None
    """The version being rebuilt, between ``RebuildStarted`` and ``RebuildFinished``."""
    rebuild_position: int = 0
    rebuild_head: int = 0
    rebuilt: int = 0
    """Events the last finished rebuild replayed."""
    last_query: str = ""
    stale_reads: int = 0
    projection: str = ""
    """The projection it runs (``projector.NAME.projection`` in the trace header)."""
    kind: str = ""
    """``naive``, ``idempotent`` or ``atomic``."""
    rows: dict[str, str] = field(default_factory=dict)
    """The read model's committed values, row → value (the version queries read)."""
    pending: dict[str, str] = field(default_factory=dict)
    """Atomic projectors: rows written in the open transaction, until the checkpoint."""
    pending_positions: list[tuple[int, str]] = field(default_factory=list)
    """Atomic projectors: (position, row) applied in the open transaction."""
    positions: Positions = field(default_factory=Positions)
    """Positions applied to the committed read model (an event applied again is a repeat)."""
    doubled: dict[str, int] = field(default_factory=dict)
    """Row → how many events were applied to it a second time."""
    last_row: str | None = None
    """The row the last record wrote (highlighted in the table)."""
    snapshot: tuple[int, dict[str, str]] | None = None
    """The newest read-model snapshot: its checkpoint and its rows."""
    building: dict[str, str] | None = None
    """Blue/green: version N+1's rows while it is built beside the one reads use."""
    retired: tuple[int, dict[str, str]] | None = None
    """Blue/green: the version reads left at the switch, and its rows."""
    replayed: int = 0
    """Events the current (or last) rebuild has replayed."""
    rebuild_from: int = 1
    rebuild_mode: str = ""
    rebuild_projection: str = ""
    skipped: int = 0
    gap: str = ""
    """The last gap it waited at or skipped (``@12 waiting`` / ``@12 skipped``)."""
    source: str = "store"
    """Where it reads: ``store`` (the global log, its own checkpoint) or a consumer group
    whose committed offset is its checkpoint (no ``CheckpointSaved``)."""

    def copy(self) -> ProjectorView:
        return ProjectorView(
            self.name, self.checkpoint, self.applied, self.reading, self.rebuild_version,
            self.rebuild_position, self.rebuild_head, self.rebuilt, self.last_query,
            self.stale_reads, self.projection, self.kind, dict(self.rows), dict(self.pending),
            list(self.pending_positions), self.positions.copy(), dict(self.doubled),
            self.last_row, self.snapshot,
            dict(self.building) if self.building is not None else None, self.retired,
            self.replayed, self.rebuild_from, self.rebuild_mode, self.rebuild_projection,
            self.skipped, self.gap, self.source,
        )  # fmt: skip

    def working(self, row: str) -> str | None:
        """The row as the projector sees it now (its open transaction included)."""
        return self.pending.get(row, self.rows.get(row))


@dataclass(slots=True)
class HandlerView:
    """A command handler: what it loaded, decided and wrote last."""

    name: str
    command: str = ""
    stream: str = ""
    loaded: int = 0
    """The version it loaded before deciding (``AggregateLoaded``)."""
    replayed: int = 0
    """Events it folded to load it (after the snapshot, if it had one)."""
    snapshot_version: int = 0
    wrote: int = 0
    """Events it has stored."""
    conflict: tuple[int, int, int] | None = None
    """The last version conflict: (expected, actual, attempt)."""
    rejected: str = ""
    lost_update: tuple[int, int] | None = None
    """A lost update the checker found: (the version it loaded, the version it wrote on)."""
    via: str = ""
    """How it publishes what it stores: ``dual-write`` or ``outbox`` (once it has)."""
    unpublished: list[int] = field(default_factory=list)
    """Positions it stored that nobody has published yet (the outbox's rows)."""
    republished: int = 0
    """Events published more than once (an outbox relay that crashed before marking)."""

    def copy(self) -> HandlerView:
        return HandlerView(
            self.name, self.command, self.stream, self.loaded, self.replayed,
            self.snapshot_version, self.wrote, self.conflict, self.rejected, self.lost_update,
            self.via, list(self.unpublished), self.republished,
        )  # fmt: skip


@dataclass(slots=True)
class StoreView:
    """The event store and its read side: what the CQRS picture draws."""

    head: int = 0
    """The highest global position written so far."""
    streams: dict[str, int] = field(default_factory=dict)
    """Stream → its version (the number of events in it)."""
    snapshots: dict[str, int] = field(default_factory=dict)
    """Stream → version of its newest snapshot."""
    projectors: dict[str, ProjectorView] = field(default_factory=dict)
    conflicts: int = 0
    rejected: int = 0
    log: list[tuple[int, str, str]] = field(default_factory=list)
    """The newest events of the global log: (position, stream, type)."""
    handlers: dict[str, HandlerView] = field(default_factory=dict)
    log_rows: dict[str, dict[str, str]] = field(default_factory=dict)
    """Projection → its rows as the log says: each position applied once."""
    log_positions: dict[str, Positions] = field(default_factory=dict)
    """Projection → positions some projector of it has applied (so a repeat is known)."""
    expected: dict[tuple[str, str], str | None] = field(default_factory=dict)
    """(projector, row) → the checker's fresh fold of the log, where it disagreed."""
    never_published: list[int] = field(default_factory=list)
    stored_by: dict[int, str] = field(default_factory=dict)
    """Position → the handler that stored it (the newest few dozen)."""
    publishes: dict[int, int] = field(default_factory=dict)
    """Position → how often it was published (the newest few dozen)."""
    upcasts: int = 0
    snapshots_discarded: int = 0

    def lag(self, projector: ProjectorView) -> int:
        """Events written that the projector's checkpoint has not passed yet."""
        return max(0, self.head - projector.checkpoint + 1)

    def copy(self) -> StoreView:
        return StoreView(
            self.head, dict(self.streams), dict(self.snapshots),
            {k: v.copy() for k, v in self.projectors.items()}, self.conflicts, self.rejected,
            list(self.log), {k: v.copy() for k, v in self.handlers.items()},
            {k: dict(v) for k, v in self.log_rows.items()},
            {k: v.copy() for k, v in self.log_positions.items()}, dict(self.expected),
            list(self.never_published), dict(self.stored_by), dict(self.publishes),
            self.upcasts, self.snapshots_discarded,
        )  # fmt: skip

    def log_value(self, projector: ProjectorView, row: str) -> str | None:
        """What ``row`` of ``projector`` should hold: the checker's answer, or the derived one."""
        key = (projector.name, row)
        if key in self.expected:
            return self.expected[key]
        return self.log_rows.get(projector.projection, {}).get(row)


# -- folding -------------------------------------------------------------------------------------


def store_of(s: ViewState) -> StoreView:
    if s.store is None:
        s.store = StoreView()
    return s.store


def projector_of(s: ViewState, name: str) -> ProjectorView:
    store = store_of(s)
    p = store.projectors.get(name)
    if p is None:
        p = store.projectors[name] = ProjectorView(name)
        p.projection = s.settings.get(f"projector.{name}.projection", "")
        p.kind = s.settings.get(f"projector.{name}.kind", "")
        p.source = s.settings.get(f"projector.{name}.source", "store")
    return p


def _handler(s: ViewState, name: str) -> HandlerView:
    store = store_of(s)
    h = store.handlers.get(name)
    if h is None:
        h = store.handlers[name] = HandlerView(name)
    return h


def _event_stored(s: ViewState, r: EventStored) -> None:
    store = store_of(s)
    store.head = max(store.head, r.position)
    store.streams[r.stream] = max(store.streams.get(r.stream, 0), r.version)
    if len(store.streams) > STREAMS_KEPT:
        del store.streams[next(iter(store.streams))]
    store.log.append((r.position, r.stream, r.type))
    if len(store.log) > LOG_KEPT:
        del store.log[0]
    h = _handler(s, r.handler)
    h.command, h.stream, h.wrote = r.command, r.stream, h.wrote + 1
    h.conflict = None
    h.unpublished.append(r.position)
    if len(h.unpublished) > UNPUBLISHED_KEPT:
        del h.unpublished[0]
    _keep(store.stored_by, r.position, r.handler)


def _aggregate_loaded(s: ViewState, r: AggregateLoaded) -> None:
    streams = store_of(s).streams
    streams[r.stream] = max(streams.get(r.stream, 0), r.version)
    h = _handler(s, r.handler)
    h.command, h.stream, h.loaded = r.command, r.stream, r.version
    h.replayed, h.snapshot_version = r.replayed, r.snapshot_version


def _snapshot_taken(s: ViewState, r: SnapshotTaken) -> None:
    store_of(s).snapshots[r.stream] = r.version


def _snapshot_discarded(s: ViewState, r: SnapshotDiscarded) -> None:
    store_of(s).snapshots_discarded += 1


def _upcast(s: ViewState, r: UpcastApplied) -> None:
    store_of(s).upcasts += r.events


def _version_conflicted(s: ViewState, r: VersionConflicted) -> None:
    store_of(s).conflicts += 1
    h = _handler(s, r.handler)
    h.command, h.stream = r.command, r.stream
    h.conflict = (r.expected, r.actual, r.attempt)


def _command_rejected(s: ViewState, r: CommandRejected) -> None:
    store_of(s).rejected += 1
    h = _handler(s, r.handler)
    h.command, h.stream, h.rejected = r.command, r.stream, r.reason


def _update_lost(s: ViewState, r: UpdateLost) -> None:
    _handler(s, r.handler).lost_update = (r.loaded_version, r.actual_version)


def _published(s: ViewState, r: EventPublished) -> None:
    store = store_of(s)
    times = store.publishes.get(r.position, 0) + 1
    _keep(store.publishes, r.position, times)
    name = store.stored_by.get(r.position)
    h = store.handlers.get(name) if name is not None else None
    if h is None:
        return
    h.via = r.via
    if r.position in h.unpublished:
        h.unpublished.remove(r.position)
    if times > 1:
        h.republished += 1


def _unpublished(s: ViewState, r: EventUnpublished) -> None:
    store_of(s).never_published.append(r.position)


def _learn(store: StoreView, projection: str, position: int, row: str | None, before: str | None,
           after: str | None) -> None:  # fmt: skip
    """The first time any projector of ``projection`` applies ``position``: the log moves."""
    if not projection or row is None or after is None:
        return
    seen = store.log_positions.get(projection)
    if seen is None:
        seen = store.log_positions[projection] = Positions()
    if position in seen:
        return
    seen.add(position)
    rows = store.log_rows.setdefault(projection, {})
    new, old, logged = number(after), number(before), number(rows.get(row))
    if new is not None and (logged is not None or row not in rows):
        _put(rows, row, str((logged or 0) + new - (old or 0)))
    else:
        _put(rows, row, after)


def _projected(s: ViewState, r: Projected) -> None:
    store = store_of(s)
    p = projector_of(s, r.projector)
    if p.rebuild_version is None:
        p.applied = max(p.applied, r.position)
    p.last_row = r.row
    if r.row is None or r.value is None:
        return
    before = p.working(r.row)
    if r.pending:
        _put(p.pending, r.row, r.value)
        p.pending_positions.append((r.position, r.row))
    else:
        if r.position in p.positions:
            p.doubled[r.row] = p.doubled.get(r.row, 0) + 1
        p.positions.add(r.position)
        _put(p.rows, r.row, r.value)
    _learn(store, p.projection, r.position, r.row, before, r.value)


def _checkpoint_saved(s: ViewState, r: CheckpointSaved) -> None:
    p = projector_of(s, r.projector)
    p.checkpoint = r.position
    if r.atomic and (p.pending or p.pending_positions):
        # The read-model writes and the checkpoint commit together.
        for position, row in p.pending_positions:
            if position in p.positions:
                p.doubled[row] = p.doubled.get(row, 0) + 1
            p.positions.add(position)
        for row, value in p.pending.items():
            _put(p.rows, row, value)
        p.pending, p.pending_positions = {}, []


def crashed_projector(s: ViewState, r: Crashed) -> None:
    """A projector that crashes loses its open transaction (what it had not committed)."""
    store = s.store
    if store is None:
        return
    p = store.projectors.get(r.component)
    if p is not None:
        p.pending, p.pending_positions = {}, []


def _skipped(s: ViewState, r: ProjectionSkipped) -> None:
    projector_of(s, r.projector).skipped += 1


def _gap_waited(s: ViewState, r: GapWaited) -> None:
    projector_of(s, r.projector).gap = f"@{r.position} waiting"


def _gap_skipped(s: ViewState, r: GapSkipped) -> None:
    projector_of(s, r.projector).gap = f"@{r.position} skipped"


def _snapshotted(s: ViewState, r: ReadModelSnapshotted) -> None:
    p = projector_of(s, r.projector)
    p.snapshot = (r.position, dict(p.rows))


def _queried(s: ViewState, r: ReadModelQueried) -> None:
    # A query answered from the event log (not a read model) names no projector.
    if r.source != "event-log":
        p = projector_of(s, r.source)
        value = "∅" if r.value is None else r.value
        p.last_query = f"{r.key}={value}" + (" stale" if r.stale else "")
        p.stale_reads += 1 if r.stale else 0


def _rebuild_started(s: ViewState, r: RebuildStarted) -> None:
    p = projector_of(s, r.projector)
    p.rebuild_version, p.rebuild_position, p.rebuild_head = r.version, 0, r.head
    p.rebuild_from, p.rebuild_mode, p.rebuild_projection = r.from_position, r.mode, r.projection
    p.replayed = 0
    start = dict(p.snapshot[1]) if r.from_position > 1 and p.snapshot is not None else {}
    if r.mode == "blue-green":
        p.building = start
    else:
        # Replay in place: the table is dropped (or reset to the snapshot) and refilled.
        p.rows, p.pending, p.pending_positions = start, {}, []
        p.doubled = {}
        p.positions = Positions(r.from_position)
    p.last_row = None


def _replayed(s: ViewState, r: EventReplayed) -> None:
    store = store_of(s)
    p = projector_of(s, r.projector)
    p.replayed += 1
    p.rebuild_position = r.position
    p.last_row = r.row
    if r.row is None or r.value is None:
        return
    table = p.building if p.building is not None else p.rows
    before = table.get(r.row)
    _put(table, r.row, r.value)
    if p.building is None:
        p.positions.add(r.position)
    _learn(store, p.rebuild_projection or p.projection, r.position, r.row, before, r.value)


def _rebuild_progressed(s: ViewState, r: RebuildProgressed) -> None:
    p = projector_of(s, r.projector)
    p.rebuild_version = r.version
    p.rebuild_position, p.rebuild_head = r.position, r.head


def _caught_up(p: ProjectorView) -> None:
    """The rebuilt table's checkpoint is where the replay stopped (no ``CheckpointSaved``
    says so: the rebuild keeps its own)."""
    p.checkpoint = max(p.checkpoint, p.rebuild_position + 1)
    p.applied = max(p.applied, p.rebuild_position)


def _rebuild_finished(s: ViewState, r: RebuildFinished) -> None:
    p = projector_of(s, r.projector)
    p.rebuild_version = None
    p.rebuilt = r.events
    if p.building is None:
        _caught_up(p)
        if p.rebuild_projection:
            p.projection = p.rebuild_projection


def _read_model_switched(s: ViewState, r: ReadModelSwitched) -> None:
    p = projector_of(s, r.projector)
    p.reading = r.to_version
    if p.building is not None:
        p.retired = (r.from_version, p.rows)
        p.rows, p.building = p.building, None
        _caught_up(p)
        p.pending, p.pending_positions, p.doubled = {}, [], {}
        if p.rebuild_projection:
            p.projection = p.rebuild_projection


def _mismatched(s: ViewState, r: ReadModelMismatched) -> None:
    store_of(s).expected[(r.projector, r.row)] = r.expected


HANDLERS = (
    (EventStored, _event_stored),
    (AggregateLoaded, _aggregate_loaded),
    (SnapshotTaken, _snapshot_taken),
    (SnapshotDiscarded, _snapshot_discarded),
    (UpcastApplied, _upcast),
    (VersionConflicted, _version_conflicted),
    (CommandRejected, _command_rejected),
    (UpdateLost, _update_lost),
    (EventPublished, _published),
    (EventUnpublished, _unpublished),
    (Projected, _projected),
    (ProjectionSkipped, _skipped),
    (ReadModelSnapshotted, _snapshotted),
    (CheckpointSaved, _checkpoint_saved),
    (GapWaited, _gap_waited),
    (GapSkipped, _gap_skipped),
    (ReadModelQueried, _queried),
    (RebuildStarted, _rebuild_started),
    (RebuildProgressed, _rebuild_progressed),
    (EventReplayed, _replayed),
    (RebuildFinished, _rebuild_finished),
    (ReadModelSwitched, _read_model_switched),
    (ReadModelMismatched, _mismatched),
)
"""Record class → how it changes the store's view (merged into ``tui.fold``'s table)."""
