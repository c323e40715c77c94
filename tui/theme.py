"""The presenter theme: high contrast for projectors (pure black, bright accents)."""

from __future__ import annotations

from textual.theme import Theme

__all__ = ["PRESENTER_THEME"]

PRESENTER_THEME = Theme(
    name="evsim-presenter",
    primary="#ffd700",
    secondary="#00e5ff",
    accent="#ff6ec7",
    warning="#ffb000",
    error="#ff4040",
    success="#00ff7f",
    foreground="#ffffff",
    background="#000000",
    surface="#000000",
    panel="#1a1a1a",
    dark=True,
)
