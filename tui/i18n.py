"""Fitting bilingual labels to terminal cells.

The words themselves — every label in English and Korean — are in one table in
the core, ``simulator.lessons.words``, shared with the headless player and the
handouts. What only a terminal needs is here: a Hangul syllable takes two
cells, so a column of labels is padded by cells, not by characters. And key
bindings are declared once, in English, on each screen: ``relabel`` puts the
footer's names into the current language from the word table (``key_<action>``),
and ``localized`` does the same for the help screen's sentences (``tip_<action>``).
"""

from __future__ import annotations

from dataclasses import replace
from typing import TYPE_CHECKING

from rich.cells import cell_len, set_cell_size
from textual.binding import Binding, BindingType

if TYPE_CHECKING:
    from textual.dom import DOMNode

__all__ = ["column", "fit", "localized", "relabel"]


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


def _action_name(action: str) -> str:
    return action.split("(", 1)[0]


def localized(bindings: list[BindingType], lang: str) -> list[BindingType]:
    """``bindings`` with their footer names and help sentences in ``lang``."""
    from simulator.lessons.words import WORDS, word

    out: list[BindingType] = []
    for b in bindings:
        if isinstance(b, Binding):
            name = _action_name(b.action)
            description = word(f"key_{name}", lang) if f"key_{name}" in WORDS else b.description
            tooltip = word(f"tip_{name}", lang) if f"tip_{name}" in WORDS else b.tooltip
            b = replace(b, description=description, tooltip=tooltip)
        out.append(b)
    return out


def relabel(node: DOMNode, lang: str) -> None:
    """Put ``node``'s key bindings (what the footer shows) into ``lang``."""
    bindings = node._bindings.key_to_bindings
    for key, listed in list(bindings.items()):
        bindings[key] = [b for b in localized(list(listed), lang) if isinstance(b, Binding)]
    node.refresh_bindings()
