"""Fitting bilingual labels to terminal cells.

The words themselves — every label in English and Korean — are in one table in
the core, ``simulator.lessons.words``, shared with the headless player and the
handouts. What only a terminal needs is here: a Hangul syllable takes two
cells, so a column of labels is padded by cells, not by characters.
"""

from __future__ import annotations

from rich.cells import set_cell_size

__all__ = ["fit"]


def fit(text: str, cells: int) -> str:
    """Pad or cut ``text`` to exactly ``cells`` terminal cells (Hangul takes two each)."""
    return set_cell_size(text, cells)
