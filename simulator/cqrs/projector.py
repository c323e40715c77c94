"""The projector: folds the event log into a read model and remembers how far it got.

A catch-up projector reads the store's global log in batches from its
*checkpoint* (the next position to read), applies each event to the read model,
then saves the checkpoint: two writes, so a crash between them makes it read the
batch again. ``naive`` applies it twice, ``idempotent`` keeps the last applied
version per stream (or row) beside the rows and skips repeats, and ``atomic``
commits rows and checkpoint in one transaction, which the crash rolls back
whole. A position still uncommitted while a later one has committed (the
visibility gap) is stepped over for good by a ``naive`` reader, waited for by
``gap-aware``, and given up after ``stale_ms`` by ``high-water`` (the high-water
mark and stale threshold of Marten's async daemon). A projector fed by a
consumer group applies what the broker delivers instead, in its order.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from simulator.cqrs.event_log import EventLog
from simulator.cqrs.process import Process
from simulator.cqrs.projections import PROJECTIONS, Projection, Table
from simulator.runtime import Runtime
from simulator.scenario import ProjectorSpec
from simulator.store import StoredEvent
from simulator.trace import (
    CheckpointSaved,
    GapSkipped,
    GapWaited,
    Projected,
    ProjectionSkipped,
    ReadModelSnapshotted,
)

if TYPE_CHECKING:
    from simulator.cqrs.rebuild import Rebuild

__all__ = ["Projector", "ReadModel"]


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
        self.store: dict[str, Any] = {}
        """A projector's own apply (user code): its table beside the rows (``ctx.store``)."""


class Projector(Process):
    """Builds a read model from the store's log (catch-up) or a consumer group's records."""

    def __init__(self, runtime: Runtime, log: EventLog, spec: ProjectorSpec) -> None:
        super().__init__(runtime, spec.name)
        self.log = log
        self.spec = spec
        self.kind = spec.kind
        self.per_row = spec.idempotency == "row"
        """Idempotent: the last applied version is kept per row of a stream, not per stream."""
        projection = PROJECTIONS[spec.projection]
        if spec.apply is not None:
            from simulator.usercode.projection import user_projection

            projection = user_projection(runtime, spec, projection)
        self.serving = ReadModel(projection, 1)
        self.building: ReadModel | None = None
        """Blue/green: the next version, built beside the serving one."""
        self.rebuilding = False
        """Replay in place: catch-up stops while the rebuild refills the serving read model."""
        self.rebuild: Rebuild | None = None
        """The rebuild under way, if any (a crash pauses it; the restart resumes it)."""
        self.cursor = 1
        """In memory: the next position to read; restored from the checkpoint on restart."""
        self.pending: Table | None = None
        """Atomic: the open transaction's rows and versions, committed with the checkpoint."""
        self.pending_applied: dict[str, int] = {}
        self.pending_store: dict[str, Any] = {}
        self.gap_since: dict[int, int] = {}
        self.snapshot: tuple[int, Table, dict[str, int]] | None = None
        """The latest read-model snapshot: (checkpoint, rows, applied versions)."""
        # What the end-of-run check asks when a row is wrong ("why?").
        self.crash_seq: int | None = None
        self.applied_count: dict[int, int] = {}
        """Position → times applied to the serving read model."""
        self.missed: dict[int, int] = {}
        """Position → seq of the GapSkipped record that passed it by."""
        self.latest_position: dict[str, int] = {}
        """Row → the highest position applied to it (to notice reordering)."""
        self.reordered: dict[str, int] = {}
        """Row → seq of the first Projected record that applied an older event over a newer."""
        if spec.source == "store":
            runtime.kernel.schedule(spec.start_ms, self._poll, self.epoch, background=True)

    # -- catch-up from the store -----------------------------------------------------------

    def next_poll(self, busy: bool) -> None:
        self.runtime.kernel.after(self.spec.poll_ms, self._poll, self.epoch, background=not busy)

    def _poll(self, epoch: int) -> None:
        if not self.is_current(epoch) or self.rebuilding:
            return
        log = self.log
        now = self.runtime.kernel.now_ms
        head = log.store.head_position()
        visible_at = log.visible_at
        last_visible = head
        while last_visible >= self.cursor and visible_at[last_visible] > now:
            last_visible -= 1  # in-flight appends at the head are not a gap: nothing is after them
        taken: list[int] = []
        position = self.cursor
        while position <= last_visible and len(taken) < self.spec.batch:
            if visible_at[position] <= now:
                taken.append(position)
                position += 1
                continue
            gap = self.spec.gap
            if gap == "naive":
                self._skip_gap(
                    position, "not committed yet; a later one was, and the reader moved past it"
                )
                position += 1
                continue
            since = self.gap_since.get(position)
            if since is None:
                self.gap_since[position] = now
                self.runtime.emit(
                    GapWaited,
                    self.name,
                    log.stored_seq[position],
                    projector=self.name,
                    position=position,
                    head=head,
                )
                since = now
            if gap == "high-water" and now - since >= self.spec.stale_ms:
                reason = f"still missing after {self.spec.stale_ms} ms: given up as rolled back"
                self._skip_gap(position, reason)
                position += 1
                continue
            break
        skipped_to = position
        if not taken:
            if skipped_to != self.cursor:
                self.cursor = skipped_to
                self._save_checkpoint(self.cursor, None)
            self.next_poll(busy=False)
            return
        rm = self.serving
        if self.kind == "atomic":
            self.pending = dict(rm.table)
            self.pending_applied = dict(rm.applied)
            self.pending_store = dict(rm.store)
        for p in taken:
            self._apply(rm, log.event_at(p), p)
        self.cursor = skipped_to
        delay = self.spec.apply_ms * len(taken)
        self.runtime.kernel.after(delay, self._checkpoint, (skipped_to, self.epoch))

    def _skip_gap(self, position: int, reason: str) -> None:
        """Move the reader past an uncommitted position: if it commits later, it is never read."""
        rec = self.runtime.emit(
            GapSkipped,
            self.name,
            self.log.stored_seq[position],
            projector=self.name,
            position=position,
            reason=reason,
        )
        self.missed.setdefault(position, rec.seq)

    def _checkpoint(self, arg: tuple[int, int]) -> None:
        position, epoch = arg
        if not self.is_current(epoch):
            return
        if self.crashes_at("after_project_before_checkpoint"):
            return
        self._save_checkpoint(position, None)
        more = self.log.store.head_position() >= self.cursor
        self.next_poll(busy=more)

    def _save_checkpoint(self, position: int, cause: int | None) -> None:
        rm = self.serving
        atomic = self.kind == "atomic" and self.pending is not None
        if atomic and self.pending is not None:
            rm.table = self.pending
            rm.applied = self.pending_applied
            rm.store = self.pending_store
            self.pending = None
        before = rm.checkpoint
        rm.checkpoint = position
        rec = self.runtime.emit(
            CheckpointSaved, self.name, cause, projector=self.name, position=position, atomic=atomic
        )
        every = self.spec.snapshot_every
        if every and (before - 1) // every < (position - 1) // every:
            self.snapshot = (position, dict(rm.table), dict(rm.applied))
            self.runtime.emit(
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
        runtime = self.runtime
        projection = rm.projection
        event = self.log.decode(projection, stored)
        if cause is None:
            cause = self.log.stored_seq.get(position)
        atomic = self.kind == "atomic" and rm is self.serving and self.pending is not None
        table = self.pending if atomic and self.pending is not None else rm.table
        gap_after: int | None = None
        applied = self.pending_applied if atomic else rm.applied
        if self.kind != "naive" and event is not None:
            per_row = self.per_row
            # What it keeps the last applied version of: the stream, or a row of it.
            key = f"{stored.stream_id}/{projection.row_of(event)}" if per_row else stored.stream_id
            last = applied.get(key, 0)
            if not per_row and stored.version > last + 1:
                gap_after = last
            if stored.version <= last:
                runtime.emit(
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
        if projection.code is not None:
            projection.code.use(self.pending_store if atomic else rm.store, cause)
        row = projection.apply(table, event) if event is not None else None
        value = table.get(row) if row is not None else None
        serving = rm is self.serving
        if serving:
            self.applied_count[position] = self.applied_count.get(position, 0) + 1
        seq = runtime.next_seq
        if row is not None and serving:
            latest = self.latest_position.get(row, 0)
            if position < latest:
                self.reordered.setdefault(row, seq)
            else:
                self.latest_position[row] = position
        runtime.emit(
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

    def on_processed(self, position: int, cause: int) -> None:
        """``source = "group"``: the group's consumer processed the event at ``position``."""
        self._apply(self.serving, self.log.event_at(position), position, cause)

    def forget_history(self, applied_below: int) -> None:
        """A new serving read model: what the checker knew of the old one no longer applies."""
        self.applied_count = {p: 1 for p in range(1, applied_below)}
        self.missed = {}
        self.latest_position = {}
        self.reordered = {}

    # -- faults -----------------------------------------------------------------------------------

    def crash(self, seq: int) -> None:
        super().crash(seq)
        self.pending = None  # an open transaction rolls back
        self.crash_seq = seq

    def restart(self) -> None:
        super().restart()
        self.cursor = self.serving.checkpoint
        if self.rebuild is not None:
            self.rebuild.resume()  # the half-built table is durable: go on from its checkpoint
        if self.spec.source == "store" and not self.rebuilding:
            self.next_poll(busy=True)
