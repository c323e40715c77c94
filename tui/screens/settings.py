"""Settings: change a knob of the lesson and re-run the deterministic core.

The knobs are the lesson's own model's, as its ``ModelSpec.knobs`` lists them
(a RabbitMQ lesson offers prefetch, an SQS lesson the visibility timeout and
``maxReceiveCount``), then the event store's and projectors' when the lesson
has them, then the player's own: motion on or off.

The scenario is frozen; each change builds a new one with
``msgspec.structs.replace``, and the result is checked with the same
``validate`` a scenario file goes through, so the dialog can never start a run
the file format would refuse. Enter cycles a setting through its values.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, ClassVar

import msgspec
from rich.text import Text
from textual import on
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Vertical
from textual.screen import ModalScreen
from textual.widgets import Label, OptionList
from textual.widgets.option_list import Option

from simulator.errors import InputError
from simulator.lessons.words import word
from simulator.models import registry
from simulator.models.spec import Knob
from simulator.scenario import Scenario, validate
from tui.i18n import column

__all__ = ["STORE_KNOBS", "Setting", "SettingsDialog", "settings_of"]

replace = msgspec.structs.replace


@dataclass(frozen=True, slots=True)
class Setting:
    label: str
    values: tuple[Any, ...]
    get: Callable[[Scenario], Any]
    set: Callable[[Scenario, Any], Scenario]

    def next(self, scenario: Scenario) -> Scenario:
        current = self.get(scenario)
        i = self.values.index(current) if current in self.values else -1
        return self.set(scenario, self.values[(i + 1) % len(self.values)])


STORE_KNOBS = (
    Knob(scope="projector", field="kind", values=("naive", "idempotent", "atomic")),
    Knob(scope="projector", field="batch", values=(1, 5, 10, 50)),
    Knob(scope="projector", field="poll_ms", values=(5, 20, 100)),
    Knob(scope="handler", field="concurrency", values=("expected-version", "ignore")),
    Knob(scope="handler", field="snapshot_every", values=(0, 2, 5, 10)),
    Knob(scope="store", field="publish", values=("none", "dual-write", "outbox")),
    Knob(scope="store", field="writers", values=("concurrent", "single")),
)
"""The event store's and projectors' knobs: shown in every lesson that has them."""

_TABLES = {
    "topic": "topics",
    "producer": "producers",
    "group": "groups",
    "handler": "handlers",
    "projector": "projectors",
}


def _kafka_producer_rules(p: Any, field: str, value: Any) -> Any:
    """Kafka refuses idempotence without acks=all; follow the student's last choice."""
    if field == "idempotent" and value:
        p = replace(p, acks="all", max_in_flight=min(p.max_in_flight, 5))
    if field == "acks" and value != "all":
        p = replace(p, idempotent=False)
    if field == "max_in_flight" and value > 5:
        p = replace(p, idempotent=False)
    return p


def _knob_setting(knob: Knob, index: int | None, owner: str, broker: str) -> Setting:
    """A ``Setting`` that reads and writes ``knob`` in entry ``index`` of its table."""
    table = _TABLES.get(knob.scope)

    def holder(s: Scenario) -> Any:
        if table is None:
            return s if knob.scope == "scenario" else getattr(s, knob.scope)
        assert index is not None
        return getattr(s, table)[index]

    def get(s: Scenario) -> Any:
        value = holder(s)
        if knob.section is not None:
            value = getattr(value, knob.section)
        return getattr(value, knob.field)

    def set_(s: Scenario, value: Any) -> Scenario:
        entry = holder(s)
        if knob.section is not None:
            inner = replace(getattr(entry, knob.section), **{knob.field: value})
            entry = replace(entry, **{knob.section: inner})
        else:
            entry = replace(entry, **{knob.field: value})
            if knob.scope == "producer" and broker == "log":
                entry = _kafka_producer_rules(entry, knob.field, value)
        if table is None:
            return entry if knob.scope == "scenario" else replace(s, **{knob.scope: entry})
        entries = list(getattr(s, table))
        assert index is not None
        entries[index] = entry
        return replace(s, **{table: entries})

    label = f"{owner} · {knob.name}" if owner else knob.name
    return Setting(label, knob.values, get, set_)


def _offered(knob: Knob, s: Scenario) -> list[tuple[int | None, str]]:
    """The entries of the knob's table it applies to (index, name); none if it cannot apply."""
    table = _TABLES.get(knob.scope)
    if table is None:
        holder = s if knob.scope == "scenario" else getattr(s, knob.scope, None)
        if holder is None or (knob.section and getattr(holder, knob.section, None) is None):
            return []
        return [(None, "")]
    out: list[tuple[int | None, str]] = []
    for i, entry in enumerate(getattr(s, table)):
        holder = getattr(entry, knob.section, None) if knob.section else entry
        if holder is None or isinstance(getattr(holder, knob.field, None), list):
            continue
        out.append((i, entry.name))
    return out


def settings_of(scenario: Scenario) -> list[Setting]:
    """The lesson's own model's knobs (from the registry), then the store's and projectors'."""
    try:
        knobs = registry.model(scenario.broker).knobs
    except registry.UnknownModel:
        knobs = ()
    out: list[Setting] = []
    for knob in (*knobs, *STORE_KNOBS):
        if knob.scope == "store" and not (scenario.handlers or scenario.projectors):
            continue
        for index, owner in _offered(knob, scenario):
            out.append(_knob_setting(knob, index, owner, scenario.broker))
    return out


class SettingsDialog(ModalScreen[tuple[Scenario, bool] | None]):
    """Enter cycles the highlighted setting; ``a`` applies and re-runs; escape cancels.

    Dismissed with the edited scenario and the motion switch, or None (cancelled).
    """

    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("a", "apply", "Apply & re-run"),
        Binding("escape", "cancel", "Cancel"),
    ]

    def __init__(
        self, scenario: Scenario, *, motion: bool = True, lesson: Scenario | None = None
    ) -> None:
        super().__init__()
        self.original = self.scenario = scenario
        self.lesson = lesson or scenario
        """The lesson as written: a value that differs from it is marked ≠."""
        self.settings = settings_of(scenario)
        self.motion = motion

    def _lang(self) -> str:
        return str(getattr(self.app, "lang", "en"))

    def compose(self) -> ComposeResult:
        lang = self._lang()
        with Vertical(classes="dialog wide", id="settings"):
            title = Text(word("settings", lang), style="bold")
            title.append(f" — {word('settings_keys', lang)}", style="")
            yield Label(title)
            yield OptionList(*self._options(), id="settings-list")
            yield Label("", id="settings-error")

    def _options(self) -> list[Option]:
        lang = self._lang()
        width = max((len(s.label) for s in self.settings), default=20)
        width = min(48, max(24, width))
        out = []
        for i, s in enumerate(self.settings):
            value = s.get(self.scenario)
            mark = " *" if value != s.get(self.original) else ""
            if value != s.get(self.lesson):
                mark += f"  ≠ {word('as_written', lang)}"
            shown = str(value).lower() if isinstance(value, bool) else str(value)
            line = Text(no_wrap=True, overflow="ellipsis")
            line.append(column(s.label, width))
            line.append(" ")
            line.append(shown, style="bold")
            line.append(mark, style="yellow")
            out.append(Option(line, id=str(i)))
        motion = Text(no_wrap=True)
        motion.append(column(word("motion", lang), width))
        motion.append(" ")
        motion.append(word("on" if self.motion else "off", lang), style="bold")
        out.append(Option(motion, id="motion"))
        return out

    @on(OptionList.OptionSelected)
    def _cycle(self, event: OptionList.OptionSelected) -> None:
        assert event.option.id is not None
        box = self.query_one(OptionList)
        if event.option.id == "motion":
            self.motion = not self.motion
            i = len(self.settings)
        else:
            i = int(event.option.id)
            self.scenario = self.settings[i].next(self.scenario)
        box.clear_options()
        box.add_options(self._options())
        box.highlighted = i
        self.query_one("#settings-error", Label).update(Text(self._problem() or ""))

    def _problem(self) -> str | None:
        try:
            validate(self.scenario, "settings")
        except InputError as err:
            return str(err)
        return None

    def action_apply(self) -> None:
        problem = self._problem()
        if problem:
            self.notify(problem, severity="error", markup=False)
            return
        self.dismiss((self.scenario, self.motion))

    def action_cancel(self) -> None:
        self.dismiss(None)
