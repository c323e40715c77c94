"""The CQRS layer of one run: the event store and the processes built around it.

``CqrsModel`` is the composition. It opens the store (``event_log``), builds the
command handlers (``handler``), the publishing of stored events and the outbox
relay (``outbox``), the projectors and their read models (``projector``,
``rebuild``) and the query side (``queries``), and schedules the scenario's
commands, queries and rebuilds on the runtime's clock. The simulation asks it
to crash and restart those processes by name; at the end ``findings`` compares
every read model with a fresh fold of the log. It needs nothing but a runtime.
"""

from __future__ import annotations

from typing import Any

from simulator.cqrs.commands import expand_commands
from simulator.cqrs.event_log import EventLog, StoreFile, open_store
from simulator.cqrs.findings import report_findings
from simulator.cqrs.handler import Handler
from simulator.cqrs.outbox import RELAY, OutboxRelay, Publishing
from simulator.cqrs.process import Process
from simulator.cqrs.projections import table_digest
from simulator.cqrs.projector import Projector
from simulator.cqrs.queries import QueryHandler
from simulator.cqrs.rebuild import start_rebuild
from simulator.runtime import Runtime
from simulator.scenario import RebuildSpec
from simulator.trace import Crashed, Processed, Restarted

__all__ = ["RELAY", "CqrsModel", "settings_for"]


def settings_for(runtime: Runtime) -> dict[str, str]:
    """The store's and components' settings, for the trace header."""
    s = runtime.scenario
    assert s.store is not None
    out: dict[str, str] = {
        "store.backend": s.store.backend,
        "store.writers": s.store.writers,
        "store.publish": s.store.publish,
    }
    for h in s.handlers:
        prefix = f"handler.{h.name}"
        out[f"{prefix}.concurrency"] = h.concurrency
        out[f"{prefix}.decide_ms"] = str(h.decide_ms)
        out[f"{prefix}.commit_ms"] = str(h.commit_ms)
        if h.snapshot_every:
            out[f"{prefix}.snapshot_every"] = str(h.snapshot_every)
    for p in s.projectors:
        prefix = f"projector.{p.name}"
        out[f"{prefix}.projection"] = p.projection
        out[f"{prefix}.kind"] = p.kind
        out[f"{prefix}.source"] = p.group if p.source == "group" and p.group else "store"
        if p.source == "store":
            out[f"{prefix}.gap"] = p.gap
    return out


class CqrsModel:
    """The store, handlers, relay, projectors, queries and rebuilds of one scenario."""

    def __init__(self, runtime: Runtime, store_file: StoreFile | None = None) -> None:
        self.runtime = runtime
        scenario = runtime.scenario
        spec = scenario.store
        assert spec is not None
        self.store = open_store(spec, scenario.name, store_file)
        self._events_stored: int | None = None
        self.log = EventLog(self.store, single_writer=spec.writers == "single")
        self.publishing = Publishing(runtime, self.log)
        self.handlers = {
            h.name: Handler(runtime, self.log, self.publishing, h) for h in scenario.handlers
        }
        self.projectors = {p.name: Projector(runtime, self.log, p) for p in scenario.projectors}
        outbox = spec.publish == "outbox" or any(h.publish == "outbox" for h in scenario.handlers)
        self.relay = (
            OutboxRelay(runtime, self.log, self.publishing, spec.relay_interval_ms)
            if outbox
            else None
        )
        self.queries = QueryHandler(runtime, self.log, self.projectors)
        kernel = runtime.kernel
        for planned in expand_commands(scenario, runtime.rng):
            kernel.schedule(
                planned.at_ms, self.handlers[planned.handler].receive, (planned, 1, None)
            )
        for query in scenario.queries:
            kernel.schedule(query.at_ms, self.queries.ask, (query, query.at_ms))
        for rebuild in scenario.rebuilds:
            kernel.schedule(rebuild.at_ms, self._rebuild, rebuild)

    def _rebuild(self, spec: RebuildSpec) -> None:
        start_rebuild(self.projectors[spec.projector], spec)

    # -- faults ------------------------------------------------------------------------------------

    def _process(self, target: str) -> Process | None:
        if target in self.handlers:
            return self.handlers[target]
        if target in self.projectors:
            return self.projectors[target]
        return self.relay if target == RELAY else None

    def owns(self, target: str) -> bool:
        return self._process(target) is not None

    def crash(self, target: str, point: str | None) -> int:
        rec: Crashed = self.runtime.emit(Crashed, target, None, point=point)
        process = self._process(target)
        assert process is not None
        process.crash(rec.seq)
        return rec.seq

    def restart(self, target: str, cause_seq: int | None) -> None:
        self.runtime.emit(Restarted, target, cause_seq)
        process = self._process(target)
        assert process is not None
        process.restart()

    def observers(self) -> dict[type[Any], Any]:
        """Group-fed projectors apply the stored event each processed message carried."""
        by_group = {p.spec.group: p for p in self.projectors.values() if p.spec.source == "group"}
        if not by_group:
            return {}
        position_of_msg = self.publishing.position_of_msg

        def processed(rec: Processed) -> None:
            projector = by_group.get(rec.group)
            if projector is None or rec.txn is not None:
                return
            position = position_of_msg.get(rec.msg)
            if position is not None:
                projector.on_processed(position, rec.seq)

        return {Processed: processed}

    # -- the end of the run -----------------------------------------------------------------------

    def read_model_digest(self) -> str | None:
        if not self.projectors:
            return None
        return table_digest({name: p.serving.table for name, p in self.projectors.items()})

    def finish(self) -> None:
        """Findings: events never published; read-model rows that differ from a fresh fold.

        A file store is then closed: the log is complete, and closing releases the
        run's exclusive lock, so a student's ``sqlite3`` (or the next run) can open it.
        """
        report_findings(self.runtime, self.log, self.publishing, self.projectors.values())
        self._events_stored = self.store.head_position()
        if self.store.file:
            self.store.close()

    @property
    def events_stored(self) -> int:
        """Events in the store (as the run left it, once it has finished)."""
        if self._events_stored is not None:
            return self._events_stored
        return self.store.head_position()
