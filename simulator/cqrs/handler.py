"""The command handler: load the aggregate, decide, append expecting the loaded version.

A handler rehydrates an aggregate from its stream (the latest snapshot plus the
events after it), lets the domain decide which events the command causes, and
appends them *expecting the version it loaded*: optimistic concurrency, as with
EventStoreDB's expected revision. If another writer appended in between (here,
during ``decide_ms``), the store refuses with a version conflict and the handler
reloads and decides again under its retry policy; ``concurrency = "ignore"``
appends anyway and overwrites the other decision unseen (the lost update). The
append takes its global positions at once but commits ``commit_ms`` later, and
a dual-write handler publishes its events itself, after the append.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from simulator.cqrs.commands import PlannedCommand
from simulator.cqrs.event_log import EventLog
from simulator.cqrs.outbox import Publishing
from simulator.cqrs.process import Process
from simulator.domain import Rejected
from simulator.retry import backoff_ms, may_retry
from simulator.runtime import Runtime
from simulator.scenario import HandlerSpec
from simulator.store import (
    ANY_VERSION,
    Appended,
    Loaded,
    SnapshotPolicy,
    StoredEvent,
    VersionConflict,
)
from simulator.trace import (
    AggregateLoaded,
    CommandRejected,
    EventStored,
    SnapshotDiscarded,
    SnapshotTaken,
    UpcastApplied,
    UpdateLost,
    VersionConflicted,
)

if TYPE_CHECKING:
    from simulator.usercode.commands import CommandCode

__all__ = ["Handler"]


class Handler(Process):
    """A command handler: load, decide after ``decide_ms``, append with an expected version."""

    def __init__(
        self, runtime: Runtime, log: EventLog, publishing: Publishing, spec: HandlerSpec
    ) -> None:
        super().__init__(runtime, spec.name)
        self.log = log
        self.publishing = publishing
        self.spec = spec
        self.policy = SnapshotPolicy(every_n_events=spec.snapshot_every)
        store = runtime.scenario.store
        assert store is not None
        self.publish = spec.publish if spec.publish is not None else store.publish
        self.publish_delay_ms = store.publish_delay_ms
        """Dual write: the time between the append and the separate publish call."""
        self.code: CommandCode | None = None
        """The handler's own code (``decider`` or ``command_handler``), if its spec names any."""
        if spec.decider is not None or spec.command_handler is not None:
            from simulator.usercode.commands import command_code

            self.code = command_code(runtime, self)

    def receive(self, arg: tuple[PlannedCommand, int, int | None]) -> None:
        """A command arrives (``attempt`` 1, or again after a version conflict): load."""
        planned, attempt, cause = arg
        runtime = self.runtime
        domain = planned.domain
        stream = domain.stream_id(planned.command)
        if self.crashed:
            self._reject(planned, stream, cause, "handler is down")
            return
        code = self.code
        if code is not None and code.drives:
            code.receive(planned, cause)  # the student's own loop from here on
            return
        loaded = (
            self.log.store.load(domain, stream)
            if code is None
            else code.load(planned, stream, cause)
        )
        if loaded is None:
            return  # the student's evolve raised (a CodeFailed says so)
        rec = runtime.emit(
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
            runtime.emit(
                SnapshotDiscarded,
                self.name,
                rec.seq,
                handler=self.name,
                stream=stream,
                version=d.version,
                reason=d.reason,
            )
        upcast = self.log.upcasts(domain, stream, loaded)
        if upcast:
            runtime.emit(
                UpcastApplied,
                self.name,
                rec.seq,
                handler=self.name,
                stream=stream,
                events=sum(upcast.values()),
                types=sorted(upcast),
            )
        runtime.kernel.after(
            self.spec.decide_ms, self._decide, (planned, attempt, loaded, rec.seq, self.epoch)
        )

    def _reject(self, planned: PlannedCommand, stream: str, cause: int | None, reason: str) -> None:
        self.runtime.emit(
            CommandRejected,
            self.name,
            cause,
            handler=self.name,
            command=planned.id,
            stream=stream,
            reason=reason,
        )

    def _decide(self, arg: tuple[PlannedCommand, int, Loaded[Any], int, int]) -> None:
        planned, attempt, loaded, cause, epoch = arg
        if not self.is_current(epoch):
            return
        runtime = self.runtime
        log = self.log
        busy = log.writer_busy_until_ms
        if log.single_writer and busy > runtime.kernel.now_ms:
            # One writer at a time: wait for the open transaction to commit.
            runtime.kernel.schedule(busy, self._decide, arg)
            return
        domain = planned.domain
        stream = loaded.stream_id
        code = self.code
        decided = (
            domain.decide(planned.command, loaded.state)
            if code is None
            else code.decide(planned, loaded.state, cause)
        )
        if decided is None:
            return  # the student's decide raised (a CodeFailed says so)
        if isinstance(decided, Rejected):
            self._reject(planned, stream, cause, decided.reason)
            return
        events = list(decided)
        if not events:
            return
        store = log.store
        ignore = self.spec.concurrency == "ignore"
        result = store.append(
            stream,
            store.codec(domain).encode_all(events),
            ANY_VERSION if ignore else loaded.version,
            recorded_at_ms=runtime.kernel.now_ms,
        )
        if isinstance(result, VersionConflict):
            retry = may_retry(self.spec.retry, attempt)
            delay = (
                backoff_ms(self.spec.retry, attempt, runtime.rng.stream(f"retry:{self.name}"))
                if retry
                else None
            )
            conflicted = runtime.emit(
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
                runtime.kernel.after(delay, self.receive, (planned, attempt + 1, conflicted.seq))
            return
        before = result.version - result.count
        stored = self.record_append(planned, result, loaded.version, ignore, cause)
        if self.policy.is_due(before, result.version):
            state = (
                domain.replay(events, loaded.state)
                if before == loaded.version
                else store.load(domain, stream).state
            )
            store.take_snapshot(
                domain, Loaded(stream_id=stream, state=state, version=result.version, replayed=0)
            )
            runtime.emit(
                SnapshotTaken,
                self.name,
                cause,
                handler=self.name,
                stream=stream,
                version=result.version,
            )
        self.publish_after_append(stored)

    def record_append(
        self,
        planned: PlannedCommand,
        result: Appended,
        loaded_version: int,
        ignored: bool,
        cause: int | None,
    ) -> list[StoredEvent]:
        """An append went through: ``EventStored`` per event, booked for readers and publishing.

        ``ignored``: the append did not expect a version, so if the stream had moved
        past the version the decision was made on, that other decision is overwritten
        unseen — an ``UpdateLost`` comes first.
        """
        runtime = self.runtime
        log = self.log
        stream = result.stream_id
        before = result.version - result.count
        now = runtime.kernel.now_ms
        visible_at = now + self.spec.commit_ms
        if log.single_writer:
            log.writer_busy_until_ms = visible_at
        first = cause
        if ignored and before != loaded_version:
            first = runtime.emit(
                UpdateLost,
                self.name,
                cause,
                handler=self.name,
                command=planned.id,
                stream=stream,
                loaded_version=loaded_version,
                actual_version=before,
            ).seq
        stored = log.store.read_all(result.first_position, result.count)
        publish = self.publish
        for event in stored:
            rec = runtime.emit(
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
            log.stored(event, rec.seq, visible_at, planned.id)
            if publish != "none":
                self.publishing.stored(event.position, publish)
        if visible_at > now:
            runtime.kernel.schedule(visible_at, log.committed, result.last_position)
        return stored

    def publish_after_append(self, stored: list[StoredEvent]) -> bool:
        """A dual write publishes the stored events itself, later; False if it crashed first."""
        if self.publish != "dual-write":
            return True
        if self.crashes_at("after_append_before_publish"):
            return False
        positions = [e.position for e in stored]
        self.runtime.kernel.after(self.publish_delay_ms, self._publish, (positions, self.epoch))
        return True

    def _publish(self, arg: tuple[list[int], int]) -> None:
        """Dual write: the second, separate write — to the broker."""
        positions, epoch = arg
        if not self.is_current(epoch):
            return
        for position in positions:
            self.publishing.publish(position, "dual-write", self.name)
