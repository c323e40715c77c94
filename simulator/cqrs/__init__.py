"""CQRS on top of the event store, inside the deterministic simulation.

Read the modules in this order: ``process`` (a crashable process and its
epoch), ``event_log`` (the store, global positions and when they commit),
``commands`` and ``handler`` (the command side: load, decide, append with an
expected version), ``outbox`` (dual write and the outbox relay),
``projections`` and ``projector`` (the query side: folding the log into read
models), ``rebuild``, ``queries``, ``findings`` (every read model against a
fresh fold of the log) and ``model`` (wiring it together on a runtime).
``books`` counts a run's outcome from the trace. See ``docs/cqrs.md`` for the
concepts and the lessons that show them.
"""

from __future__ import annotations

__all__: list[str] = []
