"""The CQRS outcome of a run, counted from the trace alone (``CQRS_METRICS``).

Each metric has a total (key ``None``) and, where a record names one, a value
per handler or projector — so a lesson can say ``version_conflicts >= 1`` or
``read_model_mismatches[naive] >= 1``.
"""

from __future__ import annotations

from collections.abc import Iterable

from simulator.trace import (
    AggregateLoaded,
    CommandRejected,
    EventPublished,
    EventUnpublished,
    GapSkipped,
    Projected,
    ProjectionSkipped,
    ReadModelMismatched,
    ReadModelQueried,
    RebuildFinished,
    Record,
    SnapshotDiscarded,
    SnapshotTaken,
    UpcastApplied,
    UpdateLost,
    VersionConflicted,
)

__all__ = ["cqrs_metrics"]

Metrics = dict[str, dict[str | None, int]]


def cqrs_metrics(records: Iterable[Record]) -> Metrics:
    out: Metrics = {}

    def add(metric: str, name: str | None, amount: int = 1) -> None:
        books = out.setdefault(metric, {})
        books[None] = books.get(None, 0) + amount
        if name is not None:
            books[name] = books.get(name, 0) + amount

    for r in records:
        if isinstance(r, VersionConflicted):
            add("version_conflicts", r.handler)
        elif isinstance(r, CommandRejected):
            add("commands_rejected", r.handler)
        elif isinstance(r, UpdateLost):
            add("lost_updates", r.handler)
        elif isinstance(r, SnapshotTaken):
            add("snapshots_taken", r.handler)
        elif isinstance(r, SnapshotDiscarded):
            add("snapshots_discarded", r.handler)
        elif isinstance(r, AggregateLoaded):
            add("events_replayed", r.handler, r.replayed)
        elif isinstance(r, UpcastApplied):
            add("upcasts", r.handler, r.events)
        elif isinstance(r, Projected):
            add("projected", r.projector)
            if r.gap_after is not None:
                add("version_gaps", r.projector)
        elif isinstance(r, ProjectionSkipped):
            add("projections_skipped", r.projector)
        elif isinstance(r, ReadModelMismatched):
            add("read_model_mismatches", r.projector)
        elif isinstance(r, GapSkipped):
            add("gaps_skipped", r.projector)
        elif isinstance(r, ReadModelQueried):
            add("queries", r.source)
            add("stale_reads", r.source, int(r.stale))
        elif isinstance(r, EventPublished):
            add("events_published", None)
        elif isinstance(r, EventUnpublished):
            add("events_unpublished", None)
        elif isinstance(r, RebuildFinished):
            add("rebuild_events", r.projector, r.events)
    return out
