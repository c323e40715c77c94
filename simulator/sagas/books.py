"""Saga outcomes counted from the trace, for ``expect`` lines.

Per group (the manager's or a service's) and in total (key ``None``):
``sagas_started``; ``sagas_completed`` (every step done); ``sagas_compensated``
(ended by compensating, after a failure or a timeout); ``sagas_timed_out``;
``saga_steps_completed`` / ``saga_steps_failed``; ``saga_steps_repeated`` (a
non-idempotent service did a step twice: a double charge);
``saga_compensations`` (undo actions run); ``saga_duplicates_ignored``.
"""

from __future__ import annotations

from collections.abc import Iterable

from simulator.trace import (
    Record,
    SagaCompensated,
    SagaCompleted,
    SagaDuplicateIgnored,
    SagaStarted,
    SagaStepCompleted,
    SagaStepFailed,
    SagaTimedOut,
)

__all__ = ["saga_metrics"]

Metrics = dict[str, dict[str | None, int]]


def saga_metrics(records: Iterable[Record]) -> Metrics:
    """metric → {group (None: all) → value}."""
    m: Metrics = {}

    def add(metric: str, group: str) -> None:
        per = m.setdefault(metric, {})
        per[group] = per.get(group, 0) + 1
        per[None] = per.get(None, 0) + 1

    for r in records:
        if isinstance(r, SagaStarted):
            add("sagas_started", r.group)
        elif isinstance(r, SagaCompleted):
            add("sagas_completed" if r.outcome == "completed" else "sagas_compensated", r.group)
        elif isinstance(r, SagaTimedOut):
            add("sagas_timed_out", r.group)
        elif isinstance(r, SagaStepCompleted):
            add("saga_steps_completed", r.group)
            if r.repeat:
                add("saga_steps_repeated", r.group)
        elif isinstance(r, SagaStepFailed):
            add("saga_steps_failed", r.group)
        elif isinstance(r, SagaCompensated):
            add("saga_compensations", r.group)
        elif isinstance(r, SagaDuplicateIgnored):
            add("saga_duplicates_ignored", r.group)
    return m
