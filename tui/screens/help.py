"""The help screen: every key binding, read from the screens' own binding lists.

Generated, never hand-written, so a new binding cannot be missing from help.
"""

from __future__ import annotations

from typing import ClassVar

from rich.text import Text
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import VerticalScroll
from textual.screen import ModalScreen
from textual.widgets import Static

from simulator.lessons.words import word

__all__ = ["HelpScreen", "binding_rows", "key_names"]

_KEY_NAMES = {
    "left_square_bracket": "[",
    "right_square_bracket": "]",
    "full_stop": ".",
    "comma": ",",
    "slash": "/",
    "question_mark": "?",
    "space": "space",
    "right": "→",
    "left": "←",
    "shift+right": "shift+→",
    "shift+left": "shift+←",
    "pagedown": "PgDn",
    "pageup": "PgUp",
    "up": "↑",
    "down": "↓",
}


def key_names(keys: str) -> str:
    return " / ".join(_KEY_NAMES.get(k.strip(), k.strip()) for k in keys.split(","))


def binding_rows(bindings: list[BindingType]) -> list[tuple[str, str]]:
    rows = []
    for b in bindings:
        if isinstance(b, Binding):
            rows.append((key_names(b.key), b.tooltip or b.description or b.action))
        elif isinstance(b, tuple):
            rows.append((key_names(b[0]), b[2] if len(b) > 2 else b[1]))
    return rows


class HelpScreen(ModalScreen[None]):
    BINDINGS: ClassVar[list[BindingType]] = [Binding("escape,question_mark,q", "close", "Close")]

    def __init__(self, sections: list[tuple[str, list[BindingType]]], lang: str = "en") -> None:
        super().__init__()
        self.sections = sections
        self.lang = lang

    def compose(self) -> ComposeResult:
        with VerticalScroll(classes="dialog wide", id="help"):
            yield Static(Text(word("help_title", self.lang), style="bold"))
            for title, bindings in self.sections:
                text = Text()
                text.append(f"\n{title}\n", style="bold underline")
                for keys, what in binding_rows(bindings):
                    text.append(f"  {keys:<22} ", style="bold cyan")
                    text.append(f"{what}\n")
                yield Static(text)
            yield Static(Text(word("help_close", self.lang), style="dim"))

    def action_close(self) -> None:
        self.dismiss(None)
