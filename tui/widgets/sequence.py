"""The sequence diagram: the run as a message sequence chart, virtual time running down.

One column per component — producers, exchanges, partitions or queues,
consumers, command handlers, the event store, projectors — in the order a
message travels (``tui.stage.columns_of``), and one row per record: an arrow
from the component it leaves to the one it reaches (``tui.stage.hop``), or a
mark on one column for what happens in one place (✖ a crash, ×2 a duplicate
found, ⇅ an order violation, ░ a loss, ⏰ a timer firing). Like Jepsen's
Lamport diagrams, it is the view a class reads a failure from.

It stays readable when there are many components and many records: when the
columns do not fit, a group's consumers share one column; a run of identical
arrows (the same kind between the same two columns) is one row with a count;
and only the rows on screen are built — walked outwards from the cursor
through the trace, never over the whole of it — so a million-record trace
draws as fast as a short one (``render_line``: one strip per screen row).
The cursor row is the record the player is on, and the diagram follows it;
clicking a row, or ↑/↓ when the diagram has focus, moves the player there, and
enter opens that record's "why?" chain. Running timers are drawn as brackets
from the record that started them down to the cursor.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import ClassVar

from rich.cells import cell_len
from rich.segment import Segment
from rich.style import Style
from textual import events
from textual.binding import Binding, BindingType
from textual.message import Message
from textual.strip import Strip
from textual.widget import Widget

from simulator.lessons.words import word
from simulator.trace import Enqueued, Record
from tui.fold import Timer
from tui.i18n import column
from tui.stage import Hop, Role, hop
from tui.widgets.timeline import fmt_ms

__all__ = ["Layout", "Row", "SequenceView", "layout_columns", "rows_around"]

TIME_W = 9
MIN_COL_W = 7
MAX_RUN = 64
"""At most this many identical records are walked into one row (the count then says ``×64+``):
the walk stays a few hundred records long whatever the trace."""
KNOWN_KEPT = 50_000
"""Hops remembered between frames before the memory starts again."""
DRAWN_KEPT = 1024
"""Rows drawn remembered between frames (a screen is a few dozen)."""
CURSOR_AT = 0.6
"""Where the cursor row sits, as a share of the rows shown (history above, a little future)."""

_MARK_STYLE = {
    "dup": ("×2", "bold white on red"),
    "order": ("⇅", "bold black on yellow"),
    "lost": ("░", "bold white on grey37"),
    "crash": ("✖", "bold red"),
    "restart": ("↺", "bold green"),
    "redelivered": ("↻", "bold magenta"),
    "timer": ("⏰", "bold dark_orange"),
    "drop": ("⊘", "bold yellow"),
    "fail": ("✗", "bold red"),
}
CURSOR = Style(bgcolor="#2d3f5c", bold=True)
"""The cursor row: a tint behind it, so the arrow and its marks keep their own colours."""
_FUTURE = Style(dim=True)
_BASE_STYLES = [
    Style(),
    Style(color="grey42"),
    Style(dim=True),
    Style(bold=True),
    Style(bold=True, color="red"),
    Style(bold=True, color="cyan"),
    Style(color="cyan"),
    Style(bold=True, color="dark_orange"),
    Style(dim=True, italic=True),
]
_PLAIN, _LIFELINE, _TIME, _ARROW, _ARROW_BAD, _LABEL, _FLASH, _BRACKET, _KIND = range(9)
_STYLES: list[Style] = [*_BASE_STYLES, *(Style.parse(s) for _, s in _MARK_STYLE.values())]
"""Every style a row uses, by number (each cell of a row carries its style's number)."""
_MARK = {
    mark: (glyph, len(_BASE_STYLES) + i) for i, (mark, (glyph, _)) in enumerate(_MARK_STYLE.items())
}

_ROLE_STYLE: dict[Role, str] = {
    "producer": "cyan",
    "exchange": "blue",
    "lane": "bold blue",
    "consumer": "green",
    "handler": "cyan",
    "store": "bold magenta",
    "projector": "magenta",
    "other": "white",
}


def _short(name: str, room: int) -> str:
    """``name`` in ``room`` cells, keeping a trailing instance number (``bill…-0``)."""
    if cell_len(name) <= room:
        return name
    head, dash, tail = name.rpartition("-")
    if dash and tail.isdigit() and len(tail) + 3 <= room:
        return head[: room - len(tail) - 2] + "…-" + tail
    return name[: max(1, room - 1)] + "…"


@dataclass(frozen=True, slots=True)
class Layout:
    """Which columns are drawn at this width, and where."""

    names: list[str]
    """Column headings (a collapsed group's column is named after the group)."""
    roles: list[Role]
    centre: list[int]
    width: int
    index: dict[str, int]
    """Component (or group) name → its column."""


def layout_columns(
    columns: Sequence[tuple[str, Role]], group_of: dict[str, str], width: int
) -> Layout:
    """Fit the columns into ``width``: collapse each group's consumers, then elide the rest."""
    room = max(MIN_COL_W, width - TIME_W)
    cols = list(columns)
    index: dict[str, int] = {}
    if len(cols) * MIN_COL_W > room:
        merged: list[tuple[str, Role]] = []
        for name, role in cols:
            label = group_of.get(name, name) if role == "consumer" else name
            label = f"{label}/*" if label != name else name
            if (label, role) not in merged:
                merged.append((label, role))
        cols = merged
    fit = max(1, room // MIN_COL_W)
    if len(cols) > fit:
        cols = [*cols[: fit - 1], (f"+{len(cols) - fit + 1}", "other")]
    col_w = max(MIN_COL_W, room // max(1, len(cols)))
    names = [n for n, _ in cols]
    roles = [r for _, r in cols]
    centre = [TIME_W + i * col_w + col_w // 2 for i in range(len(cols))]
    for i, name in enumerate(names):
        index[name] = i
    for name, role in columns:
        if name in index:
            continue
        group = group_of.get(name)
        if role == "consumer" and group is not None and f"{group}/*" in index:
            index[name] = index[f"{group}/*"]
        else:
            index[name] = len(names) - 1 if names and names[-1].startswith("+") else -1
    for consumer, group in group_of.items():
        # A group's own records (a duplicate found, a rebalance) go on its first member.
        if group not in index and consumer in index:
            index[group] = index[consumer]
    return Layout(names, roles, centre, TIME_W + col_w * len(cols), index)


@dataclass(frozen=True, slots=True)
class Row:
    """One drawn row: records ``first``..``last`` (a run of ``count`` identical arrows)."""

    first: int
    last: int
    count: int
    hop: Hop
    src: int
    dst: int
    at: int


def _hop(records: Sequence[Record], r: Record) -> Hop:
    cause = None
    if isinstance(r, Enqueued) and r.cause_seq is not None and r.cause_seq < len(records):
        cause = records[r.cause_seq]
    return hop(r, cause)


def _row_of(records: Sequence[Record], seq: int, layout: Layout) -> tuple[Hop, int, int]:
    h = _hop(records, records[seq])
    return h, layout.index.get(h.src, -1), layout.index.get(h.dst, -1)


class _Rows:
    """``_row_of`` with each record's answer kept: a run's edge is asked twice in one walk,
    and while playing, the next frame walks nearly the same records again."""

    def __init__(
        self,
        records: Sequence[Record],
        layout: Layout,
        known: dict[int, tuple[Hop, int, int]] | None = None,
    ) -> None:
        self.records, self.layout = records, layout
        self.known: dict[int, tuple[Hop, int, int]] = known if known is not None else {}

    def __call__(
        self, _records: Sequence[Record], seq: int, _layout: Layout
    ) -> tuple[Hop, int, int]:
        found = self.known.get(seq)
        if found is None:
            found = self.known[seq] = _row_of(self.records, seq, self.layout)
        return found


def rows_around(
    records: Sequence[Record],
    cursor: int,
    above: int,
    below: int,
    layout: Layout,
    known: dict[int, tuple[Hop, int, int]] | None = None,
) -> tuple[list[Row], int]:
    """The rows to draw around record ``cursor``, and which of them is the cursor's.

    Walks outwards from the cursor only as far as the screen needs; identical
    neighbours (same kind, same two columns, no mark) merge into one row. The
    cursor's own record is always a row of its own.
    """
    n = len(records)
    if n == 0:
        return [], -1
    _row_of = _Rows(records, layout, known)
    cursor = max(0, min(cursor, n - 1))
    h, s, d = _row_of(records, cursor, layout)
    here = Row(cursor, cursor, 1, h, s, d, records[cursor].at)
    before: list[Row] = []
    seq = cursor - 1
    while seq >= 0 and len(before) < above:
        h, s, d = _row_of(records, seq, layout)
        first, count = seq, 1
        while first > 0 and count < MAX_RUN and not h.mark:
            h2, s2, d2 = _row_of(records, first - 1, layout)
            if (h2.kind, s2, d2, h2.mark) != (h.kind, s, d, h.mark):
                break
            first -= 1
            count += 1
        before.append(Row(first, seq, count, h, s, d, records[seq].at))
        seq = first - 1
    after: list[Row] = []
    seq = cursor + 1
    while seq < n and len(after) < below:
        h, s, d = _row_of(records, seq, layout)
        last, count = seq, 1
        while last + 1 < n and count < MAX_RUN and not h.mark:
            h2, s2, d2 = _row_of(records, last + 1, layout)
            if (h2.kind, s2, d2, h2.mark) != (h.kind, s, d, h.mark):
                break
            last += 1
            count += 1
        after.append(Row(seq, last, count, h, s, d, records[seq].at))
        seq = last + 1
    rows = [*reversed(before), here, *after]
    return rows, len(before)


class SequenceView(Widget, can_focus=True):
    """The message sequence chart around the player's cursor."""

    DEFAULT_CSS = """
    SequenceView { height: 1fr; }
    SequenceView:focus { background: $boost; }
    """

    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("up", "row(-1)", "Row up", show=False),
        Binding("down", "row(1)", "Row down", show=False),
        Binding("enter", "why", "Why?", show=False),
    ]

    class Selected(Message):
        """The user picked the row of record ``seq`` (``why``: and asked for its causes)."""

        def __init__(self, seq: int, why: bool = False) -> None:
            super().__init__()
            self.seq, self.why = seq, why

    def __init__(self, *, id: str | None = None) -> None:
        super().__init__(id=id)
        self.records: Sequence[Record] = ()
        self.columns: list[tuple[str, Role]] = []
        self.group_of: dict[str, str] = {}
        self.cursor = 0
        self.timers: list[Timer] = []
        self.fired: Timer | None = None
        self.lang = "en"
        self._layout: tuple[int, Layout] | None = None
        self._rows: tuple[tuple[int, int, int], list[Row], int] | None = None
        self._marks: tuple[object, dict[int, list[tuple[int, str]]]] | None = None
        self._known: dict[int, tuple[Hop, int, int]] = {}
        """Hops already worked out for the current layout (cleared when it changes)."""
        self._drawn: dict[tuple[object, ...], Strip] = {}
        self._rich_style: tuple[tuple[bool, str], Style] | None = None
        """Rows already drawn for the current layout: playing redraws mostly the same rows."""

    def set_run(
        self, records: Sequence[Record], columns: list[tuple[str, Role]], group_of: dict[str, str]
    ) -> None:
        self.records, self.columns, self.group_of = records, columns, group_of
        self._layout = None
        self._known = {}
        self._drawn = {}
        self._rows = None
        self.refresh()

    def show(self, position: int, timers: list[Timer], fired: Timer | None, lang: str) -> None:
        cursor = max(0, position - 1)
        if (cursor, timers, fired, lang) != (self.cursor, self.timers, self.fired, self.lang):
            self.cursor, self.timers, self.fired, self.lang = cursor, timers, fired, lang
            self.refresh()

    # -- layout -----------------------------------------------------------------------------

    def columns_layout(self) -> Layout:
        width = max(TIME_W + MIN_COL_W, self.size.width)
        if self._layout is None or self._layout[0] != width:
            self._layout = (width, layout_columns(self.columns, self.group_of, width))
            self._rows = None
            self._known = {}
            self._drawn = {}
        return self._layout[1]

    def visible_rows(self) -> tuple[list[Row], int]:
        height = max(1, self.size.height - 1)
        layout = self.columns_layout()
        key = (self.cursor, height, layout.width)
        if self._rows is None or self._rows[0] != key:
            if len(self._known) > KNOWN_KEPT:
                self._known = {}
            known = self._known
            above = int((height - 1) * CURSOR_AT)
            rows, at = rows_around(
                self.records, self.cursor, above, height - 1 - above, layout, known
            )
            if len(rows) < height:
                # Near either end: give the rows one side lacks to the other side.
                got_above, got_below = at, len(rows) - at - 1
                more_above, more_below = height - 1 - got_below, height - 1 - got_above
                rows, at = rows_around(
                    self.records, self.cursor, more_above, more_below, layout, known
                )
                if len(rows) > height:
                    cut = len(rows) - height
                    take = min(cut, at)
                    rows, at = rows[take : take + height], at - take
            self._rows = (key, rows, at)
        return self._rows[1], self._rows[2]

    # -- drawing ------------------------------------------------------------------------------

    def _header(self, layout: Layout) -> Strip:
        cells: list[Segment] = [Segment(column(word("time", self.lang), TIME_W), Style(dim=True))]
        col_w = (layout.width - TIME_W) // max(1, len(layout.names))
        for name, role in zip(layout.names, layout.roles, strict=True):
            label = _short(name, col_w - 1)
            cells.append(Segment(label.center(col_w), Style.parse(_ROLE_STYLE[role] + " bold")))
        return Strip(cells).extend_cell_length(self.size.width).crop(0, self.size.width)

    def _brackets(
        self, rows: list[Row], at: int, layout: Layout
    ) -> dict[int, list[tuple[int, str]]]:
        """Row → (x, glyph): a running timer's bracket from its start down to the cursor."""
        out: dict[int, list[tuple[int, str]]] = {}
        timers = list(self.timers)
        if self.fired is not None:
            timers.append(self.fired)
        for t in timers:
            col = layout.index.get(t.owner, -1)
            if col < 0:
                continue
            x = layout.centre[col] + 1
            start = next((i for i, r in enumerate(rows) if r.first <= t.seq <= r.last), None)
            top = 0 if start is None else start
            if top > at:
                continue
            end_glyph = "┘" if t is self.fired else "┤"
            for i in range(top, at + 1):
                glyph = "┐" if i == start else end_glyph if i == at else "┆"
                out.setdefault(i, []).append((x, glyph))
        return out

    def _row_strip(
        self, row: Row, layout: Layout, cursor: bool, future: bool, extra: list[tuple[int, str]]
    ) -> Strip:
        """One row, as cells: the lifelines, the arrow or mark, its label, the record kind.

        Cells are written into two lists (characters and a small style number each)
        and joined into segments once, so a row costs a few hundred list writes.
        """
        width = self.size.width
        chars = [" "] * width
        paint = [_PLAIN] * width
        for x in layout.centre:
            if x < width:
                chars[x], paint[x] = "│", _LIFELINE
        stamp = fmt_ms(row.at)[: TIME_W - 1].rjust(TIME_W - 1)
        chars[: len(stamp)] = stamp
        paint[: len(stamp)] = [_TIME] * len(stamp)
        h = row.hop
        label = h.chip or ""
        if row.count > 1:
            label += f" ×{row.count}{'+' if row.count >= MAX_RUN else ''}"
        mark, mark_style = _MARK.get(h.mark, ("", _PLAIN))
        if row.src >= 0 and row.dst >= 0 and row.src != row.dst:
            arrow = _ARROW_BAD if h.mark in ("dup", "lost", "fail") else _ARROW
            a, b = layout.centre[row.src], layout.centre[row.dst]
            lo, hi = min(a, b), max(a, b)
            end = min(hi, width)
            if end > lo + 1:
                chars[lo + 1 : end] = "─" * (end - lo - 1)
                paint[lo + 1 : end] = [arrow] * (end - lo - 1)
            if b < width:
                chars[b], paint[b] = ("▶" if b > a else "◀"), arrow
            if a < width:
                chars[a], paint[a] = "●", arrow
            text = f"{label}{mark}"
            start = lo + 1 + max(0, (hi - lo - 1 - len(text)) // 2)
            for i, ch in enumerate(text):
                x = start + i
                if lo < x < hi and x < width:
                    chars[x] = ch
                    paint[x] = mark_style if mark and i >= len(label) else _LABEL
        else:
            col = row.dst if row.dst >= 0 else row.src
            x0 = layout.centre[col] if col >= 0 else TIME_W
            glyph = mark or "•"
            text = f"{glyph} {label}".rstrip()
            for i, ch in enumerate(text):
                x = x0 + i
                if x < width:
                    chars[x] = ch
                    paint[x] = mark_style if mark and i < len(glyph) else _FLASH
        for x, glyph in extra:
            if 0 <= x < width:
                chars[x], paint[x] = glyph, _BRACKET
        tail = layout.width + 1
        if tail + 4 < width:
            kind = h.kind[: width - tail]
            chars[tail : tail + len(kind)] = kind
            paint[tail : tail + len(kind)] = [_KIND] * len(kind)
        segments: list[Segment] = []
        start = 0
        for x in range(1, width + 1):
            if x == width or paint[x] != paint[start]:
                segments.append(Segment("".join(chars[start:x]), _STYLES[paint[start]]))
                start = x
        strip = Strip(segments)
        if strip.cell_length != width:  # a wide glyph (⏰) took two cells
            strip = strip.crop_extend(0, width, None)
        if cursor:
            strip = strip.apply_style(CURSOR)
        elif future:
            strip = strip.apply_style(_FUTURE)
        return strip

    def _base_style(self) -> Style:
        """The widget's own style (its background), worked out once per focus and theme."""
        key = (self.has_focus, self.app.theme)
        if self._rich_style is None or self._rich_style[0] != key:
            self._rich_style = (key, self.rich_style)
        return self._rich_style[1]

    def render_line(self, y: int) -> Strip:
        layout = self.columns_layout()
        base = self._base_style()
        if y == 0:
            return self._header(layout).apply_style(base)
        if not self.records:
            return Strip.blank(self.size.width, base)
        rows, at = self.visible_rows()
        i = y - 1
        if i >= len(rows):
            return Strip.blank(self.size.width, base)
        key = (self._rows[0] if self._rows else None, id(self.timers), id(self.fired))
        if self._marks is None or self._marks[0] != key:
            self._marks = (key, self._brackets(rows, at, layout))
        extra = self._marks[1].get(i, [])
        row = rows[i]
        drawn = (row.first, row.last, i == at, i > at, tuple(extra), base)
        strip = self._drawn.get(drawn)
        if strip is None:
            if len(self._drawn) > DRAWN_KEPT:
                self._drawn.clear()
            strip = self._row_strip(row, layout, i == at, i > at, extra)
            strip = self._drawn[drawn] = strip.apply_style(base)
        return strip

    # -- picking a row ----------------------------------------------------------------------------

    def on_click(self, event: events.Click) -> None:
        rows, _ = self.visible_rows()
        i = event.y - 1
        if 0 <= i < len(rows):
            self.post_message(self.Selected(rows[i].last))

    def action_row(self, delta: int) -> None:
        rows, at = self.visible_rows()
        i = at + delta
        if 0 <= i < len(rows):
            target = rows[i].last if delta < 0 else rows[i].first
            self.post_message(self.Selected(target))

    def action_why(self) -> None:
        if self.records:
            self.post_message(self.Selected(self.cursor, why=True))
