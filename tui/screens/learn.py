"""Learn: the concept page of the current lesson's chapter, rendered as Markdown.

Every lesson on the course path belongs to a chapter, and every chapter has a
page in ``docs/guide/<lang>/`` (``simulator.lessons.course``). This screen shows that
page in the chosen language and follows the language key live; links to other
pages of the guide open in place. A lesson that is not on the course path has
no chapter, and the screen says so.
"""

from __future__ import annotations

import re
from pathlib import PurePosixPath
from typing import ClassVar

from rich.text import Text
from textual import on
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import VerticalScroll
from textual.screen import Screen
from textual.widgets import Footer, Header, Markdown, Static

from simulator.lessons.course import Chapter
from simulator.lessons.words import word
from tui.guide import LANGS, guide_page
from tui.i18n import relabel

__all__ = ["LearnScreen"]


_LINK = re.compile(r"\[([^\]]+)\]\(((?:\.\./){2,})([^)#\s]+)(#[^)]*)?\)")


def readable_links(markdown: str) -> str:
    """Links out of the guide (``[../../kafka.md](../../kafka.md)``) become the file's name
    in the repository as code (``docs/kafka.md``): the page cannot open them, and a raw
    relative path tells a reader nothing. A link with words of its own keeps them."""

    def plain(m: re.Match[str]) -> str:
        text, path = m[1], m[3]
        where = f"`docs/{path}`"
        return where if text.strip("./") == path or text.startswith("../") else f"{text} ({where})"

    return _LINK.sub(plain, markdown)


class LearnScreen(Screen[None]):
    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("escape,i", "close", "Back", tooltip="Close the concept page"),
    ]

    def __init__(self, chapter: Chapter | None, lesson: str = "") -> None:
        super().__init__()
        self.chapter = chapter
        self.lesson = lesson
        self.file = chapter.guide if chapter is not None else None
        self.shown = ""
        """The Markdown on screen (tests read it)."""

    def compose(self) -> ComposeResult:
        yield Header()
        with VerticalScroll(id="learn-box"):
            yield Static("", id="learn-note")
            yield Markdown("", id="learn-page", open_links=False)
        yield Footer()

    def on_mount(self) -> None:
        relabel(self, str(getattr(self.app, "lang", "en")))
        self.watch(self.app, "lang", self._show, init=True)
        self.query_one("#learn-box").focus()

    def _show(self, lang: str) -> None:
        note = self.query_one("#learn-note", Static)
        page = self.query_one("#learn-page", Markdown)
        title = word("learn", lang)
        if self.chapter is not None and self.file == self.chapter.guide:
            title = f"{title}: {self.chapter.title.get(lang)}"
        self.title, self.sub_title = "evsim", title
        self.query_one("#learn-box").border_title = Text(title)
        if self.file is None:
            note.update(Text(word("no_chapter", lang), style="italic"))
            note.display = True
            self.shown = ""
            page.update("")
            return
        found = guide_page(self.file, lang)
        if found is None:
            note.update(Text(f"{word('no_guide', lang)} docs/guide/{lang}/{self.file}", "italic"))
            note.display = True
            self.shown = ""
            page.update("")
            return
        note.display = False
        self.shown = readable_links(found[0])
        page.update(self.shown)
        self.query_one("#learn-box", VerticalScroll).scroll_home(animate=False)

    @on(Markdown.LinkClicked)
    def _link(self, event: Markdown.LinkClicked) -> None:
        event.stop()
        href = PurePosixPath(event.href.split("#", 1)[0])
        if href.suffix != ".md":
            if event.href.startswith(("http://", "https://")):
                self.app.open_url(event.href)
            return
        lang = getattr(self.app, "lang", "en")
        self.file = href.name
        if href.parent.name in LANGS and href.parent.name != lang:
            self.app.lang = href.parent.name  # type: ignore[attr-defined]
        else:
            self._show(lang)

    def action_close(self) -> None:
        self.dismiss(None)
