"""The lesson's shell: its own model's knobs, re-runs that keep the moment, leaving, traces
from files, Korean everywhere, and labels that never run into their values."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest
from textual.widgets import Footer

from simulator.models import registry
from simulator.scenario import Scenario, resolve_scenario
from simulator.simulation import Simulation
from tui.app import EvsimApp
from tui.fold import fold, initial_state
from tui.screens.confirm import ConfirmDialog
from tui.screens.picker import PickerScreen
from tui.screens.settings import SettingsDialog, settings_of
from tui.screens.simulation import SimulationScreen
from tui.views.default import render_flow
from tui.widgets.narration import NarrationPanel

Make = Callable[..., EvsimApp]


def _labels(name: str) -> list[str]:
    return [s.label for s in settings_of(resolve_scenario(name))]


def test_every_model_lists_knobs_in_the_registry() -> None:
    for spec in registry.BUILTIN:
        assert spec.knobs, spec.name
        assert all(k.values for k in spec.knobs)


def test_a_rabbitmq_lesson_offers_prefetch_not_kafka_knobs() -> None:
    labels = _labels("rabbitmq-prefetch")
    assert any(label.endswith("· prefetch") for label in labels)
    assert not any("partitions" in label or "idempotence" in label for label in labels)


def test_an_sqs_lesson_offers_the_visibility_timeout_and_max_receive_count() -> None:
    labels = _labels("sqs-redrive-dlq")
    assert any("VisibilityTimeout" in label for label in labels)
    assert any("maxReceiveCount" in label for label in labels)


def test_a_cqrs_lesson_offers_its_projectors_and_handlers() -> None:
    labels = _labels("cqrs-projector-crash")
    assert any(label.endswith("· kind") for label in labels)


@pytest.mark.parametrize("name", ["rabbitmq-prefetch", "sqs-redrive-dlq", "cqrs-projector-crash"])
def test_every_offered_value_changes_the_scenario_it_names(name: str) -> None:
    scenario = resolve_scenario(name)
    for setting in settings_of(scenario):
        changed = setting.next(scenario)
        assert setting.get(changed) != setting.get(scenario) or len(setting.values) == 1


async def test_leaving_a_changed_lesson_asks_first_and_discard_goes_back(
    make_app: Make, lesson: Scenario, wait_ready: Any
) -> None:
    app = make_app(scenario=lesson)
    async with app.run_test(size=(120, 40)) as pilot:
        screen = await wait_ready(pilot)
        await pilot.press("s", "enter", "a")
        screen = await wait_ready(pilot)
        assert screen.changes() == ["changed_settings"]
        await pilot.press("escape")
        assert isinstance(app.screen, ConfirmDialog)
        await pilot.press("n")
        assert app.screen is screen
        await pilot.press("d")
        screen = await wait_ready(pilot)
        assert screen.changes() == [] and screen.scenario == lesson
        await pilot.pause()
        assert screen.query_one(NarrationPanel).note is None
        await pilot.press("escape")
        assert isinstance(app.screen, PickerScreen)


async def test_the_settings_dialog_turns_motion_off(
    make_app: Make, lesson: Scenario, wait_ready: Any
) -> None:
    app = make_app(scenario=lesson)
    async with app.run_test(size=(120, 40)) as pilot:
        await wait_ready(pilot)
        await pilot.press("s")
        dialog = app.screen
        assert isinstance(dialog, SettingsDialog)
        await pilot.press("end", "enter", "a")
        assert app.motion is False


async def test_a_trace_of_a_shipped_lesson_brings_back_its_narration(
    make_app: Make, wait_ready: Any
) -> None:
    records = Simulation(resolve_scenario("partitions-and-offsets")).run().records
    app = make_app(trace=(records, "partitions.jsonl", None))
    async with app.run_test(size=(120, 40)) as pilot:
        screen = await wait_ready(pilot)
        assert screen.run is not None and screen.run.beats
        assert screen.sub_title == "Partitions and offsets"
        await pilot.press("f")  # still nothing to re-run from a file
        assert isinstance(app.screen, SimulationScreen)


async def test_a_trace_of_an_unknown_lesson_says_so(
    make_app: Make, lesson: Scenario, wait_ready: Any
) -> None:
    records = Simulation(lesson).run().records
    app = make_app(trace=(records, "lesson.jsonl", None))
    async with app.run_test(size=(120, 40)) as pilot:
        screen = await wait_ready(pilot)
        assert screen.run is not None and not screen.run.beats
        assert screen.run.warning is not None and "does not ship" in screen.run.warning


async def test_the_footer_speaks_korean(make_app: Make, lesson: Scenario, wait_ready: Any) -> None:
    app = make_app(scenario=lesson, lang="ko")
    async with app.run_test(size=(120, 40)) as pilot:
        screen = await wait_ready(pilot)
        names = {b.description for _, b, _, _ in screen.active_bindings.values()}
        assert "재생/정지" in names and "Play/pause" not in names
        await pilot.press("l")
        names = {b.description for _, b, _, _ in screen.active_bindings.values()}
        assert "Play/pause" in names
        assert screen.query_one(Footer)


def test_labels_never_run_into_values() -> None:
    """A long consumer or producer name is cut with … and a space before its state."""
    from simulator.trace import Delivered, MemberJoined, Produced

    long = "at-least-once-consumer-with-a-very-long-name-0"
    records = [
        MemberJoined(seq=0, at=0, component="g", group="g", consumer=long),
        Produced(seq=1, at=0, component="p" * 30, producer="p" * 30, msg=1, key=None,
                 key_seq=1, topic="t"),
        Delivered(seq=2, at=1, component=long, group="g", consumer=long, msg=1, key=None,
                  topic="t", partition=0, offset=0, redelivered=False),
    ]  # fmt: skip
    text = render_flow(fold(initial_state(), records), 80, "en").plain
    assert "… running" in text or "…  running" in text
    assert "… produced" in text


def test_every_binding_has_its_korean_name_and_sentence() -> None:
    from textual.binding import Binding

    from simulator.lessons.words import WORDS
    from tui.screens.learn import LearnScreen

    screens = (SimulationScreen, PickerScreen, LearnScreen, EvsimApp)
    for b in (b for cls in screens for b in cls.BINDINGS if isinstance(b, Binding)):
        action = b.action.split("(", 1)[0]
        assert f"key_{action}" in WORDS and f"tip_{action}" in WORDS, action
