"""Narration drives the eye: a beat's focus highlights its components and dims the rest."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import msgspec
import pytest

from simulator.errors import InputError
from simulator.models.registry import scenario_schema
from simulator.scenario import Beat, Scenario, Text, validate
from tui.app import EvsimApp
from tui.widgets.flow import FOCUSED, FlowView

Make = Callable[..., EvsimApp]


def _with_focus(lesson: Scenario, *names: str) -> Scenario:
    beats = list(lesson.narration)
    beats[0] = msgspec.structs.replace(beats[0], focus=list(names))
    return msgspec.structs.replace(lesson, narration=beats)


def test_a_beat_may_name_components_the_lesson_has(lesson: Scenario) -> None:
    validate(_with_focus(lesson, "checkout", "orders/2", "billing-1", "billing"), "lesson.toml")
    with pytest.raises(InputError) as err:
        validate(_with_focus(lesson, "orders/9"), "lesson.toml")
    assert "$.narration[0].focus[0]" in str(err.value) and "orders/9" in str(err.value)


def test_the_json_schema_shows_focus() -> None:
    beat = scenario_schema()["$defs"]["Beat"]
    assert beat["properties"]["focus"]["type"] == "array"
    assert "dims the rest" in json.dumps(beat)


def test_a_beat_without_focus_is_unchanged() -> None:
    beat = Beat(text=Text(en="a", ko="가"))
    assert beat.focus == []


async def test_focused_lines_are_highlighted_and_the_rest_dimmed(
    make_app: Make, lesson: Scenario, wait_ready: Any
) -> None:
    app = make_app(scenario=_with_focus(lesson, "orders/1"))
    async with app.run_test(size=(120, 40)) as pilot:
        screen = await wait_ready(pilot)
        assert screen.run is not None and screen.run.triggers[1] is not None
        screen.seek(screen.run.triggers[1])  # the first beat is still current
        await pilot.pause()
        flow = screen.query_one(FlowView)
        assert flow.focus_names == frozenset({"orders/1"})
        pic = flow.picture()
        y = pic.anchors["orders/1"].y
        focused = flow.render_line(y)
        assert all(seg.style is None or seg.style.bold for seg in focused if seg.text.strip())
        assert any(
            seg.style is not None and seg.style.bgcolor == FOCUSED.bgcolor for seg in focused
        )
        other = flow.render_line(pic.anchors["orders/0"].y)
        assert all(seg.style is not None and seg.style.dim for seg in other if seg.text.strip())


async def test_by_default_the_focus_is_the_beats_own_record(
    make_app: Make, lesson: Scenario, wait_ready: Any
) -> None:
    app = make_app(scenario=lesson)
    async with app.run_test(size=(120, 40)) as pilot:
        screen = await wait_ready(pilot)
        assert screen.run is not None
        crash_beat = 1  # on = "Crashed": billing-0 crashes
        seq = screen.run.triggers[crash_beat]
        assert seq is not None
        screen.seek(seq + 1)
        await pilot.pause()
        assert "billing-0" in screen.query_one(FlowView).focus_names


def test_docs_describe_focus() -> None:
    text = (Path(__file__).resolve().parents[2] / "docs" / "scenarios.md").read_text()
    assert "`focus`" in text and "dims everything else" in text
