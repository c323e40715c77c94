"""The end-of-run check: every read model against a fresh fold of the event log.

A projection is a fold, so the log itself says what every read model should
hold: fold each stored event once, in position order, and compare row by row.
Every row that differs becomes a ``ReadModelMismatched`` finding with the first
cause that explains it and the record that shows it: an event applied twice
after a crash between the read-model write and the checkpoint, one stepped over
in the visibility gap, one a dual write never published, one reordered on the
way, or a bug in the projection code itself. Events that were to reach the
topic and never did are reported first (``EventUnpublished``).
"""

from __future__ import annotations

from collections.abc import Iterable

from simulator.cqrs.event_log import EventLog
from simulator.cqrs.outbox import Publishing
from simulator.cqrs.projections import Projection, reference_of
from simulator.cqrs.projector import Projector
from simulator.runtime import Runtime
from simulator.trace import EventUnpublished, ReadModelMismatched

__all__ = ["MAX_FINDINGS_PER_PROJECTOR", "report_findings"]

MAX_FINDINGS_PER_PROJECTOR = 20


def report_findings(
    runtime: Runtime, log: EventLog, publishing: Publishing, projectors: Iterable[Projector]
) -> None:
    """Findings: events never published; read-model rows that differ from a fresh fold."""
    unpublished: dict[int, int] = {}
    for position in publishing.unpublished():
        rec = runtime.emit(
            EventUnpublished,
            "checker",
            log.stored_seq.get(position),
            position=position,
            stream=log.event_at(position).stream_id,
        )
        unpublished[position] = rec.seq
    everything = range(1, log.store.head_position() + 1)
    for projector in projectors:
        rm = projector.serving
        reference = reference_of(rm.projection)
        truth = log.fold(reference, everything)
        if truth == rm.table:
            continue
        own = None
        if rm.projection.reference is not None:
            code = rm.projection.code
            own = log.fold(rm.projection if code is None else code.fresh(), everything)
        rows = sorted(k for k in {**truth, **rm.table} if truth.get(k) != rm.table.get(k))
        for row in rows[:MAX_FINDINGS_PER_PROJECTOR]:
            if own is not None and own.get(row) == rm.table.get(row):
                cause: int | None = None
                reason = (
                    f"projection code: {rm.projection.name} folds the same log to another "
                    f"value than {rm.projection.reference} (a bug, not a delivery problem)"
                )
            else:
                cause, reason = _why(log, projector, reference, row, everything, unpublished)
            actual, expected = rm.table.get(row), truth.get(row)
            runtime.emit(
                ReadModelMismatched,
                "checker",
                cause,
                projector=projector.name,
                row=row,
                actual=None if actual is None else str(actual),
                expected=None if expected is None else str(expected),
                reason=reason,
            )


def _why(
    log: EventLog,
    projector: Projector,
    reference: Projection,
    row: str,
    everything: Iterable[int],
    unpublished: dict[int, int],
) -> tuple[int | None, str]:
    """The first thing that explains a wrong row, with the record that shows it."""
    mine = [p for p in everything if log.row_at(reference, p) == row]
    twice = [p for p in mine if projector.applied_count.get(p, 0) > 1]
    if twice:
        shown = ", ".join(str(p) for p in twice[:5])
        cause = projector.crash_seq if projector.spec.source == "store" else None
        return cause, (
            f"position {shown} applied more than once (read again after a crash between "
            "the read-model write and the checkpoint, or delivered twice)"
        )
    missed = [p for p in mine if p in projector.missed]
    if missed:
        return projector.missed[missed[0]], (
            f"position {missed[0]} never applied: the reader moved past it before its "
            "transaction committed (the visibility gap)"
        )
    lost = [p for p in mine if p in unpublished and p not in projector.applied_count]
    if lost:
        return unpublished[lost[0]], (
            f"position {lost[0]} never reached the topic (dual write: the process died "
            "between the append and the publish)"
        )
    reordered = projector.reordered.get(row)
    if reordered is not None:
        return reordered, (
            "an older event arrived after a newer one and overwrote it "
            "(reordered on the way: last arrival wins, not last in the log)"
        )
    missing = [p for p in mine if p not in projector.applied_count]
    if missing:
        return log.stored_seq.get(missing[0]), f"position {missing[0]} never applied"
    return None, "applied in another order than the log's"
