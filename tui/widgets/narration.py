"""The narration panel: the lesson's current beat and what to notice, in en or ko.

A beat becomes current once the record that fires it has been applied (its
record kind, or the first record at or after its time), exactly as in the
headless player. Switching the language redraws the same beat in place.
"""

from __future__ import annotations

from collections.abc import Sequence

from rich.console import Group, RenderableType
from rich.text import Text
from textual.widget import Widget

from simulator.lessons.words import word
from simulator.scenario import Beat

__all__ = ["NarrationPanel", "current_beat"]


def current_beat(triggers: Sequence[int | None], position: int) -> int | None:
    """Index of the latest beat fired by a record before ``position``."""
    best: int | None = None
    best_seq = -1
    for i, seq in enumerate(triggers):
        if seq is not None and seq < position and seq >= best_seq:
            best, best_seq = i, seq
    return best


class NarrationPanel(Widget):
    DEFAULT_CSS = """
    NarrationPanel { height: auto; }
    """

    def __init__(self, *, id: str | None = None) -> None:
        super().__init__(id=id)
        self.beats: Sequence[Beat] = ()
        self.beat: int | None = None
        self.lang = "en"
        self.note: str | None = None
        self.loading = True

    def show(
        self, beats: Sequence[Beat], beat: int | None, lang: str, note: str | None = None
    ) -> None:
        """Show ``beat``; ``note``: the run is not the lesson as written (settings, a branch)."""
        self.loading = False
        if (beats, beat, lang, note) != (self.beats, self.beat, self.lang, self.note):
            self.beats, self.beat, self.lang, self.note = beats, beat, lang, note
            self.refresh(layout=True)

    def render(self) -> RenderableType:
        lang = self.lang
        head = Text()
        head.append("EN", style="bold reverse" if lang == "en" else "dim")
        head.append(" │ ", style="dim")
        head.append("한국어", style="bold reverse" if lang == "ko" else "dim")
        if self.beats:
            n = 0 if self.beat is None else self.beat + 1
            head.append(f"   {n}/{len(self.beats)}", style="dim")
        if self.loading:
            return Group(head, Text(word("loading_narration", lang), style="dim italic"))
        if not self.beats:
            return Group(head, Text(word("no_narration", lang), style="dim italic"))
        if self.beat is None:
            return Group(head, Text(word("no_beat", lang), style="dim italic"))
        beat = self.beats[self.beat]
        parts: list[RenderableType] = [head]
        if self.note:
            parts.append(Text(self.note, style="italic dark_orange"))
        parts.append(Text(beat.text.get(lang), style="bold"))
        if beat.notice is not None:
            parts.append(Text(f"\n{word('notice', lang)}", style="bold yellow"))
            parts.append(Text(beat.notice.get(lang), style="italic"))
        return Group(*parts)
