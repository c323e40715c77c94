"""The Textual app: a player over a trace.

``evsim`` with no arguments opens the lesson picker; opening a lesson runs the
deterministic core in a worker and plays its trace on the simulation screen.
``evsim view TRACE.jsonl`` opens the same screen on an exported trace. The
language (en/ko) and presenter mode are app-wide: every screen follows them.

An exception nothing handled is a bug, not a mood: the app stops with return
code 1, writes the traceback to a log file and keeps one line for the terminal
(``crash_line``) that names it — instead of a screenful of traceback, and
instead of exiting 0 as if nothing had happened.
"""

from __future__ import annotations

import os
import tempfile
import time
import traceback
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING, ClassVar

from textual.app import App
from textual.binding import Binding, BindingType
from textual.reactive import reactive

from simulator.errors import InputError, visible
from simulator.lessons.course import Chapter, Course, load_course
from simulator.lessons.words import word
from simulator.scenario import Scenario, load_scenario
from simulator.trace import Record
from tui.i18n import localized, relabel
from tui.screens.picker import Lesson, PickerScreen, builtin_lessons
from tui.theme import PRESENTER_THEME

if TYPE_CHECKING:
    from tui.trace_file import FileIndexer

__all__ = ["EvsimApp", "crash_log_path", "run_app"]


def crash_log_path() -> Path:
    """Where a crash's traceback goes: ``<temp>/evsim/tui-crash-<time>-<pid>.log``."""
    stamp = time.strftime("%Y%m%d-%H%M%S")
    return Path(tempfile.gettempdir()) / "evsim" / f"tui-crash-{stamp}-{os.getpid()}.log"


class EvsimApp(App[None]):
    """evsim: watch events flow, step through them, rewind, fork."""

    CSS_PATH = "app.tcss"
    TITLE = "evsim"
    # Textual types these as plain class attributes, so no ClassVar here.
    HORIZONTAL_BREAKPOINTS = [(0, "-narrow"), (100, "-wide")]  # noqa: RUF012
    VERTICAL_BREAKPOINTS = [(0, "-short"), (32, "-tall")]  # noqa: RUF012
    ENABLE_COMMAND_PALETTE = False
    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("question_mark", "help", "Help", tooltip="This help: every key"),
        Binding("l", "toggle_lang", "EN/한국어", tooltip="Switch the language: English / 한국어"),
        Binding("q", "quit", "Quit"),
    ]

    lang: reactive[str] = reactive("en")
    """Language of lesson text and labels: ``en`` or ``ko``."""

    def __init__(
        self,
        *,
        lessons: Sequence[Lesson] | None = None,
        course: Course | None = None,
        scenario: Scenario | None = None,
        trace: tuple[list[Record], str, str | None] | None = None,
        trace_file: tuple[FileIndexer, str] | None = None,
        presenter: bool = False,
        lang: str = "en",
        export_dir: Path | None = None,
        predict: bool = True,
        motion: bool = True,
    ) -> None:
        super().__init__()
        self.motion = motion
        """Chips travel between stages (``--no-animation`` and the settings turn it off)."""
        self._lessons = lessons
        self.course = course
        """The course path (chapters and their concept pages); None: no course."""
        self._start_scenario = scenario
        self._start_trace = trace
        self._start_file = trace_file
        self.presenter = presenter
        self.export_dir = export_dir or Path.cwd()
        self.predict = predict
        """Ask a lesson's prediction questions before it plays (off for headless export)."""
        self._normal_theme = "textual-dark"
        self.register_theme(PRESENTER_THEME)
        self.set_reactive(EvsimApp.lang, lang)
        self.crash_line: str | None = None
        """After an unhandled exception: the one line to print (it names the log file)."""

    def _handle_exception(self, error: Exception) -> None:
        """An unhandled exception: log its traceback, keep one line, exit with code 1."""
        log = crash_log_path()
        where = f"the traceback is in {log}"
        try:
            log.parent.mkdir(parents=True, exist_ok=True)
            log.write_text("".join(traceback.format_exception(error)), encoding="utf-8")
        except OSError as err:
            where = f"and its traceback could not be written to {log} ({err.strerror or err})"
        message = visible(" ".join(str(error).split()))[:200]
        self.crash_line = (
            f"evsim: internal error: {type(error).__name__}: {message} (a bug; {where})"
        )
        self._return_code = 1
        if self._exception is None:  # Pilot re-raises it, so a test sees the crash
            self._exception = error
            self._exception_event.set()
        self._close_messages_no_wait()

    def on_mount(self) -> None:
        relabel(self, self.lang)
        if self.presenter:
            self.theme = PRESENTER_THEME.name
        if self._lessons is None:
            lessons = builtin_lessons()
            if self.course is None:
                try:
                    self.course = load_course()
                except InputError as err:  # the lessons still open, in file order
                    self.notify(f"course path: {err}", severity="warning", timeout=8, markup=False)
        else:
            lessons = list(self._lessons)
        self.push_screen(PickerScreen(lessons, self.course))
        if self._start_scenario is not None:
            self.open_scenario(self._start_scenario)
        elif self._start_trace is not None:
            records, label, warning = self._start_trace
            self.open_trace(records, label, warning)
        elif self._start_file is not None:
            self.open_trace_file(*self._start_file)

    # -- opening runs ----------------------------------------------------------------

    def open_scenario(self, scenario: Scenario) -> None:
        from simulator.scenario.validation import refuse_over_memory
        from tui.screens.simulation import SimulationScreen

        try:  # the player holds the whole trace in memory
            refuse_over_memory(scenario, scenario.name or "scenario", on_disk=False)
        except InputError as err:
            self.notify(str(err), severity="error", timeout=8, markup=False)
            return
        self.push_screen(SimulationScreen(scenario))

    def open_trace(self, records: list[Record], label: str, warning: str | None = None) -> None:
        from tui.screens.simulation import SimulationScreen

        self.push_screen(SimulationScreen(None, records=records, label=label, warning=warning))

    def open_trace_file(self, indexer: FileIndexer, label: str) -> None:
        """A trace file read through its index (its head already read by ``indexer``)."""
        from tui.screens.simulation import SimulationScreen

        self.push_screen(SimulationScreen(None, label=label, indexer=indexer))

    def open_path(self, path: Path) -> None:
        """A scenario file, or a ``.jsonl`` trace; a bad file is a notification, not a crash."""
        from tui.runs import load_trace, read_through_index

        try:
            if path.suffix == ".jsonl" and read_through_index(path):
                from tui.trace_file import FileIndexer

                indexer = FileIndexer(path)
                indexer.head()
                self.open_trace_file(indexer, path.name)
            elif path.suffix == ".jsonl":
                records, warning = load_trace(path)
                self.open_trace(records, path.name, warning)
            else:
                self.open_scenario(load_scenario(path))
        except InputError as err:
            self.notify(str(err), severity="error", timeout=8, markup=False)

    def chapter_of(self, lesson: str) -> Chapter | None:
        return self.course.chapter_of(lesson) if self.course is not None else None

    def open_learn(self, lesson: str) -> None:
        """The concept page of ``lesson``'s chapter (or a note that it has none)."""
        from tui.screens.learn import LearnScreen

        self.push_screen(LearnScreen(self.chapter_of(lesson), lesson))

    # -- app-wide modes -----------------------------------------------------------------

    def action_toggle_lang(self) -> None:
        self.lang = "ko" if self.lang == "en" else "en"

    def watch_lang(self, lang: str) -> None:
        """Every screen's footer follows the language (each screen relabels itself on mount)."""
        relabel(self, lang)
        for screen in self.screen_stack:
            relabel(screen, lang)

    def set_presenter(self, on: bool) -> None:
        from tui.screens.simulation import SimulationScreen

        self.presenter = on
        self.theme = PRESENTER_THEME.name if on else self._normal_theme
        for screen in self.screen_stack:
            if isinstance(screen, SimulationScreen):
                screen.presenter_changed(on)
        self.notify("presenter mode on" if on else "presenter mode off", timeout=2)

    def action_help(self) -> None:
        from tui.screens.help import HelpScreen
        from tui.screens.learn import LearnScreen
        from tui.screens.simulation import SimulationScreen

        if isinstance(self.screen, HelpScreen):
            return
        lang = self.lang
        sections: list[tuple[str, list[BindingType]]] = [
            (word("help_simulation", lang), list(SimulationScreen.BINDINGS)),
            (
                word("help_sequence", lang),
                [
                    Binding("up,down", "", word("tip_row", lang)),
                    Binding("enter", "", word("tip_row_why", lang)),
                ],
            ),
            (word("help_picker", lang), list(PickerScreen.BINDINGS)),
            (word("help_everywhere", lang), list(self.BINDINGS)),
            (word("help_learn", lang), list(LearnScreen.BINDINGS)),
            (
                word("help_predict", lang),
                [
                    Binding("1,2,3", "", word("tip_answer", lang)),
                    Binding("up,down", "", word("tip_highlight", lang)),
                    Binding("escape", "", word("tip_skip", lang)),
                ],
            ),
            (
                word("help_dialogs", lang),
                [
                    Binding("enter", "", word("tip_choose", lang)),
                    Binding("a", "", word("tip_apply", lang)),
                    Binding("escape", "", word("tip_close_dialog", lang)),
                ],
            ),
        ]
        sections = [(title, localized(bindings, lang)) for title, bindings in sections]
        self.push_screen(HelpScreen(sections, lang))

    def export_screenshot(self, *, title: str | None = None, simplify: bool = False) -> str:
        """Textual's SVG, with each text run pinned to its column (``tui.svg``)."""
        from tui.svg import pin_leading_spaces

        return pin_leading_spaces(super().export_screenshot(title=title, simplify=simplify))

    def export_svg(self, filename: str) -> str | None:
        """Save the current screen as SVG in ``export_dir``; the path, or None (and a
        notification) if it could not be written. The file appears whole or not at all."""
        from simulator.files import write_atomically

        target = self.export_dir / filename
        svg = self.export_screenshot()
        try:
            write_atomically(target, [svg.encode("utf-8")], what="an SVG screenshot")
        except InputError as err:
            self.notify(str(err), severity="error", timeout=8, markup=False)
            return None
        except OSError as err:
            problem = f"{visible(str(target))}: cannot write: {err.strerror or err}"
            self.notify(problem, severity="error", timeout=8, markup=False)
            return None
        return str(target)


def run_app(*, presenter: bool = False, lang: str = "en", motion: bool = True) -> EvsimApp:
    """Run the app on the lesson picker; returns it (``return_code``, ``crash_line``)."""
    app = EvsimApp(presenter=presenter, lang=lang, motion=motion)
    app.run()
    return app
