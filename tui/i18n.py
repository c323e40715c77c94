"""Fitting bilingual labels to terminal cells.

The words themselves — every label in English and Korean — are in one table in
the core, ``simulator.lessons.words``, shared with the headless player and the
handouts. What only a terminal needs is here: a Hangul syllable takes two
cells, so a column of labels is padded by cells, not by characters.
"""

from __future__ import annotations

from rich.cells import cell_len, set_cell_size

__all__ = ["column", "fit"]


def fit(text: str, cells: int) -> str:
    """Pad or cut ``text`` to exactly ``cells`` terminal cells (Hangul takes two each)."""
    return set_cell_size(text, cells)


def column(text: str, cells: int) -> str:
    """``text`` in a column ``cells`` wide: padded, or cut with ``…`` (never run into the next)."""
    if cells <= 0:
        return ""
    if cell_len(text) <= cells:
        return set_cell_size(text, cells)
    return set_cell_size(text, cells - 1) + "…"
