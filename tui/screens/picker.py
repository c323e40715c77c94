"""The lesson picker: every shipped scenario in course order, filterable, with a preview.

Lessons are listed as the course path orders them (``simulator.lessons.course``): each
chapter's title as a heading, its lessons in teaching order, then the lessons
that have no place in the course.
Each lesson shows its title, summary, tags and broker model in the chosen
language, and a preview of what it builds (topics and partitions, producers,
groups and consumers, faults) before anything runs. A scenario file elsewhere
opens with ``o``; a file that does not load is listed with its error instead of
being hidden.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, ClassVar

import msgspec
from rich.text import Text
from textual import on
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Horizontal, Vertical, VerticalScroll
from textual.screen import Screen
from textual.widgets import Footer, Header, Input, OptionList, Static
from textual.widgets.option_list import Option

from simulator.errors import InputError
from simulator.lessons.course import Course
from simulator.lessons.words import word
from simulator.scenario import Scenario, builtin_names, builtin_path, load_scenario
from tui.i18n import relabel

if TYPE_CHECKING:
    from tui.app import EvsimApp

__all__ = ["Lesson", "PickerScreen", "builtin_lessons", "preview"]


@dataclass(frozen=True, slots=True)
class Lesson:
    name: str
    scenario: Scenario | None
    error: str | None = None


def builtin_lessons() -> list[Lesson]:
    out = []
    for name in builtin_names():
        try:
            out.append(Lesson(name, load_scenario(builtin_path(name))))
        except InputError as err:
            out.append(Lesson(name, None, str(err)))
    return out


def follows(broker: str) -> str:
    """The real system a broker model follows, as the core states it."""
    from simulator.models.registry import UnknownModel, model

    try:
        return model(broker).follows
    except UnknownModel:
        return "unknown model"


def preview(s: Scenario, lang: str) -> Text:
    """Title, summary, tags, broker model and the topology, before anything runs."""
    out = Text()
    out.append(f"{s.title.get(lang)}\n", style="bold")
    out.append(f"{s.summary.get(lang)}\n\n")
    if s.tags:
        out.append(f"{word('tags', lang)}: ", style="dim")
        for tag in s.tags:
            out.append(f" {tag} ", style="reverse")
            out.append(" ")
        out.append("\n")
    out.append(f"{word('broker_model', lang)}: ", style="dim")
    out.append(f"{s.broker}", style="bold")
    out.append(f" — {follows(s.broker)}\n\n", style="dim")
    out.append(f"{word('topology', lang)}\n", style="bold underline")
    for p in s.producers:
        idem = word("idempotent" if p.idempotent else "not_idempotent", lang)
        out.append(f" ▸ {p.name}", style="cyan")
        out.append(f" → {p.topic}  (acks={p.acks}, {idem})\n")
    for tp in s.topics:
        out.append(f" ▤ {tp.name}", style="bold")
        out.append(f"  {word('n_partitions', lang, n=tp.partitions)}  ")
        out.append("▕" + "▮" * min(tp.partitions, 24) + "▏\n", style="blue")
    for g in s.groups:
        names = g.consumer_names()
        out.append(f" ◉ {g.name}", style="magenta")
        out.append(
            f" ← {g.topic}  {word('n_consumers', lang, n=len(names))}, "
            f"{word('commit', lang)} {g.commit}\n"
        )
    if s.faults:
        out.append(f"\n{word('faults', lang)}\n", style="bold underline")
        for f in s.faults:
            desc = " ".join(
                f"{field.name}={getattr(f, field.name)}"
                for field in msgspec.structs.fields(f)
                if getattr(f, field.name) != field.default
                and getattr(f, field.name) not in (None, [])
            )
            out.append(f" ⚡ {type(f).__name__}: {desc}\n", style="red")
    if s.narration:
        out.append(f"\n{word('n_beats', lang, n=len(s.narration))}\n", style="dim")
    return out


class PickerScreen(Screen[None]):
    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("enter", "open", "Open", show=False, tooltip="Open the highlighted lesson"),
        Binding(
            "o",
            "open_file",
            "Open file",
            tooltip="Open a scenario file (.toml) or a trace (.jsonl)",
        ),
        Binding("slash", "focus_filter", "Filter", tooltip="Filter lessons by title, summary, tag"),
        Binding("i", "learn", "Learn", tooltip="Learn: the highlighted lesson's concept page"),
        Binding("escape", "clear_filter", "Clear filter", show=False),
    ]

    def __init__(self, lessons: Sequence[Lesson], course: Course | None = None) -> None:
        super().__init__()
        self.lessons = list(lessons)
        self.course = course

    @property
    def evsim(self) -> EvsimApp:
        from tui.app import EvsimApp

        assert isinstance(self.app, EvsimApp)
        return self.app

    def compose(self) -> ComposeResult:
        yield Header()
        with Horizontal(id="picker"):
            with Vertical(id="lesson-column"):
                yield Input(placeholder=word("filter", "en"), id="lesson-filter")
                yield OptionList(id="lessons")
            with VerticalScroll(id="preview-box"):
                yield Static("", id="preview")
        yield Footer()

    def on_mount(self) -> None:
        relabel(self, str(getattr(self.app, "lang", "en")))
        self.title = "evsim"
        self.watch(self.app, "lang", self._lang_changed, init=False)
        self._fill()
        self.query_one("#lessons").focus()

    def _lang_changed(self, _lang: str) -> None:
        self._fill()

    def _matching(self) -> list[int]:
        needle = self.query_one("#lesson-filter", Input).value.strip().lower()
        out = []
        for i, lesson in enumerate(self.lessons):
            s = lesson.scenario
            hay = lesson.name
            if s is not None:
                hay += " " + " ".join(
                    (s.title.en, s.title.ko, s.summary.en, s.summary.ko, *s.tags, s.broker)
                )
            if all(term in hay.lower() for term in needle.split()):
                out.append(i)
        return out

    def _fill(self) -> None:
        lang = self.evsim.lang
        self.sub_title = word("lessons", lang)
        self.query_one("#lesson-filter", Input).placeholder = word("filter", lang)
        self.query_one("#lesson-column").border_title = word("lessons", lang)
        box = self.query_one("#lessons", OptionList)
        keep = box.highlighted_option.id if box.highlighted_option is not None else None
        box.clear_options()
        options: list[Option] = []
        for heading, members in self._sections(self._matching()):
            if heading is not None:
                options.append(Option(Text(heading, style="bold underline"), disabled=True))
            options += [self._option(i, lang) for i in members]
        box.add_options(options)
        ids = [o.id for o in options if o.id is not None]
        if ids:
            box.highlighted = next(
                n for n, o in enumerate(options) if o.id == (keep if keep in ids else ids[0])
            )
        self._show_preview()

    def _sections(self, matching: list[int]) -> list[tuple[str | None, list[int]]]:
        """Chapters (title, lessons in path order), then the lessons outside the course.

        With no course, or no course lesson among ``matching``, one flat section."""
        lang = self.evsim.lang
        by_name = {self.lessons[i].name: i for i in matching}
        sections: list[tuple[str | None, list[int]]] = []
        placed: set[int] = set()
        if self.course is not None:
            for number, chapter in enumerate(self.course.chapters, 1):
                members = [by_name[n] for n in chapter.lessons if n in by_name]
                if members:
                    sections.append((f"{number}. {chapter.title.get(lang)}", members))
                    placed.update(members)
        rest = [i for i in matching if i not in placed]
        if rest:
            sections.append((word("other_lessons", lang) if sections else None, rest))
        return sections

    def _option(self, i: int, lang: str) -> Option:
        lesson = self.lessons[i]
        if lesson.scenario is None:
            label = Text.assemble((lesson.name, "bold"), ("\n  cannot load", "red"))
        else:
            s = lesson.scenario
            mark = "  ?" if s.predict else ""
            label = Text.assemble(
                (s.title.get(lang), "bold"),
                (mark, "bold yellow"),
                ("\n  ", ""),
                (f"{lesson.name} · {s.broker}", "dim"),
            )
        return Option(label, id=str(i))

    def _show_preview(self) -> None:
        lang = self.evsim.lang
        box = self.query_one("#lessons", OptionList)
        preview_widget = self.query_one("#preview", Static)
        option = box.highlighted_option if box.option_count else None
        if not self.lessons:
            preview_widget.update(Text(word("no_lessons", lang), style="italic"))
            return
        if option is None or option.id is None:
            needle = self.query_one("#lesson-filter", Input).value.strip()
            empty = word("no_match", lang, text=needle) if needle else ""
            preview_widget.update(Text(empty, style="italic"))
            return
        lesson = self.lessons[int(option.id)]
        if lesson.scenario is None:
            preview_widget.update(Text(lesson.error or "cannot load", style="red"))
        else:
            text = preview(lesson.scenario, lang)
            course = self.course
            chapter = course.chapter_of(lesson.name) if course is not None else None
            if course is not None and chapter is not None:
                step = course.chapters.index(chapter) + 1
                text.append(f"\n{step}. {chapter.title.get(lang)}", style="bold")
                text.append(f" — i: {word('learn', lang)}", style="dim")
            if lesson.scenario.predict:
                text.append(
                    f"\n? {word('predict', lang)}: {len(lesson.scenario.predict)}", "yellow"
                )
            preview_widget.update(text)

    @on(OptionList.OptionHighlighted, "#lessons")
    def _highlighted(self) -> None:
        self._show_preview()

    @on(Input.Changed, "#lesson-filter")
    def _filtered(self) -> None:
        self._fill()

    @on(Input.Submitted, "#lesson-filter")
    def _filter_done(self) -> None:
        self.query_one("#lessons").focus()

    @on(OptionList.OptionSelected, "#lessons")
    def _selected(self, event: OptionList.OptionSelected) -> None:
        if event.option.id is not None:
            self._open(self.lessons[int(event.option.id)])

    def action_open(self) -> None:
        option = self.query_one("#lessons", OptionList).highlighted_option
        if option is not None and option.id is not None:
            self._open(self.lessons[int(option.id)])

    def _open(self, lesson: Lesson) -> None:
        if lesson.scenario is None:
            self.notify(lesson.error or "cannot load", severity="error", markup=False)
            return
        self.evsim.open_scenario(lesson.scenario)

    def action_focus_filter(self) -> None:
        # Focus at once (not on the next idle), so keys typed right after "/" reach the filter.
        self.set_focus(self.query_one("#lesson-filter"))

    def action_learn(self) -> None:
        option = self.query_one("#lessons", OptionList).highlighted_option
        if option is not None and option.id is not None:
            self.evsim.open_learn(self.lessons[int(option.id)].name)

    def action_clear_filter(self) -> None:
        self.query_one("#lesson-filter", Input).value = ""
        self.query_one("#lessons").focus()

    def action_open_file(self) -> None:
        from tui.screens.dialogs import TextDialog

        def done(path: str | None) -> None:
            if path:
                self.evsim.open_path(Path(path.strip()).expanduser())

        self.app.push_screen(
            TextDialog(
                "Open a scenario (.toml) or a trace (.jsonl)", placeholder="lessons/my-lesson.toml"
            ),
            done,
        )
