"""The windowed aggregation itself: state, watermarks, firing and lateness.

``WindowOperator`` is the heart of a stream processor, free of brokers and
clocks so it can be tested and measured on its own. It follows Flink's
event-time model (Kafka Streams' differs only in names):

- **Watermark** = the highest event time seen minus ``max_out_of_orderness_ms``
  (Flink's ``forBoundedOutOfOrderness``; Kafka Streams calls the highest time
  *stream time*). It promises that older records are not expected any more.
- A window ``[start, end)`` **fires** (its result is emitted) once the
  watermark reaches ``end``.
- **Allowed lateness** (Kafka Streams: *grace period*): a fired window keeps its
  state until the watermark reaches ``end + allowed_lateness_ms``; a late
  record before then updates the result and it is emitted again. After that the
  window is closed and purged, and a record for it is *late*: dropped, or sent
  to a side output by the caller.

Every call returns what happened as ``Change`` values in a fixed order, and the
state store entries that changed (for the changelog). Iteration is always over
sorted keys, never over a set, so two runs produce the same changes.
"""

from __future__ import annotations

from typing import Literal

from simulator.streams.windows import hopping_windows, tumbling_window

__all__ = ["Change", "WindowOperator", "WindowState"]

ChangeKind = Literal["opened", "emitted", "updated", "closed", "late", "watermark"]
FOREVER = None
"""``end`` of the single window of an unwindowed aggregation."""


class WindowState:
    """The aggregate of one key in one window: what the state store holds."""

    __slots__ = ("emitted", "end", "key", "last_msg", "records", "revision", "start", "value")

    def __init__(self, key: str, start: int, end: int | None) -> None:
        self.key = key
        self.start = start
        self.end = end
        self.value = 0
        self.records = 0
        self.emitted = False
        """The result went out once already: any further change is an update."""
        self.revision = 0
        """How many results (first and updates) were emitted for this window."""
        self.last_msg = 0
        """The latest message that changed it (outputs are derived from it)."""

    @property
    def store_key(self) -> str:
        return f"{self.key}@{self.start}"

    def copy(self) -> WindowState:
        other = WindowState(self.key, self.start, self.end)
        other.value, other.records, other.emitted = self.value, self.records, self.emitted
        other.revision, other.last_msg = self.revision, self.last_msg
        return other


class Change:
    """One thing the operator did: a window opened, fired, updated, closed; a late record."""

    __slots__ = ("kind", "state", "watermark", "window_end")

    def __init__(
        self,
        kind: ChangeKind,
        state: WindowState | None = None,
        watermark: int | None = None,
        window_end: int | None = None,
    ) -> None:
        self.kind = kind
        self.state = state
        self.watermark = watermark
        self.window_end = window_end

    def __repr__(self) -> str:
        if self.state is None:
            return f"Change({self.kind}, wm={self.watermark}, end={self.window_end})"
        s = self.state
        return f"Change({self.kind}, {s.key}@[{s.start},{s.end}) = {s.value})"


class WindowOperator:
    """Keyed windowed aggregation with watermarks and allowed lateness."""

    def __init__(
        self,
        window: str = "tumbling",
        size_ms: int = 60_000,
        advance_ms: int | None = None,
        gap_ms: int = 30_000,
        max_out_of_orderness_ms: int = 0,
        allowed_lateness_ms: int = 0,
    ) -> None:
        self.window = window
        self.size_ms = size_ms
        self.advance_ms = advance_ms or size_ms
        self.gap_ms = gap_ms
        self.bound_ms = max_out_of_orderness_ms
        self.lateness_ms = allowed_lateness_ms
        self.windows: dict[tuple[str, int], WindowState] = {}
        """The state store: (key, window start) → aggregate."""
        self.max_event_ms: int | None = None
        self.watermark_ms: int | None = None
        self.dirty: dict[str, WindowState | None] = {}
        """Store entries changed since the caller last took them (None: deleted)."""

    # -- the three things that can happen ----------------------------------------------

    def process(self, key: str, t_ms: int, amount: int, msg: int) -> list[Change]:
        """Add one record (event time ``t_ms``) to its windows, then advance the watermark."""
        changes: list[Change] = []
        if self.window == "session":
            self._session(key, t_ms, amount, msg, changes)
        else:
            bounds = self._assign(t_ms)
            accepted = False
            for start, end in bounds:
                if self._too_late(end):
                    continue
                accepted = True
                self._add(key, start, end, amount, msg, changes)
            if not accepted:
                end = bounds[-1][1]
                changes.append(Change("late", watermark=self.watermark_ms, window_end=end))
        self._observe(t_ms, changes)
        return changes

    def advance_to(self, watermark_ms: int) -> list[Change]:
        """Move the watermark forward (processing-time timers, end of input); fire windows."""
        changes: list[Change] = []
        if self.watermark_ms is None or watermark_ms > self.watermark_ms:
            self.watermark_ms = watermark_ms
            changes.append(Change("watermark", watermark=watermark_ms))
            self._fire(changes)
        return changes

    def flush(self) -> list[Change]:
        """End of input: fire every window still open (Flink's final ``MAX_WATERMARK``)."""
        ends = [s.end for s in self.windows.values() if s.end is not None and not s.emitted]
        if not ends:
            return []
        return self.advance_to(max(ends))

    # -- restore ------------------------------------------------------------------------

    def restore(self, entries: dict[str, WindowState], max_event_ms: int | None) -> None:
        """Replace the state with what a changelog replay rebuilt."""
        self.windows = {(s.key, s.start): s for s in entries.values()}
        self.max_event_ms = max_event_ms
        self.watermark_ms = None if max_event_ms is None else max_event_ms - self.bound_ms
        self.dirty = {}

    def take_dirty(self) -> dict[str, WindowState | None]:
        dirty, self.dirty = self.dirty, {}
        return dirty

    # -- internals ----------------------------------------------------------------------

    def _assign(self, t_ms: int) -> list[tuple[int, int | None]]:
        if self.window == "tumbling":
            return [tumbling_window(t_ms, self.size_ms)]
        if self.window == "hopping":
            return list(hopping_windows(t_ms, self.size_ms, self.advance_ms))
        return [(0, FOREVER)]

    def _too_late(self, end: int | None) -> bool:
        wm = self.watermark_ms
        return end is not None and wm is not None and wm >= end + self.lateness_ms

    def _add(
        self, key: str, start: int, end: int | None, amount: int, msg: int, changes: list[Change]
    ) -> None:
        state = self.windows.get((key, start))
        if state is None:
            state = WindowState(key, start, end)
            self.windows[(key, start)] = state
            changes.append(Change("opened", state))
        state.value += amount
        state.records += 1
        state.last_msg = msg
        if state.emitted or end is None:
            state.emitted = True
            state.revision += 1
            changes.append(Change("updated", state))
        self.dirty[state.store_key] = state

    def _session(self, key: str, t_ms: int, amount: int, msg: int, changes: list[Change]) -> None:
        start, end = t_ms, t_ms + self.gap_ms
        merging = sorted(
            (s for (k, _), s in self.windows.items() if k == key and s.end is not None),
            key=lambda s: s.start,
        )
        merging = [s for s in merging if t_ms <= (s.end or 0) and end >= s.start]
        if merging:
            start = min(start, merging[0].start)
            end = max([end, *[s.end or 0 for s in merging]])
        if self._too_late(end):
            changes.append(Change("late", watermark=self.watermark_ms, window_end=end))
            return
        if not merging:
            self._add(key, start, end, amount, msg, changes)
            return
        merged = WindowState(key, start, end)
        for s in merging:
            del self.windows[(key, s.start)]
            self.dirty[s.store_key] = None
            merged.value += s.value
            merged.records += s.records
            merged.emitted = merged.emitted or s.emitted
            merged.revision = max(merged.revision, s.revision)
        self.windows[(key, start)] = merged
        merged.value += amount
        merged.records += 1
        merged.last_msg = msg
        if merged.emitted:
            merged.revision += 1
            changes.append(Change("updated", merged))
        self.dirty[merged.store_key] = merged

    def _observe(self, t_ms: int, changes: list[Change]) -> None:
        if self.max_event_ms is not None and t_ms <= self.max_event_ms:
            return
        self.max_event_ms = t_ms
        wm = t_ms - self.bound_ms
        if self.watermark_ms is None or wm > self.watermark_ms:
            self.watermark_ms = wm
            changes.append(Change("watermark", watermark=wm))
            self._fire(changes)

    def _fire(self, changes: list[Change]) -> None:
        """Emit every window the watermark passed; close those past their allowed lateness."""
        wm = self.watermark_ms
        if wm is None:
            return
        due = sorted(
            (s for s in self.windows.values() if s.end is not None and s.end <= wm),
            key=lambda s: (s.end or 0, s.start, s.key),
        )
        for s in due:
            if not s.emitted:
                s.emitted = True
                s.revision += 1
                changes.append(Change("emitted", s))
                self.dirty[s.store_key] = s
            if (s.end or 0) + self.lateness_ms <= wm:
                del self.windows[(s.key, s.start)]
                changes.append(Change("closed", s))
                self.dirty[s.store_key] = None
