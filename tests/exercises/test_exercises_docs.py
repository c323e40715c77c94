"""docs/exercises.md and its Korean page: linked, and true to what evsim ships."""

from __future__ import annotations

from pathlib import Path

import pytest
from typer.testing import CliRunner

from cli import app
from evsim.guard import LINE_BUDGET
from simulator.lessons.exercises import exercise_names, load_exercise
from simulator.usercode.properties import PROPERTIES

ROOT = Path(__file__).resolve().parents[2]
PAGES = {"en": ROOT / "docs" / "exercises.md", "ko": ROOT / "docs" / "exercises.ko.md"}


def _text(lang: str) -> str:
    return PAGES[lang].read_text(encoding="utf-8")


def test_the_readme_links_both_pages_and_each_page_the_other() -> None:
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    assert "(docs/exercises.md)" in readme and "(docs/exercises.ko.md)" in readme
    assert "[한국어](exercises.ko.md)" in _text("en")
    assert "[English](exercises.md)" in _text("ko")


@pytest.mark.parametrize("lang", sorted(PAGES))
def test_a_page_names_every_exercise_its_code_and_every_property(lang: str) -> None:
    text = _text(lang)
    for name in exercise_names():
        row = f"| `{name}` | `{load_exercise(name).spec.starter}` |"
        assert row in text, f"{PAGES[lang].name} has no row {row}"
    for prop in PROPERTIES:
        assert f"`{prop}`" in text, f"{PAGES[lang].name} does not name {prop}"
    assert f"{LINE_BUDGET:,}" in text


@pytest.mark.parametrize("lang", sorted(PAGES))
def test_every_exercise_command_a_page_shows_exists(lang: str) -> None:
    text = _text(lang)
    shown = {
        line.split("evsim exercise ", 1)[1].split()[0].split("`")[0]
        for line in text.splitlines()
        if "evsim exercise " in line
    }
    assert shown >= {"list", "start", "grade"}
    for command in sorted(shown):
        assert CliRunner().invoke(app, ["exercise", command, "--help"]).exit_code == 0, command
