"""The flow widget: the model's picture at the cursor, with chips moving between stages.

The picture comes from the model's view (``tui.views.view_for``); this widget
adds what happens *between* two records. When the cursor moves by a few
records, each record's hop (``tui.stage.hop``: from which component to which)
becomes a chip that travels from its source's line to its destination's over
``duration`` seconds, through Textual's animator — so it honours the app's
animation level (off in tests: the chip lands at once) — and a record that
happens in one place (a crash, a duplicate found, a timer firing) flashes
there instead. Stepping back plays the hop in reverse. The animation state
lives here, derived from the previous state, the records and the next state;
the fold knows nothing of it.

Drawing is line by line (``render_line``): the picture is cut into strips once
per state and width, and a frame of motion only repaints the strips the chips
cross. The narration's focus dims every line that is not about a focused
component.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from rich.segment import Segment
from rich.style import Style
from textual.geometry import Size
from textual.reactive import reactive
from textual.strip import Strip
from textual.widget import Widget

from tui.fold import ViewState
from tui.stage import Hop
from tui.views import PictureFn, view_for
from tui.views.picture import Anchor, Picture

__all__ = ["Flight", "FlowView", "flight_position"]

MAX_FLIGHTS = 6
"""More hops than this in one frame are not animated: the picture jumps to the end state."""

_MARK_TEXT = {
    "dup": "×2",
    "order": "⇅",
    "lost": "░ lost",
    "crash": "✖",
    "restart": "↺",
    "redelivered": "↻",
    "timer": "⏰",
    "drop": "⊘",
    "fail": "✗",
}
_MARK_STYLE = {
    "dup": "bold white on red",
    "order": "bold black on yellow",
    "lost": "bold white on grey37",
    "crash": "bold white on red",
    "timer": "bold black on dark_orange",
    "fail": "bold white on dark_red",
}


FOCUSED = Style(bold=True, bgcolor="grey23")
"""A line about a component the narration names (the others are dimmed)."""


@dataclass(frozen=True, slots=True)
class Flight:
    """A chip on its way: ``hop`` drawn from ``start`` to ``end`` (equal: a flash in place)."""

    hop: Hop
    start: Anchor
    end: Anchor


def flight_position(flight: Flight, progress: float) -> Anchor:
    """Where the chip is at ``progress`` (0 at its source, 1 at its destination).

    It leaves along its source's row to the right of both names, goes down (or up)
    that column, and comes back along the destination's row to the name: it passes
    beside the names instead of over them, one direction at a time.
    """
    p = max(0.0, min(1.0, progress))
    a, b = flight.start, flight.end
    side = max(a.x, b.x)
    out_, rows, in_ = side - a.x, abs(b.y - a.y), side - b.x
    walked = round(p * max(1, out_ + rows + in_))
    if walked <= out_:
        return Anchor(a.y, a.x + walked)
    walked -= out_
    if walked <= rows:
        return Anchor(a.y + (walked if b.y >= a.y else -walked), side)
    return Anchor(b.y, side - (walked - rows))


class FlowView(Widget):
    """Draws the model's picture of the state it is given, with chips in flight."""

    DEFAULT_CSS = """
    FlowView { height: auto; }
    """

    progress: reactive[float] = reactive(1.0)
    """How far the chips in flight have got (1.0: landed; the picture is the end state)."""

    def __init__(self, *, id: str | None = None) -> None:
        super().__init__(id=id)
        self.state = ViewState()
        self.lang = "en"
        self.broker = ""
        self.focus_names: frozenset[str] = frozenset()
        self.flights: list[Flight] = []
        self._view: PictureFn = view_for("")
        self._picture: tuple[int, Picture] | None = None
        self._strips: dict[int, Strip] = {}
        self.stale = False
        """The player moved while another tab was shown: ``show`` the state before drawing."""

    # -- what to draw ------------------------------------------------------------------

    def show(self, state: ViewState, lang: str) -> None:
        """Draw ``state`` (its end state: any chip still moving lands)."""
        self._land()
        self.flights = []
        self.set_reactive(FlowView.progress, 1.0)
        self._set_state(state, lang)

    def _set_state(self, state: ViewState, lang: str) -> None:
        if state.broker != self.broker:
            self.broker = state.broker
            self._view = view_for(state.broker)
        self.stale = False
        before = self._lines()
        self.state, self.lang = state, lang
        self._picture = None
        self._strips = {}
        self.refresh(layout=self._lines() != before)

    def set_focus_names(self, names: frozenset[str]) -> None:
        if names != self.focus_names:
            self.focus_names = names
            self._strips = {}
            self.refresh()

    def move(
        self, state: ViewState, hops: Sequence[Hop], lang: str, duration: float, back: bool = False
    ) -> None:
        """Draw ``state`` with ``hops`` (the records between the old and new cursor) in flight."""
        self._set_state(state, lang)
        self._land()
        shown = [h for h in hops if h.moves or h.mark]
        if not shown or len(shown) > MAX_FLIGHTS or duration <= 0:
            self.flights = []
            self.set_reactive(FlowView.progress, 1.0)
            return
        anchors = self.picture().anchors
        flights = []
        for h in shown:
            src, dst = anchors.get(h.src), anchors.get(h.dst)
            if src is None and dst is None:
                continue
            start, end = src or dst, dst or src
            assert start is not None and end is not None
            if back:
                start, end = end, start
            flights.append(Flight(h, start, end))
        self.flights = flights
        if not flights:
            return
        self.progress = 0.0
        self.animate("progress", 1.0, duration=duration, easing="in_out_cubic")

    def _land(self) -> None:
        """Stop a chip in flight where it is going (the next move starts from there)."""
        if self.is_mounted and self.app.animator.is_being_animated(self, "progress"):
            self.app.animator.force_stop_animation(self, "progress")

    def watch_progress(self, _progress: float) -> None:
        self.refresh()

    # -- the picture -------------------------------------------------------------------

    def picture(self) -> Picture:
        width = max(20, self.content_region.width or 80)
        if self._picture is None or self._picture[0] != width:
            self._picture = (width, self._view(self.state, width, self.lang))
            self._strips = {}
        return self._picture[1]

    def _lines(self) -> int:
        return len(self.picture().lines) if self.state.applied else 1

    def get_content_height(self, container: Size, viewport: Size, width: int) -> int:
        return len(self.picture().lines)

    def _base(self, y: int) -> Strip:
        strip = self._strips.get(y)
        if strip is None:
            pic = self.picture()
            line = pic.lines[y] if y < len(pic.lines) else None
            width = self.size.width
            if line is None:
                strip = Strip.blank(width, self.rich_style)
            else:
                segments = list(line.render(self.app.console))
                strip = Strip(segments).extend_cell_length(width).crop(0, width)
                owner = pic.owners.get(y)
                if self.focus_names:
                    if owner is not None and owner in self.focus_names:
                        strip = strip.apply_style(FOCUSED)
                    elif owner is not None or y > 0:
                        strip = strip.apply_style(Style(dim=True))
                strip = strip.apply_style(self.rich_style)
            self._strips[y] = strip
        return strip

    def render_line(self, y: int) -> Strip:
        strip = self._base(y)
        if not self.flights:
            return strip
        width = self.size.width
        for flight in self.flights:
            here = flight_position(flight, self.progress)
            if here.y != y:
                continue
            h = flight.hop
            label = h.chip or h.kind
            mark = _MARK_TEXT.get(h.mark, "")
            moving = flight.start != flight.end and self.progress < 1.0
            text = f"●{label}" if moving else f"{label}{mark}"
            if not moving and not mark:
                continue
            style = Style.parse(_MARK_STYLE.get(h.mark, "bold black on bright_cyan"))
            x = min(max(0, here.x + 1), max(0, width - len(text)))
            chip = Strip([Segment(text, style)])
            strip = Strip.join([strip.crop(0, x), chip, strip.crop(x + chip.cell_length, width)])
        return strip
