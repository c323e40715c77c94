"""The metrics panel: the checker's counts at the cursor, lag per lane, sparklines.

Lost, duplicates and out-of-order are counts of the checker's finding records
(``MessageLost``, ``DuplicateDetected``, ``OrderViolated``) folded so far, so they
match ``evsim play --json`` at the end of the run. The sparklines draw the
samples the player took while folding (processed per sample, total lag).
"""

from __future__ import annotations

from collections.abc import Sequence

from rich.console import Group
from rich.text import Text
from textual.widget import Widget

from simulator.lessons.words import word
from tui.fold import ViewState
from tui.i18n import fit
from tui.player import Sample

__all__ = ["MetricsPanel", "sparkline"]

_BARS = "▁▂▃▄▅▆▇█"


def sparkline(values: Sequence[int], width: int) -> str:
    values = list(values)[-width:]
    if not values:
        return ""
    top = max(values)
    if top <= 0:
        return _BARS[0] * len(values)
    return "".join(_BARS[min(7, v * 8 // (top + 1))] for v in values)


class MetricsPanel(Widget):
    DEFAULT_CSS = """
    MetricsPanel { height: auto; text-wrap: nowrap; text-overflow: ellipsis; }
    """

    def __init__(self, *, id: str | None = None) -> None:
        super().__init__(id=id)
        self.state = ViewState()
        self.samples: Sequence[Sample] = ()
        self.lang = "en"

    def show(self, state: ViewState, samples: Sequence[Sample], lang: str) -> None:
        self.state, self.samples, self.lang = state, samples, lang
        shape = (len(state.lanes), len(samples) > 1)
        self.refresh(layout=shape != getattr(self, "_shape", None))
        self._shape = shape

    def render(self) -> Group:
        s, lang = self.state, self.lang
        out = Text(no_wrap=True, overflow="ellipsis")

        width = max(20, self.content_region.width or 40)
        cell = max(10, width // 2)

        def line(*items: tuple[str, int, bool]) -> None:
            for key, value, bad in items:
                label = word(key, lang)
                text = f"{value:,}"
                room = max(1, cell - len(text) - 2)
                out.append(f"{fit(label, room)} ", style="dim")
                out.append(text, style="bold red" if bad and value else "bold")
                out.append(" ")
            out.append("\n")

        line(("produced", s.count("Produced"), False), ("acked", s.count("Acked"), False))
        line(("processed", s.count("Processed"), False), ("retries", s.retries, False))
        line(("lost", s.lost, True), ("duplicates", s.duplicates, True))
        line(("out_of_order", s.out_of_order, True), ("dlq", s.count("DeadLettered"), True))
        line(("rebalances", s.count("Rebalanced"), False), ("crashes", s.count("Crashed"), True))
        spark = max(8, width - 11)
        if len(self.samples) > 1:
            rates = [
                b.processed - a.processed
                for a, b in zip(self.samples, self.samples[1:], strict=False)
            ]
            out.append(fit(word("throughput", lang), 11), style="dim")
            out.append(sparkline(rates, spark), style="green")
            out.append("\n" + fit(word("lag", lang), 11), style="dim")
            out.append(sparkline([x.lag for x in self.samples], spark), style="yellow")
        groups = list(s.groups)
        lags_text = Text()
        if s.lanes and groups:
            lags_text.append(f"{word('lag', lang)}:", style="dim")
            for lane in list(s.lanes.values())[:24]:
                lags = [s.lag(lane, g) for g in groups if g in lane.committed]
                if lags:
                    lag = max(lags)
                    lags_text.append(f" {lane.name} ")
                    lags_text.append(str(lag), style="bold red" if lag > 20 else "bold")
        return Group(out, lags_text)
