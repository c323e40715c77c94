"""Rebuilding a read model: fold the log again into a new version of it.

A read model is disposable (the log is the truth), so a new projection, or the
fix for a buggy one, ships by folding the log again. ``replay`` drops the read
model and refills it in place, so queries see a half-built table until it has
caught up; ``blue-green`` builds version N+1 beside version N and switches reads
to it only once it has caught up. ``start = "snapshot"`` starts from the
projector's latest read-model snapshot and replays only the positions after it,
instead of the whole log from zero: the cost a lesson compares. The half-built
table and its checkpoint are durable, so a crash only pauses a rebuild.
"""

from __future__ import annotations

from simulator.cqrs.projections import PROJECTIONS
from simulator.cqrs.projector import Projector, ReadModel
from simulator.scenario import RebuildSpec
from simulator.trace import (
    EventReplayed,
    ReadModelSwitched,
    RebuildFinished,
    RebuildProgressed,
    RebuildStarted,
)

__all__ = ["Rebuild", "start_rebuild"]


def start_rebuild(projector: Projector, spec: RebuildSpec) -> None:
    """Begin building the next version of ``projector``'s read model from the log."""
    runtime = projector.runtime
    serving = projector.serving
    projection = PROJECTIONS[spec.projection or serving.projection.name]
    rm = ReadModel(projection, serving.version + 1)
    if spec.start == "snapshot" and projector.snapshot is not None:
        rm.checkpoint, table, applied = projector.snapshot
        rm.table, rm.applied = dict(table), dict(applied)
    rec = runtime.emit(
        RebuildStarted,
        projector.name,
        None,
        projector=projector.name,
        mode=spec.mode,
        version=rm.version,
        projection=projection.name,
        head=projector.log.store.head_position(),
        from_position=rm.checkpoint,
    )
    if spec.mode == "replay":
        # Drop and replay in place: queries now see the half-built table.
        projector.rebuilding = True
        projector.epoch += 1  # batches of the dropped table still in flight are void
        projector.pending = None
        projector.serving = rm
        projector.forget_history(rm.checkpoint)
    else:
        projector.building = rm
    projector.rebuild = Rebuild(projector, spec, rm, rec.seq)
    projector.rebuild.resume()


class Rebuild:
    """One rebuild under way: ``step_events`` positions every ``step_ms``, up to the head."""

    def __init__(self, projector: Projector, spec: RebuildSpec, rm: ReadModel, cause: int) -> None:
        self.projector = projector
        self.log = projector.log
        self.spec = spec
        self.read_model = rm
        self.cause = cause
        """Seq of the ``RebuildStarted`` record."""
        self.from_position = rm.checkpoint
        self.started_ms = projector.runtime.kernel.now_ms
        self.run = 0
        """Bumped by each resume: a step scheduled before the projector's crash is void."""

    def resume(self) -> None:
        """Go on from the table's checkpoint: at the start, and when the projector restarts."""
        self.run += 1
        self._next_step()

    def _next_step(self) -> None:
        self.projector.runtime.kernel.after(self.spec.step_ms, self._step, self.run)

    def _step(self, run: int) -> None:
        projector = self.projector
        if projector.crashed or run != self.run or projector.rebuild is not self:
            return  # crashed (its restart resumes the rebuild) or replaced by a newer rebuild
        runtime = projector.runtime
        visible_at = self.log.visible_at
        rm = self.read_model
        now = runtime.kernel.now_ms
        head = self.log.store.head_position()
        done = 0
        while done < self.spec.step_events and rm.checkpoint <= head:
            if visible_at[rm.checkpoint] > now:
                break
            self._apply_quietly(rm.checkpoint)
            rm.checkpoint += 1
            done += 1
        runtime.emit(
            RebuildProgressed,
            projector.name,
            self.cause,
            projector=projector.name,
            version=rm.version,
            position=rm.checkpoint - 1,
            head=head,
        )
        if rm.checkpoint <= head:
            self._next_step()
            return
        projector.rebuild = None
        runtime.emit(
            RebuildFinished,
            projector.name,
            self.cause,
            projector=projector.name,
            version=rm.version,
            events=rm.checkpoint - self.from_position,
            took_ms=now - self.started_ms,
        )
        if self.spec.mode == "blue-green":
            old = projector.serving.version
            projector.serving = rm
            projector.building = None
            projector.forget_history(rm.checkpoint)
            projector.pending = None
            projector.epoch += 1
            runtime.emit(
                ReadModelSwitched,
                projector.name,
                self.cause,
                projector=projector.name,
                from_version=old,
                to_version=rm.version,
            )
        else:
            projector.rebuilding = False
            projector.applied_count = {p: 1 for p in range(1, rm.checkpoint)}
            projector.epoch += 1
        projector.cursor = rm.checkpoint
        projector.next_poll(busy=False)

    def _apply_quietly(self, position: int) -> None:
        """Fold one event into the table being built: an ``EventReplayed`` with the row it wrote.

        Quietly: none of a live projection's checks (skips, gaps, the crash window)
        apply to a replay, so the record says only what the table now holds — which
        is what lets a view refill the table one event at a time.
        """
        rm = self.read_model
        stored = self.log.event_at(position)
        event = self.log.decode(rm.projection, stored)
        row = None
        if event is not None:
            projector = self.projector
            if projector.kind != "naive":
                stream = stored.stream_id
                key = f"{stream}/{rm.projection.row_of(event)}" if projector.per_row else stream
                rm.applied[key] = stored.version
            row = rm.projection.apply(rm.table, event)
        value = rm.table.get(row) if row is not None else None
        self.projector.runtime.emit(
            EventReplayed,
            self.projector.name,
            self.cause,
            projector=self.projector.name,
            version=rm.version,
            position=position,
            stream=stored.stream_id,
            row=row,
            value=None if value is None else str(value),
        )
