"""The event store and its CQRS components inside one simulation run.

``CqrsModel`` owns the store and everything around it, all driven by the
simulation's virtual clock:

- **Command handlers** load an aggregate (snapshot + tail), think for
  ``decide_ms`` — the window in which another writer can slip in — then append
  expecting the loaded version. A conflict reloads and decides again under the
  handler's retry policy; ``concurrency = "ignore"`` appends anyway (the lost
  update). An append takes its global position at once but becomes *visible*
  to catch-up readers only when its transaction commits, ``commit_ms`` later:
  two concurrent writers can commit out of position order (the visibility gap).
- **Publishing** to a broker topic: a *dual write* publishes after the append,
  separately (a crash in between loses the event for every subscriber); an
  *outbox* entry is written in the append's transaction and a relay publishes
  it at least once.
- **Projectors** fold events into read models, from the store's global log
  (a catch-up subscription with a checkpoint) or from a consumer group of the
  log broker. ``naive`` applies whatever arrives, ``idempotent`` skips versions
  it has applied, ``atomic`` commits rows and checkpoint together.
- **Queries** read one row (with the read model's lag) or fold the event log;
  **rebuilds** replay the log into a read model, in place or blue/green.

At the end ``finish`` compares every read model with a fresh fold of the log
and reports each difference with the record that explains it.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import TYPE_CHECKING, Any

import msgspec

from simulator.cqrs.commands import PlannedCommand, expand_commands
from simulator.cqrs.projections import PROJECTIONS, Projection, Table, fold, table_digest
from simulator.domain import Rejected, get_domain
from simulator.domain.decider import Domain, event_schema_version, event_tag
from simulator.errors import InputError
from simulator.messages import Message
from simulator.retry import backoff_ms, may_retry
from simulator.scenario import HandlerSpec, ProjectorSpec, QuerySpec, RebuildSpec
from simulator.store import (
    ANY_VERSION,
    EventStore,
    InMemoryEventStore,
    Loaded,
    SnapshotPolicy,
    SqliteEventStore,
    StoredEvent,
    VersionConflict,
)
from simulator.trace import (
    AggregateLoaded,
    CheckpointSaved,
    CommandRejected,
    Crashed,
    EventPublished,
    EventStored,
    EventUnpublished,
    GapSkipped,
    GapWaited,
    Processed,
    Projected,
    ProjectionSkipped,
    ReadModelMismatched,
    ReadModelQueried,
    ReadModelSnapshotted,
    ReadModelSwitched,
    RebuildFinished,
    RebuildProgressed,
    RebuildStarted,
    Restarted,
    SnapshotDiscarded,
    SnapshotTaken,
    UpcastApplied,
    UpdateLost,
    VersionConflicted,
)

if TYPE_CHECKING:
    from simulator.simulation import Simulation

__all__ = ["RELAY", "CqrsModel"]

RELAY = "outbox-relay"
"""Component name of the outbox relay (a crash target)."""
MAX_FINDINGS_PER_PROJECTOR = 20
WAIT_POLL_MS = 5
"""How often a read-your-writes query looks at the projector's checkpoint while it waits."""


def open_store(sim: Simulation) -> EventStore:
    spec = sim.scenario.store
    assert spec is not None
    if spec.backend == "memory":
        return InMemoryEventStore()
    assert spec.path is not None
    path = Path(spec.path)
    if path.exists():
        # Refuses anything that is not an evsim store; an old evsim store is replaced, so
        # every run of a lesson starts from the same (empty) log.
        SqliteEventStore(path).close()
        for suffix in ("", "-wal", "-shm"):
            extra = Path(f"{path}{suffix}")
            if extra.exists():
                os.remove(extra)
    try:
        return SqliteEventStore(path)
    except OSError as error:
        raise InputError(str(path), "", error.strerror or "cannot open the store") from None


def settings_for(sim: Simulation) -> dict[str, str]:
    """The store's and components' settings, for the trace header."""
    s = sim.scenario
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


class ReadModel:
    """One version of a projector's read model: its table, checkpoint and version books.

    All of it is durable (it lives in the read model's database): a crash loses
    only what the projector held in memory.
    """

    def __init__(self, projection: Projection, version: int) -> None:
        self.projection = projection
        self.version = version
        self.table: Table = {}
        self.checkpoint = 1
        """The next global position to read (``source = "store"``)."""
        self.applied: dict[str, int] = {}
        """Idempotent projectors: last applied version per stream (or per row)."""


class Handler:
    """A command handler: load, decide after ``decide_ms``, append with an expected version."""

    def __init__(self, model: CqrsModel, spec: HandlerSpec) -> None:
        self.model = model
        self.sim = model.sim
        self.spec = spec
        self.name = spec.name
        self.crashed = False
        self.epoch = 0
        self.policy = SnapshotPolicy(every_n_events=spec.snapshot_every)
        store = model.sim.scenario.store
        assert store is not None
        self.publish = spec.publish if spec.publish is not None else store.publish

    def receive(self, arg: tuple[PlannedCommand, int, int | None]) -> None:
        planned, attempt, cause = arg
        sim = self.sim
        domain = planned.domain
        stream = domain.stream_id(planned.command)
        if self.crashed:
            sim.emit(
                CommandRejected,
                self.name,
                cause,
                handler=self.name,
                command=planned.id,
                stream=stream,
                reason="handler is down",
            )
            return
        store = self.model.store
        loaded = store.load(domain, stream)
        rec = sim.emit(
            AggregateLoaded,
            self.name,
            cause,
            handler=self.name,
            command=planned.id,
            stream=stream,
            version=loaded.version,
            replayed=loaded.replayed,
            snapshot_version=loaded.snapshot_version,
        )
        if loaded.discarded_snapshot is not None:
            d = loaded.discarded_snapshot
            sim.emit(
                SnapshotDiscarded,
                self.name,
                rec.seq,
                handler=self.name,
                stream=stream,
                version=d.version,
                reason=d.reason,
            )
        upcast = self.model.upcasts(domain, stream, loaded)
        if upcast:
            sim.emit(
                UpcastApplied,
                self.name,
                rec.seq,
                handler=self.name,
                stream=stream,
                events=sum(upcast.values()),
                types=sorted(upcast),
            )
        sim.kernel.after(
            self.spec.decide_ms, self._decide, (planned, attempt, loaded, rec.seq, self.epoch)
        )

    def _decide(self, arg: tuple[PlannedCommand, int, Loaded[Any], int, int]) -> None:
        planned, attempt, loaded, cause, epoch = arg
        if self.crashed or epoch != self.epoch:
            return
        model = self.model
        busy = model.writer_busy_until_ms
        if model.single_writer and busy > self.sim.kernel.now_ms:
            # One writer at a time: wait for the open transaction to commit.
            self.sim.kernel.schedule(busy, self._decide, arg)
            return
        sim = self.sim
        domain = planned.domain
        stream = loaded.stream_id
        decided = domain.decide(planned.command, loaded.state)
        if isinstance(decided, Rejected):
            sim.emit(
                CommandRejected,
                self.name,
                cause,
                handler=self.name,
                command=planned.id,
                stream=stream,
                reason=decided.reason,
            )
            return
        events = list(decided)
        if not events:
            return
        store = model.store
        ignore = self.spec.concurrency == "ignore"
        result = store.append(
            stream,
            store.codec(domain).encode_all(events),
            ANY_VERSION if ignore else loaded.version,
            recorded_at_ms=sim.kernel.now_ms,
        )
        if isinstance(result, VersionConflict):
            retry = may_retry(self.spec.retry, attempt)
            delay = (
                backoff_ms(self.spec.retry, attempt, sim.rng.stream(f"retry:{self.name}"))
                if retry
                else None
            )
            rec = sim.emit(
                VersionConflicted,
                self.name,
                cause,
                handler=self.name,
                command=planned.id,
                stream=stream,
                expected=loaded.version,
                actual=result.actual_version,
                attempt=attempt,
                retry_in_ms=delay,
            )
            if delay is not None:
                sim.kernel.after(delay, self.receive, (planned, attempt + 1, rec.seq))
            return
        before = result.version - result.count
        now = sim.kernel.now_ms
        visible_at = now + self.spec.commit_ms
        if model.single_writer:
            model.writer_busy_until_ms = visible_at
        first = cause
        if ignore and before != loaded.version:
            first = sim.emit(
                UpdateLost,
                self.name,
                cause,
                handler=self.name,
                command=planned.id,
                stream=stream,
                loaded_version=loaded.version,
                actual_version=before,
            ).seq
        stored = store.read_all(result.first_position, result.count)
        for event in stored:
            rec = sim.emit(
                EventStored,
                self.name,
                first,
                handler=self.name,
                command=planned.id,
                stream=stream,
                version=event.version,
                position=event.position,
                type=event.type,
                visible_at_ms=visible_at,
            )
            model.stored(event, rec.seq, visible_at, planned.id, self.publish)
        if visible_at > now:
            sim.kernel.schedule(visible_at, model.committed, result.last_position)
        if self.policy.is_due(before, result.version):
            state = (
                domain.replay(events, loaded.state)
                if before == loaded.version
                else store.load(domain, stream).state
            )
            store.take_snapshot(
                domain, Loaded(stream_id=stream, state=state, version=result.version, replayed=0)
            )
            sim.emit(
                SnapshotTaken,
                self.name,
                cause,
                handler=self.name,
                stream=stream,
                version=result.version,
            )
        if self.publish == "dual-write":
            crash = sim.faults.crash_at_point(self.name, "after_append_before_publish")
            if crash is not None:
                sim.crash(self.name, "after_append_before_publish", crash.restart_after_ms)
                return
            positions = [e.position for e in stored]
            sim.kernel.after(model.publish_delay_ms, self._publish, (positions, self.epoch))

    def _publish(self, arg: tuple[list[int], int]) -> None:
        positions, epoch = arg
        if self.crashed or epoch != self.epoch:
            return
        for position in positions:
            self.model.publish_position(position, "dual-write", self.name)

    def crash(self) -> None:
        self.crashed = True
        self.epoch += 1

    def restart(self) -> None:
        self.crashed = False


class OutboxRelay:
    """Publishes outbox entries in position order; marks each one after publishing it."""

    def __init__(self, model: CqrsModel, interval_ms: int) -> None:
        self.model = model
        self.sim = model.sim
        self.interval_ms = interval_ms
        self.crashed = False
        self.epoch = 0
        self.attempts: dict[int, int] = {}
        self._schedule()

    def _schedule(self) -> None:
        idle = not self.model.outbox
        self.sim.kernel.after(self.interval_ms, self._poll, self.epoch, background=idle)

    def _poll(self, epoch: int) -> None:
        if self.crashed or epoch != self.epoch:
            return
        model = self.model
        now = self.sim.kernel.now_ms
        for position in list(model.outbox):
            if model.visible_at[position] > now:
                break  # the outbox row is not committed yet either
            attempt = self.attempts.get(position, 0) + 1
            self.attempts[position] = attempt
            model.publish_position(position, "outbox", RELAY, attempt)
            crash = self.sim.faults.crash_at_point(RELAY, "after_publish_before_mark")
            if crash is not None:
                self.sim.crash(RELAY, "after_publish_before_mark", crash.restart_after_ms)
                return
            model.outbox.remove(position)
        self._schedule()

    def crash(self) -> None:
        self.crashed = True
        self.epoch += 1

    def restart(self) -> None:
        self.crashed = False
        self._schedule()


class Projector:
    """Builds a read model from the store's log (catch-up) or a consumer group's records."""

    def __init__(self, model: CqrsModel, spec: ProjectorSpec) -> None:
        self.model = model
        self.sim = model.sim
        self.spec = spec
        self.name = spec.name
        self.kind = spec.kind
        self.serving = ReadModel(PROJECTIONS[spec.projection], 1)
        self.building: ReadModel | None = None
        """Blue/green: the next version, built beside the serving one."""
        self.crashed = False
        self.epoch = 0
        self.rebuilding = False
        self.cursor = 1
        """In memory: the next position to read; restored from the checkpoint on restart."""
        self.pending: Table | None = None
        self.pending_applied: dict[str, int] = {}
        self.gap_since: dict[int, int] = {}
        self.crash_seq: int | None = None
        self.applied_count: dict[int, int] = {}
        """Position → times applied to the serving read model (for the checker's "why")."""
        self.missed: dict[int, int] = {}
        """Position → seq of the GapSkipped record that passed it by."""
        self._rebuild_arg: tuple[ReadModel, RebuildSpec, int, int, int] | None = None
        """The rebuild under way, if any (a crash pauses it; the restart resumes it)."""
        self.snapshot: tuple[int, Table, dict[str, int]] | None = None
        """The latest read-model snapshot: (checkpoint, rows, applied versions)."""
        self.latest_position: dict[str, int] = {}
        """Row → the highest position applied to it (to notice reordering)."""
        self.reordered: dict[str, int] = {}
        """Row → seq of the first Projected record that applied an older event over a newer."""
        if spec.source == "store":
            self.sim.kernel.schedule(spec.start_ms, self._poll, self.epoch, background=True)

    # -- catch-up from the store -----------------------------------------------------------

    def _next_poll(self, busy: bool) -> None:
        self.sim.kernel.after(self.spec.poll_ms, self._poll, self.epoch, background=not busy)

    def _poll(self, epoch: int) -> None:
        if self.crashed or epoch != self.epoch or self.rebuilding:
            return
        model = self.model
        sim = self.sim
        now = sim.kernel.now_ms
        head = model.store.head_position()
        visible_at = model.visible_at
        last_visible = head
        while last_visible >= self.cursor and visible_at[last_visible] > now:
            last_visible -= 1  # in-flight appends at the head are not a gap: nothing is after them
        taken: list[int] = []
        position = self.cursor
        while position <= last_visible and len(taken) < self.spec.batch:
            if model.visible_at[position] <= now:
                taken.append(position)
                position += 1
                continue
            gap = self.spec.gap
            if gap == "naive":
                rec = sim.emit(
                    GapSkipped,
                    self.name,
                    model.stored_seq[position],
                    projector=self.name,
                    position=position,
                    reason="not committed yet; a later one was, and the reader moved past it",
                )
                self.missed.setdefault(position, rec.seq)
                position += 1
                continue
            since = self.gap_since.get(position)
            if since is None:
                self.gap_since[position] = now
                sim.emit(
                    GapWaited,
                    self.name,
                    model.stored_seq[position],
                    projector=self.name,
                    position=position,
                    head=head,
                )
                since = now
            if gap == "high-water" and now - since >= self.spec.stale_ms:
                rec = sim.emit(
                    GapSkipped,
                    self.name,
                    model.stored_seq[position],
                    projector=self.name,
                    position=position,
                    reason=f"still missing after {self.spec.stale_ms} ms: given up as rolled back",
                )
                self.missed.setdefault(position, rec.seq)
                position += 1
                continue
            break
        skipped_to = position
        if not taken:
            if skipped_to != self.cursor:
                self.cursor = skipped_to
                self._save_checkpoint(self.cursor, None)
            self._next_poll(busy=False)
            return
        rm = self.serving
        if self.kind == "atomic":
            self.pending = dict(rm.table)
            self.pending_applied = dict(rm.applied)
        for p in taken:
            self._apply(rm, model.event_at(p), p)
        self.cursor = skipped_to
        delay = self.spec.apply_ms * len(taken)
        sim.kernel.after(delay, self._checkpoint, (skipped_to, self.epoch))

    def _checkpoint(self, arg: tuple[int, int]) -> None:
        position, epoch = arg
        if self.crashed or epoch != self.epoch:
            return
        sim = self.sim
        crash = sim.faults.crash_at_point(self.name, "after_project_before_checkpoint")
        if crash is not None:
            sim.crash(self.name, "after_project_before_checkpoint", crash.restart_after_ms)
            return
        self._save_checkpoint(position, None)
        more = self.model.store.head_position() >= self.cursor
        self._next_poll(busy=more)

    def _save_checkpoint(self, position: int, cause: int | None) -> None:
        rm = self.serving
        atomic = self.kind == "atomic" and self.pending is not None
        if atomic and self.pending is not None:
            rm.table = self.pending
            rm.applied = self.pending_applied
            self.pending = None
        before = rm.checkpoint
        rm.checkpoint = position
        rec = self.sim.emit(
            CheckpointSaved, self.name, cause, projector=self.name, position=position, atomic=atomic
        )
        every = self.spec.snapshot_every
        if every and (before - 1) // every < (position - 1) // every:
            self.snapshot = (position, dict(rm.table), dict(rm.applied))
            self.sim.emit(
                ReadModelSnapshotted,
                self.name,
                rec.seq,
                projector=self.name,
                position=position,
                rows=len(rm.table),
            )

    # -- applying one event --------------------------------------------------------------------

    def _apply(
        self, rm: ReadModel, stored: StoredEvent, position: int, cause: int | None = None
    ) -> bool:
        """Apply one stored event to ``rm`` (or to the open transaction); False if skipped."""
        sim = self.sim
        model = self.model
        projection = rm.projection
        event = model.decode(projection, stored)
        if cause is None:
            cause = model.stored_seq.get(position)
        atomic = self.kind == "atomic" and rm is self.serving and self.pending is not None
        table = self.pending if atomic and self.pending is not None else rm.table
        gap_after: int | None = None
        applied = self.pending_applied if atomic else rm.applied
        if self.kind != "naive" and event is not None:
            key = stored.stream_id
            if self.spec.idempotency == "row":
                row_key = projection.row_of(event)
                key = f"{stored.stream_id}/{row_key}"
            last = applied.get(key, 0)
            if self.spec.idempotency == "stream" and stored.version > last + 1:
                gap_after = last
            if stored.version <= last:
                sim.emit(
                    ProjectionSkipped,
                    self.name,
                    cause,
                    projector=self.name,
                    position=position,
                    stream=stored.stream_id,
                    version=stored.version,
                    reason=f"version {stored.version} ≤ last applied {last} for {key}",
                )
                return False
            applied[key] = stored.version
        row = projection.apply(table, event) if event is not None else None
        value = table.get(row) if row is not None else None
        if rm is self.serving:
            self.applied_count[position] = self.applied_count.get(position, 0) + 1
        seq = sim.next_seq
        if row is not None and rm is self.serving:
            latest = self.latest_position.get(row, 0)
            if position < latest:
                self.reordered.setdefault(row, seq)
            else:
                self.latest_position[row] = position
        sim.emit(
            Projected,
            self.name,
            cause,
            projector=self.name,
            position=position,
            stream=stored.stream_id,
            version=stored.version,
            type=stored.type,
            row=row,
            value=None if value is None else str(value),
            pending=atomic,
            gap_after=gap_after,
        )
        return True

    def on_processed(self, rec: Processed) -> None:
        """``source = "group"``: the group's consumer processed a published event."""
        position = self.model.position_of_msg.get(rec.msg)
        if position is None or rec.txn is not None:
            return
        self._apply(self.serving, self.model.event_at(position), position, rec.seq)

    # -- rebuilds ---------------------------------------------------------------------------------

    def start_rebuild(self, spec: RebuildSpec) -> None:
        sim = self.sim
        projection = PROJECTIONS[spec.projection or self.serving.projection.name]
        version = self.serving.version + 1
        rm = ReadModel(projection, version)
        if spec.start == "snapshot" and self.snapshot is not None:
            rm.checkpoint, table, applied = self.snapshot
            rm.table, rm.applied = dict(table), dict(applied)
        from_position = rm.checkpoint
        head = self.model.store.head_position()
        rec = sim.emit(
            RebuildStarted,
            self.name,
            None,
            projector=self.name,
            mode=spec.mode,
            version=version,
            projection=projection.name,
            head=head,
            from_position=from_position,
        )
        if spec.mode == "replay":
            # Drop and replay in place: queries now see the half-built table.
            self.rebuilding = True
            self.epoch += 1
            self.pending = None
            self.serving = rm
            self.applied_count = {p: 1 for p in range(1, from_position)}
            self.missed = {}
            self.latest_position = {}
            self.reordered = {}
        else:
            self.building = rm
        self._rebuild_arg = (rm, spec, sim.kernel.now_ms, rec.seq, from_position)
        sim.kernel.after(spec.step_ms, self._rebuild_step, self._rebuild_arg)

    def _rebuild_step(self, arg: tuple[ReadModel, RebuildSpec, int, int, int]) -> None:
        rm, spec, started_ms, cause, from_position = arg
        sim = self.sim
        model = self.model
        if self.crashed or arg is not self._rebuild_arg:
            return  # a restart picks the rebuild up where its table is
        now = sim.kernel.now_ms
        head = model.store.head_position()
        done = 0
        while done < spec.step_events and rm.checkpoint <= head:
            if model.visible_at[rm.checkpoint] > now:
                break
            self._apply_quietly(rm, rm.checkpoint)
            rm.checkpoint += 1
            done += 1
        sim.emit(
            RebuildProgressed,
            self.name,
            cause,
            projector=self.name,
            version=rm.version,
            position=rm.checkpoint - 1,
            head=head,
        )
        if rm.checkpoint <= head:
            sim.kernel.after(spec.step_ms, self._rebuild_step, arg)
            return
        self._rebuild_arg = None
        sim.emit(
            RebuildFinished,
            self.name,
            cause,
            projector=self.name,
            version=rm.version,
            events=rm.checkpoint - from_position,
            took_ms=now - started_ms,
        )
        if spec.mode == "blue-green":
            old = self.serving.version
            self.serving = rm
            self.building = None
            self.applied_count = {p: 1 for p in range(1, rm.checkpoint)}
            self.missed = {}
            self.latest_position = {}
            self.reordered = {}
            self.pending = None
            self.epoch += 1
            sim.emit(
                ReadModelSwitched,
                self.name,
                cause,
                projector=self.name,
                from_version=old,
                to_version=rm.version,
            )
        else:
            self.rebuilding = False
            self.applied_count = {p: 1 for p in range(1, rm.checkpoint)}
            self.epoch += 1
        self.cursor = rm.checkpoint
        self._next_poll(busy=False)

    def _apply_quietly(self, rm: ReadModel, position: int) -> None:
        """A rebuild applies the log in bulk: progress records, not one record per event."""
        stored = self.model.event_at(position)
        event = self.model.decode(rm.projection, stored)
        if event is not None:
            if self.kind != "naive":
                key = stored.stream_id
                if self.spec.idempotency == "row":
                    key = f"{stored.stream_id}/{rm.projection.row_of(event)}"
                rm.applied[key] = stored.version
            rm.projection.apply(rm.table, event)

    # -- faults -----------------------------------------------------------------------------------

    def crash(self, seq: int) -> None:
        self.crashed = True
        self.epoch += 1
        self.pending = None  # an open transaction rolls back
        self.crash_seq = seq

    def restart(self) -> None:
        self.crashed = False
        self.cursor = self.serving.checkpoint
        if self._rebuild_arg is not None:
            # The half-built table is durable: go on from its checkpoint.
            rm, spec, started_ms, cause, from_position = self._rebuild_arg
            self._rebuild_arg = (rm, spec, started_ms, cause, from_position)  # a new identity
            self.sim.kernel.after(
                self._rebuild_arg[1].step_ms, self._rebuild_step, self._rebuild_arg
            )
        if self.spec.source == "store" and not self.rebuilding:
            self._next_poll(busy=True)


class CqrsModel:
    """The store, handlers, relay, projectors, queries and rebuilds of one scenario."""

    def __init__(self, sim: Simulation) -> None:
        self.sim = sim
        scenario = sim.scenario
        spec = scenario.store
        assert spec is not None
        self.store = open_store(sim)
        self.single_writer = spec.writers == "single"
        self.writer_busy_until_ms = 0
        self.publish_delay_ms = spec.publish_delay_ms
        self.visible_at: list[int] = [0]
        """Index = global position: when that event's transaction commits."""
        self.stored_seq: dict[int, int] = {}
        self.command_positions: dict[str, int] = {}
        self.outbox: list[int] = []
        self.position_of_msg: dict[int, int] = {}
        self._msg_of_position: dict[int, Message] = {}
        self._published: set[int] = set()
        self._to_publish: list[int] = []
        self._cache: dict[int, StoredEvent] = {}
        self._tags: dict[str, frozenset[str]] = {}
        self.handlers = {h.name: Handler(self, h) for h in scenario.handlers}
        self.projectors = {p.name: Projector(self, p) for p in scenario.projectors}
        outbox = spec.publish == "outbox" or any(h.publish == "outbox" for h in scenario.handlers)
        self.relay = OutboxRelay(self, spec.relay_interval_ms) if outbox else None
        for planned in expand_commands(scenario, sim.rng):
            sim.kernel.schedule(
                planned.at_ms, self.handlers[planned.handler].receive, (planned, 1, None)
            )
        for query in scenario.queries:
            sim.kernel.schedule(query.at_ms, self._query, (query, query.at_ms))
        for rebuild in scenario.rebuilds:
            sim.kernel.schedule(rebuild.at_ms, self._rebuild, rebuild)

    # -- the store's books -------------------------------------------------------------------------

    def stored(
        self, event: StoredEvent, seq: int, visible_at: int, command: str, publish: str
    ) -> None:
        self.visible_at.append(visible_at)
        self.stored_seq[event.position] = seq
        self.command_positions[command] = event.position
        self._cache[event.position] = event
        if publish != "none":
            self._to_publish.append(event.position)
        if publish == "outbox":
            self.outbox.append(event.position)

    def committed(self, _: object) -> None:
        """An append's transaction commits (its events become visible); nothing to record."""

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

    def upcasts(
        self, domain: Domain[Any, Any, Any], stream: str, loaded: Loaded[Any]
    ) -> dict[str, int]:
        """Events of the replayed tail stored under an older schema: ``type vN→vM`` → count."""
        current = {event_tag(t): event_schema_version(t) for t in domain.event_types}
        out: dict[str, int] = {}
        if not domain.upcasters:
            return out
        tail = self.store.read_stream(stream, loaded.snapshot_version + 1, loaded.version)
        for event in tail:
            now = current.get(event.type, event.schema_version)
            if event.schema_version < now:
                label = f"{event.type} v{event.schema_version}→v{now}"
                out[label] = out.get(label, 0) + 1
        return out

    # -- publishing -----------------------------------------------------------------------------

    def publish_position(self, position: int, via: str, component: str, attempt: int = 1) -> None:
        sim = self.sim
        event = self.event_at(position)
        msg = self._msg_of_position.get(position)
        if msg is None:
            producer = sim.scenario.store.producer if sim.scenario.store else None
            assert producer is not None
            msg = sim.new_message(
                producer, event.stream_id, event.version, f"{event.type}@{position}"
            )
            self._msg_of_position[position] = msg
            self.position_of_msg[msg.id] = position
        self._published.add(position)
        sim.emit(
            EventPublished,
            component,
            self.stored_seq.get(position),
            via=via,
            position=position,
            stream=event.stream_id,
            msg=msg.id,
            attempt=attempt,
        )
        sim.broker.send(msg)

    # -- queries and rebuilds ----------------------------------------------------------------------

    def _query(self, arg: tuple[QuerySpec, int]) -> None:
        query, asked_ms = arg
        sim = self.sim
        now = sim.kernel.now_ms
        if query.projector is None:
            assert query.domain is not None and query.stream is not None
            domain = get_domain(query.domain)
            if query.as_of_ms is not None:
                loaded = self.store.load_at_time(domain, query.stream, query.as_of_ms)
            else:
                loaded = self.store.load(domain, query.stream)
            sim.emit(
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
            return
        projector = self.projectors[query.projector]
        if query.after_command is not None:
            target = self.command_positions.get(query.after_command)
            caught_up = target is not None and projector.serving.checkpoint > target
            if not caught_up and now - asked_ms < query.timeout_ms:
                sim.kernel.after(WAIT_POLL_MS, self._query, arg)
                return
        rm = projector.serving
        value = rm.table.get(query.key)
        visible = [p for p in range(1, len(self.visible_at)) if self.visible_at[p] <= now]
        reference = PROJECTIONS[rm.projection.reference or rm.projection.name]
        truth = fold(reference, self._decoded(reference, visible))
        applied = (
            rm.checkpoint - 1 if projector.spec.source == "store" else len(projector.applied_count)
        )
        lag = sum(1 for p in visible if p > applied)
        sim.emit(
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

    def _decoded(self, projection: Projection, positions: list[int]) -> list[Any]:
        out = []
        for p in positions:
            event = self.decode(projection, self.event_at(p))
            if event is not None:
                out.append(event)
        return out

    def _rebuild(self, spec: RebuildSpec) -> None:
        self.projectors[spec.projector].start_rebuild(spec)

    # -- faults ------------------------------------------------------------------------------------

    def owns(self, target: str) -> bool:
        return (
            target in self.handlers
            or target in self.projectors
            or (target == RELAY and self.relay is not None)
        )

    def crash(self, target: str, point: str | None) -> int:
        rec: Crashed = self.sim.emit(Crashed, target, None, point=point)
        if target in self.handlers:
            self.handlers[target].crash()
        elif target in self.projectors:
            self.projectors[target].crash(rec.seq)
        elif self.relay is not None:
            self.relay.crash()
        return rec.seq

    def restart(self, target: str, cause_seq: int | None) -> None:
        self.sim.emit(Restarted, target, cause_seq)
        if target in self.handlers:
            self.handlers[target].restart()
        elif target in self.projectors:
            self.projectors[target].restart()
        elif self.relay is not None:
            self.relay.restart()

    def observers(self) -> dict[type[Any], Any]:
        """Group-fed projectors watch their group's ``Processed`` records."""
        by_group = {p.spec.group: p for p in self.projectors.values() if p.spec.source == "group"}
        if not by_group:
            return {}

        def processed(rec: Processed) -> None:
            projector = by_group.get(rec.group)
            if projector is not None:
                projector.on_processed(rec)

        return {Processed: processed}

    # -- the end of the run -----------------------------------------------------------------------

    def read_model_digest(self) -> str | None:
        if not self.projectors:
            return None
        return table_digest({name: p.serving.table for name, p in self.projectors.items()})

    def finish(self) -> None:
        """Findings: events never published; read-model rows that differ from a fresh fold."""
        sim = self.sim
        head = self.store.head_position()
        unpublished: dict[int, int] = {}
        for position in self._to_publish:
            if position not in self._published:
                rec = sim.emit(
                    EventUnpublished,
                    "checker",
                    self.stored_seq.get(position),
                    position=position,
                    stream=self.event_at(position).stream_id,
                )
                unpublished[position] = rec.seq
        everything = list(range(1, head + 1))
        for projector in self.projectors.values():
            rm = projector.serving
            reference = PROJECTIONS[rm.projection.reference or rm.projection.name]
            truth = fold(reference, self._decoded(reference, everything))
            if truth == rm.table:
                continue
            own = None
            if rm.projection.reference is not None:
                own = fold(rm.projection, self._decoded(rm.projection, everything))
            rows = sorted(k for k in {**truth, **rm.table} if truth.get(k) != rm.table.get(k))
            for row in rows[:MAX_FINDINGS_PER_PROJECTOR]:
                if own is not None and own.get(row) == rm.table.get(row):
                    cause: int | None = None
                    reason = (
                        f"projection code: {rm.projection.name} folds the same log to another "
                        f"value than {rm.projection.reference} (a bug, not a delivery problem)"
                    )
                else:
                    cause, reason = self._why(projector, reference, row, everything, unpublished)
                actual, expected = rm.table.get(row), truth.get(row)
                sim.emit(
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
        self,
        projector: Projector,
        reference: Projection,
        row: str,
        everything: list[int],
        unpublished: dict[int, int],
    ) -> tuple[int | None, str]:
        """The first thing that explains a wrong row, with the record that shows it."""
        mine = [p for p in everything if self._row_at(reference, p) == row]
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
            return self.stored_seq.get(missing[0]), f"position {missing[0]} never applied"
        return None, "applied in another order than the log's"

    def _row_at(self, projection: Projection, position: int) -> str | None:
        event = self.decode(projection, self.event_at(position))
        return None if event is None else projection.row_of(event)


def _state_value(state: Any, key: str) -> str:
    """A query's answer from an aggregate's state: a balance, or the state as JSON."""
    balance = getattr(state, "balance_cents", None)
    if callable(balance):
        return str(balance())
    return msgspec.json.encode(state).decode()
