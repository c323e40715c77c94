"""The timeline: a scrubber over the whole trace and the trace log under it.

The scrubber is one bar for the whole run with a mark at every fault (red) and
finding (yellow on red) and a cursor; click anywhere on it to seek there. The
trace log draws only the rows that fit around the cursor, so a million-record
trace costs the same as a short one; a filter (component or kind) narrows it to
a precomputed list of matching seqs.
"""

from __future__ import annotations

from bisect import bisect_left
from collections.abc import Sequence

from rich.style import Style
from rich.text import Text
from textual import events
from textual.message import Message
from textual.strip import Strip
from textual.widget import Widget

from simulator.lessons.describe import describe
from simulator.lessons.words import word
from simulator.trace import Record
from tui.headless import KIND_STYLES

__all__ = ["Scrubber", "TraceLog", "fmt_ms", "matches"]

ROWS_KEPT = 2048
"""Trace-log rows remembered between frames (stepping redraws nearly the same rows)."""


def fmt_ms(ms: int) -> str:
    seconds, millis = divmod(ms, 1000)
    return f"{seconds}.{millis:03d}s"


def matches(record: Record, needle: str) -> bool:
    """Filter rule: every word must match the component or the kind (case-insensitive).

    ``kind:Delivered`` and ``comp:billing-0`` match exactly that field.
    """
    kind = type(record).__name__.lower()
    comp = record.component.lower()
    for term in needle.lower().split():
        if term.startswith("kind:"):
            if kind != term[5:]:
                return False
        elif term.startswith(("comp:", "component:")):
            if comp != term.split(":", 1)[1]:
                return False
        elif term not in kind and term not in comp:
            return False
    return True


class Scrubber(Widget):
    """Record n / total, virtual time, speed, and a bar with fault and finding marks."""

    DEFAULT_CSS = """
    Scrubber { height: 2; text-wrap: nowrap; text-overflow: ellipsis; }
    """

    class Seek(Message):
        def __init__(self, position: int) -> None:
            super().__init__()
            self.position = position

    def __init__(self, *, id: str | None = None) -> None:
        super().__init__(id=id)
        self.total = 0
        self.position = 0
        self.at_ms = 0
        self.faults: Sequence[int] = ()
        self.findings: Sequence[int] = ()
        self.status = ""
        self.lang = "en"
        self._marks_cache: tuple[tuple[int, ...], list[str], list[str]] | None = None

    def show(self, position: int, total: int, at_ms: int, status: str, lang: str) -> None:
        self.position, self.total, self.at_ms, self.status, self.lang = (
            position,
            total,
            at_ms,
            status,
            lang,
        )
        self.refresh()

    def set_marks(self, faults: Sequence[int], findings: Sequence[int]) -> None:
        self.faults, self.findings = faults, findings
        self._marks_cache = None
        self.refresh()

    def _marks(self, width: int, total: int) -> tuple[list[str], list[str]]:
        """The bar's cells with fault and finding marks, computed once per width."""
        key = (width, total, len(self.faults), len(self.findings))
        cached = self._marks_cache
        if cached is not None and cached[0] == key:
            return list(cached[1]), list(cached[2])
        cells = ["─"] * width
        styles = ["dim"] * width
        for seqs, ch, style in (
            (self.faults, "✕", "red"),
            (self.findings, "!", "bold yellow on red"),
        ):
            last = -1
            for seq in seqs:
                x = min(width - 1, seq * width // total)
                if x != last:
                    cells[x], styles[x] = ch, style
                    last = x
        self._marks_cache = (key, cells, styles)
        return list(cells), list(styles)

    def _bar_width(self) -> int:
        return max(4, self.size.width - 2)

    def render(self) -> Text:
        width = self._bar_width()
        total = max(1, self.total)
        cells, styles = self._marks(width, total)
        cur = min(width - 1, self.position * width // total) if self.total else 0
        for x in range(cur):
            if cells[x] == "─":
                cells[x], styles[x] = "━", "bold cyan"
        cells[cur], styles[cur] = "◆", "bold white"
        bar = Text("▕", no_wrap=True)
        start = 0
        for x in range(1, width + 1):  # one span per run of cells in one style
            if x == width or styles[x] != styles[start]:
                bar.append("".join(cells[start:x]), style=styles[start])
                start = x
        bar.append("▏")
        info = Text(no_wrap=True, overflow="ellipsis")
        info.append(
            f" {word('record', self.lang)} {self.position:,} / {self.total:,}", style="bold"
        )
        info.append(f"  t={fmt_ms(self.at_ms)}", style="bold cyan")
        info.append(f"  {self.status}")
        return Text("\n", no_wrap=True, overflow="ellipsis").join([bar, info])

    def on_click(self, event: events.Click) -> None:
        if event.y == 0 and self.total:
            x = max(0, min(self._bar_width() - 1, event.x - 1))
            self.post_message(self.Seek(x * self.total // self._bar_width()))


class TraceLog(Widget):
    """The rows around the cursor; the cursor row is the record applied last.

    Drawn line by line (``render_line``), each row's strip kept once drawn: a seek
    costs the rows it brings on screen, never a layout of the whole panel.
    """

    can_focus = True
    DEFAULT_CSS = """
    TraceLog { height: 1fr; }
    """

    def __init__(self, *, id: str | None = None) -> None:
        super().__init__(id=id)
        self.records: Sequence[Record] = ()
        self.matching: Sequence[int] | None = None
        """Matching seqs when a filter is on; None shows every record."""
        self.position = 0
        self._drawn: dict[tuple[int, bool, int, Style], Strip] = {}

    def show(self, records: Sequence[Record], position: int) -> None:
        if records is not self.records:
            self._drawn = {}
        if (records, position) != (self.records, self.position):
            self.records, self.position = records, position
            self.refresh()

    def set_filter(self, visible: Sequence[int] | None) -> None:
        self.matching = visible
        self.refresh()

    def _row(self, r: Record, here: bool) -> Text:
        kind = type(r).__name__
        row = Text(no_wrap=True, overflow="ellipsis", style="bold on #2d3f5c" if here else "")
        row.append(f"{r.seq:>7} {fmt_ms(r.at):>10} {r.component[:14]:<14} ")
        row.append(f"{kind[:18]:<18}", style=KIND_STYLES.get(kind, "italic"))
        try:
            what = describe(r)
        except Exception:  # a record kind describe() does not know yet: show it raw
            what = ""
        row.append(f" {what}")
        return row

    def visible_seqs(self) -> tuple[list[int], int] | str:
        """The seqs on screen and the cursor's seq, or the text to show when there are none."""
        height = max(1, self.size.height)
        cursor = self.position - 1
        if self.matching is None:
            n = len(self.records)
            at = cursor
            seqs: Sequence[int] | range = range(n)
        else:
            seqs = self.matching
            n = len(seqs)
            at = bisect_left(seqs, cursor + 1) - 1
        if n == 0:
            return "(no records match)" if self.matching is not None else ""
        top = max(0, min(at - height // 2, n - height))
        return [seqs[i] for i in range(top, min(n, top + height))], cursor

    def render_line(self, y: int) -> Strip:
        width = self.size.width
        base = self.rich_style
        shown = self.visible_seqs()
        if isinstance(shown, str):
            if y == 0 and shown:
                return (
                    Strip(list(Text(shown, style="dim").render(self.app.console)))
                    .crop(0, width)
                    .apply_style(base)
                )
            return Strip.blank(width, base)
        seqs, cursor = shown
        if y >= len(seqs):
            return Strip.blank(width, base)
        seq = seqs[y]
        key = (seq, seq == cursor, width, base)
        strip = self._drawn.get(key)
        if strip is None:
            if len(self._drawn) > ROWS_KEPT:
                self._drawn.clear()
            text = self._row(self.records[seq], seq == cursor)
            text.truncate(width, overflow="ellipsis")
            strip = Strip(list(text.render(self.app.console))).extend_cell_length(width)
            strip = self._drawn[key] = strip.crop(0, width).apply_style(base)
        return strip

    def render(self) -> Text:
        """The rows as one text (what an export or a test reads; drawing is line by line)."""
        shown = self.visible_seqs()
        if isinstance(shown, str):
            return Text(shown, style="dim")
        seqs, cursor = shown
        rows = [self._row(self.records[seq], seq == cursor) for seq in seqs]
        return Text("\n", no_wrap=True, overflow="ellipsis").join(rows)
