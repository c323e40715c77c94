"""Predict, then run: the lesson's questions before it plays, and the verdict after.

Committing to an answer before the timeline plays is what turns a demo into an
experiment. ``PredictDialog`` asks each ``[[predict]]`` question in turn (a
number key or the arrows and enter answer it, escape skips the rest) and hands
back the answers; the simulation screen keeps them. ``OutcomeDialog`` shows
each question against the run: the student's answer, the key, whether the run
confirms the key (judged by ``simulator.lessons.predict``, never here) and the
explanation. Both follow the language key live; in presenter mode the class
answers aloud and the presenter may key in its choice.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING, ClassVar

from rich.text import Text
from textual import events, on
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Vertical, VerticalScroll
from textual.screen import ModalScreen
from textual.widgets import Label, OptionList, Static
from textual.widgets.option_list import Option

from simulator.lessons.predict import PredictionResult
from simulator.lessons.words import word
from simulator.scenario import Predict

if TYPE_CHECKING:
    from tui.app import EvsimApp

__all__ = ["OutcomeDialog", "PredictDialog", "outcome_text"]

Answers = list[int | None]


class PredictDialog(ModalScreen[Answers]):
    """One question at a time; dismisses with one answer (or None) per question."""

    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("escape", "skip", "Skip", tooltip="Skip the prediction questions"),
        # A modal screen hides the app's bindings: the language key is repeated here.
        Binding("l", "app.toggle_lang", "EN/한국어"),
    ]

    def __init__(self, questions: Sequence[Predict], lang: str) -> None:
        super().__init__()
        self.questions = list(questions)
        self.answers: Answers = []
        self.lang = lang

    def compose(self) -> ComposeResult:
        with Vertical(classes="dialog wide", id="predict"):
            yield Label("", id="predict-title")
            yield Static("", id="predict-question")
            yield OptionList(id="predict-choices")
            yield Label("", id="predict-keys", classes="dim")

    def on_mount(self) -> None:
        self.watch(self.app, "lang", self._lang_changed, init=False)
        lang = getattr(self.app, "lang", self.lang)
        self._lang_changed(lang)

    def _lang_changed(self, lang: str) -> None:
        self.lang = lang
        self._show()

    def _show(self) -> None:
        n = len(self.answers)
        if n >= len(self.questions):
            return
        lang = self.lang
        q = self.questions[n]
        title = (
            f"? {word('predict', lang)} — {word('question', lang)} {n + 1}/{len(self.questions)}"
        )
        self.query_one("#predict-title", Label).update(Text(title, style="bold yellow"))
        self.query_one("#predict-question", Static).update(Text(q.question.get(lang), "bold"))
        box = self.query_one("#predict-choices", OptionList)
        keep = box.highlighted or 0
        box.clear_options()
        box.add_options(
            Option(Text(f"{i}) {choice.get(lang)}"), id=str(i))
            for i, choice in enumerate(q.choices, 1)
        )
        box.highlighted = min(keep, len(q.choices) - 1)
        box.focus()
        self.query_one("#predict-keys", Label).update(word("predict_keys", lang))

    def answer(self, choice: int | None) -> None:
        """Record the answer to the current question (1-based), then ask the next one."""
        self.answers.append(choice)
        if len(self.answers) >= len(self.questions):
            self.dismiss(self.answers)
            return
        self.query_one("#predict-choices", OptionList).highlighted = 0
        self._show()

    def on_key(self, event: events.Key) -> None:
        if event.character is not None and event.character.isdigit():
            choice = int(event.character)
            if 1 <= choice <= len(self.questions[len(self.answers)].choices):
                event.stop()
                self.answer(choice)

    @on(OptionList.OptionSelected, "#predict-choices")
    def _chosen(self, event: OptionList.OptionSelected) -> None:
        if event.option.id is not None:
            self.answer(int(event.option.id))

    def action_skip(self) -> None:
        missing = len(self.questions) - len(self.answers)
        self.dismiss(self.answers + [None] * missing)


def outcome_text(results: Sequence[PredictionResult], lang: str) -> Text:
    """Each question against the run: your answer, the key, the check, the explanation."""
    out = Text()
    for r in results:
        p = r.predict
        out.append(f"{word('question', lang)} {r.number}. ", style="bold")
        out.append(f"{p.question.get(lang)}\n", style="bold")
        for i, choice in enumerate(p.choices, 1):
            mark = "✓" if i == p.answer else " "
            mine = " ◀ " + word("your_answer", lang) if r.student == i else ""
            style = "bold green" if i == p.answer else ("red" if r.student == i else "")
            out.append(f"  {mark} {i}) {choice.get(lang)}", style=style)
            out.append(f"{mine}\n", style="cyan")
        if r.student is None:
            out.append(f"  {word('no_answer', lang)}", style="dim")
        elif r.student_right:
            out.append(f"  ✓ {word('right', lang)}", style="bold green")
        else:
            out.append(f"  ✗ {word('wrong', lang)}", style="bold red")
        out.append(f" · {word('answer', lang)} {p.answer} · ", style="dim")
        if r.confirmed:
            out.append(f"{word('confirmed', lang)} ({r.detail})\n", style="green")
        else:
            out.append(f"{word('unconfirmed', lang)} ({r.detail})\n", style="bold red")
        out.append(f"  {p.explanation.get(lang)}\n\n", style="italic")
    return out


class OutcomeDialog(ModalScreen[None]):
    """After the run: each prediction against what happened."""

    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("escape,o", "close", "Close"),
        Binding("l", "app.toggle_lang", "EN/한국어"),
    ]

    def __init__(self, results: Sequence[PredictionResult], lang: str) -> None:
        super().__init__()
        self.results = list(results)
        self.lang = lang

    @property
    def evsim(self) -> EvsimApp:
        from tui.app import EvsimApp

        assert isinstance(self.app, EvsimApp)
        return self.app

    def compose(self) -> ComposeResult:
        with VerticalScroll(classes="dialog wide", id="outcome"):
            yield Label("", id="outcome-title")
            yield Static("", id="outcome-body")
            yield Label("", id="outcome-keys", classes="dim")

    def on_mount(self) -> None:
        self.watch(self.app, "lang", self._lang_changed, init=True)

    def _lang_changed(self, lang: str) -> None:
        self.lang = lang
        right = sum(1 for r in self.results if r.student_right)
        answered = sum(1 for r in self.results if r.student is not None)
        title = f"{word('prediction_outcome', lang)} — {right}/{answered or len(self.results)}"
        self.query_one("#outcome-title", Label).update(Text(title, style="bold yellow"))
        self.query_one("#outcome-body", Static).update(outcome_text(self.results, lang))
        self.query_one("#outcome-keys", Label).update(word("close", lang))

    def action_close(self) -> None:
        self.dismiss(None)
