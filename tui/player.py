"""A player over a finished trace: cursor, checkpoints, markers and beats.

Folding a million records takes seconds, so the fold runs once, in a worker,
and keeps a copy of the folded state every ``every`` records (a checkpoint).
Seeking to record ``n`` is then: take the checkpoint at or before ``n`` and fold
at most ``every - 1`` records on top — a few milliseconds whatever the trace's
length. Stepping back is a seek to ``n - 1``. The same pass notes where the
faults and findings are (the scrubber's markers), where each narration beat
fires, and a few numbers per sample for the sparklines.
"""

from __future__ import annotations

from bisect import bisect_left, bisect_right
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from typing import Protocol

from simulator.scenario import Beat
from simulator.trace import FAULT_TYPES, FINDING_TYPES, Record
from tui.fold import ViewState, _apply_in_place, fold, initial_state

__all__ = [
    "BeatTriggers",
    "Checkpoints",
    "IndexBuilder",
    "Player",
    "TraceIndex",
    "beat_triggers",
    "build_index",
]

CHECKPOINT_EVERY = 512
SAMPLES = 400
"""About this many sparkline samples over a whole trace."""

_FAULT_KINDS = frozenset(t.__name__ for t in FAULT_TYPES) | {
    "Skipped",
    "DeadLettered",
    "Requeued",
    "VisibilityExpired",
    "MessageExpired",
    "QueueOverflowed",
    "BatchItemFailed",
}
"""Where the scrubber puts a fault mark (and shift+arrows stop): the core's faults, plus
the moments a message is given up, or comes back after a consumer failed to finish it."""
_FINDING_KINDS = frozenset(t.__name__ for t in FINDING_TYPES)


def beat_fires(beat: Beat, record: Record) -> bool:
    """The headless player's rule: a beat fires on its record kind or at its time."""
    if beat.on is not None:
        return type(record).__name__ == beat.on
    return beat.at_ms is not None and record.at >= beat.at_ms


class BeatTriggers:
    """Which record fires each beat, found as the records go by (a file is read in chunks)."""

    def __init__(self, beats: Sequence[Beat]) -> None:
        self.beats = beats
        self.triggers: list[int | None] = [None] * len(beats)
        """For each beat, the seq of the record that fires it (None: not yet, or never)."""
        self._pending = list(range(len(beats)))

    def feed(self, records: Iterable[Record]) -> None:
        beats, pending = self.beats, self._pending
        for r in records:
            if not pending:
                return
            fired = [i for i in pending if beat_fires(beats[i], r)]
            for i in fired:
                self.triggers[i] = r.seq
                pending.remove(i)

    @property
    def waiting(self) -> bool:
        return bool(self._pending)


def beat_triggers(beats: Sequence[Beat], records: Sequence[Record]) -> list[int | None]:
    """For each beat, the seq of the record that fires it (None if it never fires)."""
    found = BeatTriggers(beats)
    found.feed(records)
    return found.triggers


@dataclass(slots=True)
class Sample:
    """Numbers for the sparklines, taken every ``TraceIndex.sample_every`` records."""

    processed: int
    lag: int
    findings: int


class Checkpoints(Protocol):
    """Where an index keeps its checkpoints: a list, or a packed store (``tui.trace_file``)."""

    def __getitem__(self, k: int, /) -> ViewState: ...
    def __len__(self) -> int: ...
    def append(self, state: ViewState, /) -> None: ...


@dataclass(slots=True)
class TraceIndex:
    records: Sequence[Record]
    every: int
    checkpoints: Checkpoints
    """``checkpoints[i]`` is the state after ``i * every`` records (never changed in place:
    a seek folds on a copy)."""
    faults: list[int] = field(default_factory=list)
    findings: list[int] = field(default_factory=list)
    sample_every: int = 1
    samples: list[Sample] = field(default_factory=list)
    marks: list[int] = field(default_factory=list)
    """Faults and findings together, in trace order."""
    final: ViewState = field(default_factory=initial_state)
    first_kind: dict[str, str] = field(default_factory=dict)
    """Component → the kind of the first record that names it (its role, for the columns)."""
    complete: bool = True
    """False while a trace file is still being read: ``total`` grows until it is True."""

    @property
    def total(self) -> int:
        return len(self.records)


class IndexBuilder:
    """``build_index`` one slice at a time: a trace read from a file is folded as it is read.

    ``add`` folds the next records in trace order, appending checkpoints, marks and
    samples to ``index`` (lists only ever appended to, so a reader in another thread
    sees a consistent prefix); ``finish`` puts the final state in place.
    """

    def __init__(self, index: TraceIndex) -> None:
        self.index = index
        self.state = index.checkpoints[len(index.checkpoints) - 1].copy()
        self.n = 0

    def add(self, records: Iterable[Record], cancelled: Callable[[], bool] | None = None) -> bool:
        """Fold ``records``; False if ``cancelled`` said stop (checked at each checkpoint)."""
        index, state = self.index, self.state
        every, sample_every = index.every, index.sample_every
        faults, findings, samples = index.faults, index.findings, index.samples
        first_kind = index.first_kind
        n = self.n
        for r in records:
            _apply_in_place(state, r)
            kind = type(r).__name__
            if r.component not in first_kind:
                first_kind[r.component] = kind
            if kind in _FINDING_KINDS:
                findings.append(n)
            elif kind in _FAULT_KINDS:
                faults.append(n)
            n += 1
            if n % sample_every == 0:
                samples.append(Sample(state.count("Processed"), state.total_lag(), len(findings)))
            if n % every == 0:
                index.checkpoints.append(state.copy())
                if cancelled is not None and cancelled():
                    self.n = n
                    return False
        self.n = n
        return True

    def finish(self) -> TraceIndex:
        index = self.index
        index.final = self.state
        index.marks = sorted([*index.faults, *index.findings])
        return index


def build_index(
    records: Sequence[Record],
    every: int = CHECKPOINT_EVERY,
    progress: Callable[[int, int], None] | None = None,
    cancelled: Callable[[], bool] | None = None,
) -> TraceIndex:
    """Fold the whole trace once, keeping checkpoints, markers and samples."""
    total = len(records)
    sample_every = max(1, total // SAMPLES)
    builder = IndexBuilder(TraceIndex(records, every, [initial_state()], sample_every=sample_every))
    step = every * 64
    for start in range(0, total, step):
        if not builder.add(records[start : start + step], cancelled):
            break
        if progress is not None and start + step < total:
            progress(start + step, total)
    return builder.finish()


class Player:
    """A cursor over a trace: ``position`` records have been applied."""

    def __init__(self, index: TraceIndex) -> None:
        self.index = index
        self.position = 0
        self.state = index.checkpoints[0].copy()

    @property
    def total(self) -> int:
        return self.index.total

    @property
    def current(self) -> Record | None:
        """The record applied last (the one the cursor is on)."""
        return self.index.records[self.position - 1] if self.position else None

    def seek(self, position: int) -> ViewState:
        """Move to ``position`` (clamped): nearest checkpoint, then fold forward."""
        index = self.index
        position = max(0, min(position, index.total))
        here = self.position
        if here <= position < here + index.every:
            # Forward within reach of the current state: cheaper than a checkpoint.
            if position != here:
                self.state = fold(self.state, index.records[here:position])
        else:
            k = position // index.every
            base = k * index.every
            self.state = fold(index.checkpoints[k], index.records[base:position])
        self.position = position
        return self.state

    def step(self, n: int = 1) -> ViewState:
        return self.seek(self.position + n)

    def back(self, n: int = 1) -> ViewState:
        return self.seek(self.position - n)

    def next_marker(self) -> int | None:
        """Position just after the next fault or finding past the cursor."""
        marks = self.index.marks
        i = bisect_left(marks, self.position)
        return marks[i] + 1 if i < len(marks) else None

    def previous_marker(self) -> int | None:
        marks = self.index.marks
        i = bisect_right(marks, self.position - 2) - 1
        return marks[i] + 1 if i >= 0 else None

    def seek_time(self, at_ms: int) -> ViewState:
        """Move to just after the last record at or before ``at_ms``."""
        records = self.index.records
        lo, hi = 0, len(records)
        while lo < hi:
            mid = (lo + hi) // 2
            if records[mid].at <= at_ms:
                lo = mid + 1
            else:
                hi = mid
        return self.seek(max(lo, 1) if records else 0)
