"""Every built-in lesson is complete and true to its own words.

A lesson is a scenario in ``scenarios/`` that a teacher plays in front of a
class: it must load, speak both languages in every narration beat, state what
it proves (its ``expect`` lines), and actually prove it. Each beat must also
fire during the run — a beat whose trigger never happens is narration no
student will ever see. New lessons are picked up automatically.
"""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from simulator.lessons.summary import summarize
from simulator.scenario import (
    Beat,
    Scenario,
    builtin_names,
    builtin_path,
    load_scenario,
    parse_expectation,
)
from simulator.simulation import Simulation
from simulator.trace import Record

LESSONS = builtin_names()
GUIDE = Path(__file__).resolve().parents[2] / "docs" / "scenarios.md"


def _load(name: str) -> Scenario:
    return load_scenario(builtin_path(name))


def test_there_are_lessons() -> None:
    assert LESSONS, "scenarios/ ships no lesson"


@pytest.mark.parametrize("name", LESSONS)
def test_lesson_loads_with_title_and_summary_in_both_languages(name: str) -> None:
    s = _load(name)
    assert s.name == name
    for field in ("title", "summary"):
        text = getattr(s, field)
        assert text.en.strip(), f"{name}: {field}.en is empty"
        assert text.ko.strip(), f"{name}: {field}.ko is empty"


@pytest.mark.parametrize("name", LESSONS)
def test_every_narration_beat_speaks_english_and_korean(name: str) -> None:
    s = _load(name)
    assert s.narration, f"{name}: a lesson needs narration beats"
    for i, beat in enumerate(s.narration):
        assert beat.text.en.strip(), f"{name}: narration[{i}].text.en is empty"
        assert beat.text.ko.strip(), f"{name}: narration[{i}].text.ko is empty"
        triggered = beat.at_ms is not None or beat.on is not None
        assert triggered, f"{name}: narration[{i}] has no trigger (at_ms or on)"
        if beat.notice is not None:
            assert beat.notice.en.strip(), f"{name}: narration[{i}].notice.en is empty"
            assert beat.notice.ko.strip(), f"{name}: narration[{i}].notice.ko is empty"


@pytest.mark.parametrize("name", LESSONS)
def test_lesson_states_expectations(name: str) -> None:
    s = _load(name)
    assert s.expect, f"{name}: a lesson needs at least one expect line"
    for text in s.expect:
        assert not isinstance(parse_expectation(text), str)


def _fires(beat: Beat, record: Record) -> bool:
    if beat.on is not None:
        return type(record).__name__ == beat.on
    return beat.at_ms is not None and record.at >= beat.at_ms


@pytest.mark.parametrize("name", LESSONS)
def test_lesson_passes_its_expectations_and_every_beat_fires(name: str) -> None:
    s = _load(name)
    sim = Simulation(s)
    summary = summarize(sim)
    failed = [f"{e.name} ({e.detail})" for e in summary.expectations if not e.ok]
    assert summary.ok, f"{name}: expectations failed: {'; '.join(failed)}"
    silent = [
        i
        for i, beat in enumerate(s.narration)
        if not any(_fires(beat, record) for record in sim.trace)
    ]
    assert not silent, f"{name}: narration beats {silent} never fire during the run"


def _worked_examples() -> list[tuple[str, str]]:
    """(lesson name, TOML block) of each "### …: `name`" example in the authoring guide."""
    if not GUIDE.exists():
        return []
    text = GUIDE.read_text(encoding="utf-8")
    pattern = re.compile(r"^### [^\n]*: `([a-z0-9-]+)`\n.*?```toml\n(.*?)\n```", re.S | re.M)
    return [(m[1], m[2]) for m in pattern.finditer(text)]


def test_authoring_guide_has_worked_examples() -> None:
    assert len(_worked_examples()) >= 2


@pytest.mark.parametrize(("name", "block"), _worked_examples())
def test_worked_example_in_the_authoring_guide_is_the_lesson_file(name: str, block: str) -> None:
    """The guide says its examples are copied unchanged from real lessons; keep that true."""
    assert name in LESSONS, f"docs/scenarios.md shows lesson {name!r}, which does not exist"
    lesson = builtin_path(name).read_text(encoding="utf-8").rstrip("\n")
    assert block == lesson, (
        f"the worked example {name!r} in docs/scenarios.md differs from scenarios/{name}.toml; "
        "copy the lesson file into the guide again"
    )


ORDERING_TAG = "ordering"
"""Lessons that show messages processed out of order carry this tag (and say so)."""


@pytest.mark.parametrize("name", LESSONS)
def test_a_lesson_not_about_ordering_processes_nothing_out_of_order(name: str) -> None:
    """The checker's order is per producer and key; a lesson that does not teach ordering must
    not show a single violation of it, or the class sees a finding the narration never explains.
    """
    s = _load(name)
    if ORDERING_TAG in s.tags:
        return
    summary = summarize(Simulation(s))
    assert summary.out_of_order == 0, (
        f"{name}: {summary.out_of_order} processed out of order, but the lesson is not tagged"
        f" {ORDERING_TAG!r}"
    )


@pytest.mark.parametrize("name", LESSONS)
def test_a_lesson_tagged_ordering_shows_something_out_of_order_or_asserts_none(name: str) -> None:
    """The tag is earned: the run shows a violation, or an expectation is about order."""
    s = _load(name)
    if ORDERING_TAG not in s.tags:
        return
    about_order = any(text.strip().startswith("out_of_order") for text in s.expect)
    assert about_order or summarize(Simulation(s)).out_of_order > 0, name
