"""The query side: read one row of a read model, or ask the event log itself.

A read model is only as fresh as its projector, so a query right after a command
may get the old row: CQRS reads are eventually consistent, and each answer
records how many committed positions the read model was behind
(``lag_positions``) and whether the row was stale. *Read-your-writes* is bought
by waiting: a query with ``after_command`` polls until the projector has passed
that command's position, or until ``timeout_ms``, as a client waits for the
position token its write returned. A query of the event log folds the
aggregate's stream instead, always current; ``as_of_ms`` reads it as it was then.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import msgspec

from simulator.cqrs.event_log import EventLog
from simulator.cqrs.projections import reference_of
from simulator.cqrs.projector import Projector
from simulator.domain import get_domain
from simulator.runtime import Runtime
from simulator.scenario import QuerySpec
from simulator.trace import ReadModelQueried

__all__ = ["WAIT_POLL_MS", "QueryHandler"]

WAIT_POLL_MS = 5
"""How often a read-your-writes query looks at the projector's checkpoint while it waits."""


class QueryHandler:
    """Answers the scenario's queries from a projector's read model or from the event log."""

    def __init__(
        self, runtime: Runtime, log: EventLog, projectors: Mapping[str, Projector]
    ) -> None:
        self.runtime = runtime
        self.log = log
        self.projectors = projectors

    def ask(self, arg: tuple[QuerySpec, int]) -> None:
        """Answer ``query`` (asked at ``asked_ms``), or look again soon if it waits for a write."""
        query, asked_ms = arg
        if query.projector is None:
            self._ask_event_log(query)
            return
        runtime = self.runtime
        now = runtime.kernel.now_ms
        projector = self.projectors[query.projector]
        if query.after_command is not None:
            target = self.log.command_positions.get(query.after_command)
            caught_up = target is not None and projector.serving.checkpoint > target
            if not caught_up and now - asked_ms < query.timeout_ms:
                runtime.kernel.after(WAIT_POLL_MS, self.ask, arg)
                return
        rm = projector.serving
        value = rm.table.get(query.key)
        visible = self.log.visible_positions(now)
        truth = self.log.fold(reference_of(rm.projection), visible)
        applied = (
            rm.checkpoint - 1 if projector.spec.source == "store" else len(projector.applied_count)
        )
        lag = sum(1 for p in visible if p > applied)
        runtime.emit(
            ReadModelQueried,
            projector.name,
            None,
            source=projector.name,
            key=query.key,
            value=None if value is None else str(value),
            lag_positions=lag,
            waited_ms=now - asked_ms,
            stale=truth.get(query.key) != value,
        )

    def _ask_event_log(self, query: QuerySpec) -> None:
        assert query.domain is not None and query.stream is not None
        domain = get_domain(query.domain)
        store = self.log.store
        if query.as_of_ms is not None:
            loaded = store.load_at_time(domain, query.stream, query.as_of_ms)
        else:
            loaded = store.load(domain, query.stream)
        self.runtime.emit(
            ReadModelQueried,
            "event-log",
            None,
            source="event-log",
            key=query.key,
            value=_state_value(loaded.state, query.key),
            lag_positions=0,
            waited_ms=0,
            stale=False,
            as_of_ms=query.as_of_ms,
        )


def _state_value(state: Any, key: str) -> str:
    """A query's answer from an aggregate's state: a balance, or the state as JSON."""
    balance = getattr(state, "balance_cents", None)
    if callable(balance):
        return str(balance())
    return msgspec.json.encode(state).decode()
