"""SVG screenshots that read the same in every viewer.

Textual draws each run of styled text as its own ``<text>`` element at its cell's
``x``, with spaces as ``&#160;`` and a ``textLength`` for the whole run. Some
renderers (librsvg, which turns screenshots into PNGs, among them) give a
*leading* no-break space no width, so a run like ``  gen 1`` is drawn two cells
early, on top of the label before it — ``billinggen 1``. ``pin_leading_spaces``
moves each run's leading spaces into its ``x`` instead, so the text starts in
its own column whatever the viewer does with spaces.
"""

from __future__ import annotations

import re

__all__ = ["pin_leading_spaces"]

_RUN = re.compile(
    r'(<text class="[^"]*" x=")([\d.]+)(" y="[\d.]+" textLength=")([\d.]+)("[^>]*>)'
    r"((?:&#160;)+)([^<]*</text>)"
)
_ENTITY = re.compile(r"&#?\w+;")


def _cells(content: str) -> int:
    return len(_ENTITY.sub("x", content))


def pin_leading_spaces(svg: str) -> str:
    """``svg`` with every text run's leading no-break spaces turned into an offset."""

    def pin(m: re.Match[str]) -> str:
        x, length = float(m[2]), float(m[4])
        spaces = m[6].count("&#160;")
        rest = m[7][: -len("</text>")]
        total = spaces + _cells(rest)
        if not rest.strip() or total == 0:
            return m[0]
        cell = length / total
        new_x = x + spaces * cell
        new_length = length - spaces * cell
        return f"{m[1]}{new_x:g}{m[3]}{new_length:g}{m[5]}{m[7]}"

    return _RUN.sub(pin, svg)
