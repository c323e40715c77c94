"""Settings: change a knob of the lesson and re-run the deterministic core.

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
from simulator.scenario import Scenario, validate

__all__ = ["Setting", "SettingsDialog", "settings_of"]

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


def _group_setting(i: int, field: str, values: tuple[Any, ...], label: str) -> Setting:
    def get(s: Scenario) -> Any:
        value = getattr(s.groups[i], field)
        return len(value) if isinstance(value, list) else value

    def set_(s: Scenario, value: Any) -> Scenario:
        groups = list(s.groups)
        groups[i] = replace(groups[i], **{field: value})
        return replace(s, groups=groups)

    return Setting(label, values, get, set_)


def _topic_setting(i: int, label: str) -> Setting:
    def set_(s: Scenario, value: Any) -> Scenario:
        topics = list(s.topics)
        topics[i] = replace(topics[i], partitions=value)
        return replace(s, topics=topics)

    return Setting(label, (1, 2, 3, 4, 6, 8, 12), lambda s: s.topics[i].partitions, set_)


def _producer_setting(i: int, field: str, values: tuple[Any, ...], label: str) -> Setting:
    def set_(s: Scenario, value: Any) -> Scenario:
        producers = list(s.producers)
        p = replace(producers[i], **{field: value})
        # Kafka refuses idempotence without acks=all; follow the student's last choice.
        if field == "idempotent" and value:
            p = replace(p, acks="all", max_in_flight=min(p.max_in_flight, 5))
        if field == "acks" and value != "all":
            p = replace(p, idempotent=False)
        if field == "max_in_flight" and value > 5:
            p = replace(p, idempotent=False)
        producers[i] = p
        return replace(s, producers=producers)

    return Setting(label, values, lambda s: getattr(s.producers[i], field), set_)


def settings_of(scenario: Scenario) -> list[Setting]:
    """The knobs worth turning in this lesson (partitions and assignors only for the log)."""
    log = scenario.broker == "log"
    out: list[Setting] = []
    for i, g in enumerate(scenario.groups):
        out.append(
            _group_setting(
                i,
                "commit",
                ("auto", "before-process", "after-process", "transactional"),
                f"{g.name} · commit",
            )
        )
        if log:
            out.append(
                _group_setting(i, "commit_every", ("batch", "message"), f"{g.name} · commit every")
            )
        out.append(_group_setting(i, "consumers", (1, 2, 3, 4, 6, 8), f"{g.name} · consumers"))
        if log:
            out.append(
                _group_setting(
                    i, "assignor", ("range", "round-robin", "sticky"), f"{g.name} · assignor"
                )
            )
    for i, tp in enumerate(scenario.topics if log else []):
        out.append(_topic_setting(i, f"{tp.name} · partitions"))
    for i, p in enumerate(scenario.producers):
        out.append(_producer_setting(i, "idempotent", (True, False), f"{p.name} · idempotent"))
        out.append(_producer_setting(i, "acks", (0, 1, "all"), f"{p.name} · acks"))
        out.append(_producer_setting(i, "max_in_flight", (1, 5, 10), f"{p.name} · max in flight"))
    return out


class SettingsDialog(ModalScreen[Scenario | None]):
    """Enter cycles the highlighted setting; ``a`` applies and re-runs; escape cancels."""

    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("a", "apply", "Apply & re-run"),
        Binding("escape", "cancel", "Cancel"),
    ]

    def __init__(self, scenario: Scenario) -> None:
        super().__init__()
        self.original = self.scenario = scenario
        self.settings = settings_of(scenario)

    def compose(self) -> ComposeResult:
        with Vertical(classes="dialog wide", id="settings"):
            yield Label(
                "[b]Settings[/b] — enter: change · a: apply and re-run · escape: cancel",
                markup=True,
            )
            yield OptionList(*self._options(), id="settings-list")
            yield Label("", id="settings-error")

    def _options(self) -> list[Option]:
        out = []
        for i, s in enumerate(self.settings):
            value = s.get(self.scenario)
            changed = value != s.get(self.original)
            mark = " *" if changed else ""
            shown = str(value).lower() if isinstance(value, bool) else str(value)
            out.append(Option(Text(f"{s.label:<34} {shown}{mark}"), id=str(i)))
        return out

    @on(OptionList.OptionSelected)
    def _cycle(self, event: OptionList.OptionSelected) -> None:
        assert event.option.id is not None
        i = int(event.option.id)
        self.scenario = self.settings[i].next(self.scenario)
        box = self.query_one(OptionList)
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
        self.dismiss(self.scenario)

    def action_cancel(self) -> None:
        self.dismiss(None)
