"""The timers panel: every clock the lesson is about, running down at the cursor.

A visibility timeout, a retry backoff, a consumer's session timeout after it
crashed, the auto-commit interval, a message's TTL, the FIFO deduplication
window, a saga step's timeout: each is a bar that shrinks as virtual time
passes, from the record that started it to its deadline (``ViewState.timers``,
computed by the fold from the records and the settings in the trace header).
When the record at the cursor is the one a timer caused — the message became
visible again, the member was removed — the timer flashes with that record.
"""

from __future__ import annotations

from rich.text import Text
from textual.widget import Widget

from simulator.lessons.words import word
from tui.fold import Timer, ViewState
from tui.i18n import column

__all__ = ["TimersPanel", "timer_line"]

SHOWN = 8


def _secs(ms: int) -> str:
    return f"{ms / 1000:.2f}s" if ms < 10_000 else f"{ms / 1000:.0f}s"


def timer_line(t: Timer, now_ms: int, width: int, lang: str) -> Text:
    """``visibility  m3 → c-0  ██████░░░░ 0.62s``: kind, what, a shrinking bar, time left."""
    line = Text(no_wrap=True, overflow="ellipsis")
    left_ms = max(0, t.due_ms - now_ms)
    kind_w = 16 if width >= 44 else 10
    line.append(column(word(f"timer_{t.kind}", lang), kind_w), style="bold dark_orange")
    what_w = max(6, min(24, width - kind_w - 16))
    what = t.label if t.kind == "visibility" else f"{t.owner} {t.label}"
    if t.kind in ("session", "max.poll", "auto-commit"):
        what = t.owner
    line.append(" " + column(what, what_w))
    bar_w = max(4, width - kind_w - what_w - 9)
    filled = round(t.left(now_ms) * bar_w)
    style = "red" if t.left(now_ms) < 0.25 else "yellow"
    line.append(" " + "█" * filled, style=style)
    line.append("░" * (bar_w - filled), style="dim")
    line.append(f" {_secs(left_ms):>6}", style="bold")
    return line


class TimersPanel(Widget):
    DEFAULT_CSS = """
    TimersPanel { height: auto; }
    """

    def __init__(self, *, id: str | None = None) -> None:
        super().__init__(id=id)
        self.state = ViewState()
        self.lang = "en"
        self.cursor_kind = ""
        self.cursor_seq = 0

    def show(self, state: ViewState, lang: str, cursor_kind: str, cursor_seq: int) -> None:
        shape = (len(state.timers), state.fired is not None)
        self.state, self.lang = state, lang
        self.cursor_kind, self.cursor_seq = cursor_kind, cursor_seq
        self.refresh(layout=shape != getattr(self, "_shape", None))
        self._shape = shape

    def render(self) -> Text:
        s, lang = self.state, self.lang
        width = max(20, self.content_region.width or 40)
        out = Text(no_wrap=True, overflow="ellipsis")
        fired = s.fired
        if fired is not None:
            out.append(" ⏰ ", style="bold black on dark_orange")
            out.append(f" {word(f'timer_{fired.kind}', lang)} {word('fired', lang)}", style="bold")
            out.append(f" → {self.cursor_kind} #{self.cursor_seq}\n", style="dark_orange")
        timers = sorted(s.timers.values(), key=lambda t: t.due_ms)
        if not timers:
            out.append(word("no_timers", lang), style="dim")
            return out
        lines = [timer_line(t, s.at_ms, width, lang) for t in timers[:SHOWN]]
        out.append_text(Text("\n").join(lines))
        if len(timers) > SHOWN:
            out.append(f"\n … +{len(timers) - SHOWN}", style="dim")
        return out
