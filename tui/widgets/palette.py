"""Colours shared by widgets: one stable colour per message key, one per group.

Colours are picked with CRC-32 of the name (stable across processes, unlike
``hash()``), so the same key has the same colour in every run and screenshot.
"""

from __future__ import annotations

import zlib

__all__ = ["group_style", "key_style"]

_KEY_BACKGROUNDS = (
    "#1f6feb",
    "#2da44e",
    "#bf8700",
    "#8250df",
    "#cf222e",
    "#1b7c83",
    "#bc4c00",
    "#6e7781",
    "#0969da",
    "#a40e26",
    "#4d2d00",
    "#116329",
)
_GROUP_COLOURS = ("magenta", "cyan", "yellow", "green", "bright_blue", "bright_red")


def _pick(name: str, n: int) -> int:
    return zlib.crc32(name.encode("utf-8")) % n


def key_style(key: str | None) -> str:
    """The chip style of a message with this key (unkeyed: grey)."""
    if key is None:
        return "black on #8c959f"
    return f"bold white on {_KEY_BACKGROUNDS[_pick(key, len(_KEY_BACKGROUNDS))]}"


def group_style(group: str, groups: list[str]) -> str:
    """Groups are coloured by their place in the scenario, so two never clash."""
    i = groups.index(group) if group in groups else _pick(group, len(_GROUP_COLOURS))
    return f"bold {_GROUP_COLOURS[i % len(_GROUP_COLOURS)]}"
