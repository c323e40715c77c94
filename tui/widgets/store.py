"""The event store and read-model panel: what a CQRS lesson is about, at the cursor.

The store's head is the highest global position written; each stream shows its
version (how many events it holds). Each projector shows its checkpoint — the
last position it saved, ``✓@n`` as the flow draws it (``CheckpointSaved`` holds
the next one to read, n + 1) — and its lag, the events written after it. A blue/green rebuild
draws a bar from ``RebuildStarted`` to ``RebuildFinished`` while reads stay on
the old version, and ``ReadModelSwitched`` moves the reads. Everything comes
from ``ViewState.store``, the fold of the trace; the panel is hidden in lessons
that write no such record.
"""

from __future__ import annotations

from rich.text import Text
from textual.widget import Widget

from simulator.lessons.words import word
from tui.fold import ProjectorView, StoreView, ViewState
from tui.views.store import progress_bar

__all__ = ["StorePanel"]

STREAMS_SHOWN = 8


class StorePanel(Widget):
    DEFAULT_CSS = """
    StorePanel { height: auto; text-wrap: nowrap; text-overflow: ellipsis; }
    """

    def __init__(self, *, id: str | None = None) -> None:
        super().__init__(id=id)
        self.store: StoreView | None = None
        self.crashed: list[str] = []
        self.lang = "en"

    def show(self, state: ViewState, lang: str) -> None:
        self.store, self.crashed, self.lang = state.store, state.crashed, lang
        self.refresh(layout=True)

    def render(self) -> Text:
        store, lang = self.store, self.lang
        out = Text(no_wrap=True, overflow="ellipsis")
        if store is None:
            return out
        out.append(f"{word('head', lang)} ", style="dim")
        out.append(f"@{store.head}", style="bold")
        out.append(f" · {len(store.streams)} {word('streams', lang)}", style="dim")
        if store.conflicts:
            out.append(f" · {word('conflicts', lang)} ", style="dim")
            out.append(str(store.conflicts), style="bold yellow")
        if store.rejected:
            out.append(f" · {word('rejected', lang)} ", style="dim")
            out.append(str(store.rejected), style="bold")
        width = max(20, self.content_region.width or 40)
        per_line = 2 if width >= 40 else 1
        streams = list(store.streams.items())
        for i, (name, version) in enumerate(streams[:STREAMS_SHOWN]):
            out.append("\n " if i % per_line == 0 else "  ")
            out.append(name, style="cyan")
            out.append(f" v{version}", style="bold")
            snap = store.snapshots.get(name)
            if snap:
                out.append(f" ◇{snap}", style="dim")
        if len(streams) > STREAMS_SHOWN:
            out.append(f"\n … +{len(streams) - STREAMS_SHOWN}", style="dim")
        for p in store.projectors.values():
            self._projector(out, store, p, width)
        return out

    def _projector(self, out: Text, store: StoreView, p: ProjectorView, width: int) -> None:
        lang = self.lang
        out.append("\n▦ ", style="magenta")
        out.append(p.name, style="bold magenta")
        if p.name in self.crashed:
            out.append(f" ✖ {word('crashed', lang)}", style="bold red")
        out.append(f"  {word('reads_version', lang)} v{p.reading}", style="bold")
        lag = store.lag(p)
        out.append(f"\n  {word('checkpoint', lang)} ", style="dim")
        # The last position saved, as the flow's ✓ mark shows it (the checkpoint record
        # holds the next position to read: one more).
        out.append(f"✓@{p.checkpoint - 1}", style="bold")
        out.append(f"  {word('lag', lang)} ", style="dim")
        out.append(str(lag), style="bold red" if lag else "bold green")
        if p.rebuild_version is not None:
            out.append(f"\n  {word('rebuild', lang)} v{p.rebuild_version} ", style="yellow")
            # Out of the head now, as the flow draws it (the replay chases a moving head).
            head = max(p.rebuild_head, store.head)
            label = f" {p.rebuild_position}/{head}"
            bar = max(4, width - len(label) - 14)
            out.append(progress_bar(p.rebuild_position, head, bar), style="yellow")
            out.append(label, style="bold yellow")
        elif p.rebuilt:
            out.append(f"\n  {word('rebuilt', lang)}: {p.rebuilt}", style="dim")
        if p.last_query:
            style = "bold red" if p.last_query.endswith("stale") else ""
            out.append(f"\n  {word('query', lang)} ", style="dim")
            out.append(p.last_query, style=style)
