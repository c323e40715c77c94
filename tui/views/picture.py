"""A view's picture: lines of text, and where each component sits on them.

The flow widget needs more than text to animate: it must know that ``billing-0``
is on line 9 at column 4, so a chip can travel there from ``orders/0``. A view
builds its lines as usual and ``Picture.of(lines, names)`` finds each named
component on them (the first line where the name stands as a word), which
keeps the views simple: they draw, and the anchors are found afterwards.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass, field
from functools import lru_cache

from rich.cells import cell_len
from rich.text import Text

__all__ = ["Anchor", "Picture"]

_LEADING = re.compile(r"^[\s▸✖●○◐◉⧉▤▦▣◇■▶↺⌛✔?]*([\w][\w/.:@-]*)")
"""A line's first word, after the marks that open a row (``▸ checkout``, ``● billing-0``,
``▣ orders``: a queue's own row, not a cluster panel's ``⎔`` row about it)."""


@lru_cache(maxsize=4096)
def _word(name: str) -> re.Pattern[str]:
    return re.compile(rf"(?<![\w/.-]){re.escape(name)}(?![\w/.-])")


@dataclass(frozen=True, slots=True)
class Anchor:
    """Where a component is drawn: its line and the cell column where its name ends."""

    y: int
    x: int


@dataclass(slots=True)
class Picture:
    lines: list[Text]
    anchors: dict[str, Anchor] = field(default_factory=dict)
    """Component name → where its name is drawn (the first line that shows it)."""
    owners: dict[int, str] = field(default_factory=dict)
    """Line → the component that line is about (the inverse of ``anchors``)."""

    @classmethod
    def of(cls, lines: list[Text], names: Iterable[str]) -> Picture:
        """Find each name on ``lines``: first where a line *starts* with it (its own row),
        then anywhere on a line no other name owns (longest names first)."""
        plain = [line.plain for line in lines]
        wanted = {n for n in names if n}
        anchors: dict[str, Anchor] = {}
        owners: dict[int, str] = {}
        for y, text in enumerate(plain):
            found = _LEADING.match(text)
            if found is None:
                continue
            word = found[1].rstrip("…")
            if word in wanted and word not in anchors:
                anchors[word] = Anchor(y, cell_len(text[: found.end(1)]))
                owners[y] = word
        for name in sorted(wanted - anchors.keys(), key=len, reverse=True):
            pattern = _word(name)
            for y, text in enumerate(plain):
                if y in owners:
                    continue
                hit = pattern.search(text)
                if hit is not None:
                    anchors[name] = Anchor(y, cell_len(text[: hit.end()]))
                    owners[y] = name
                    break
        return cls(lines, anchors, owners)

    def text(self) -> Text:
        return Text("\n", no_wrap=True, overflow="ellipsis").join(self.lines)
