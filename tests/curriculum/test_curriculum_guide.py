"""The concept guides point only at lessons that exist, and quote runs truthfully.

``docs/guide/en`` and ``docs/guide/ko`` hold the same chapters. Every
``evsim play NAME`` (and ``compare``/``report``) in them must name a shipped
lesson — a lesson still being written is described as "lesson coming", never
linked — every relative link must resolve, and the comparison quoted in the
message-queues chapter must be what ``evsim compare`` prints today.
"""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from simulator.lessons.compare import compare
from simulator.lessons.course import load_course
from simulator.scenario import builtin_names, builtin_path, load_scenario

ROOT = Path(__file__).resolve().parents[2]
GUIDE = ROOT / "docs" / "guide"
LANGS = ("en", "ko")
LESSONS = builtin_names()
PAGES = sorted((GUIDE / "en").glob("*.md")) + sorted((GUIDE / "ko").glob("*.md"))
COMMAND = re.compile(r"evsim (?:play|compare|report) ([a-z0-9][a-z0-9-]*)")
LINK = re.compile(r"\]\(([^)\s]+)\)")


def _id(page: Path) -> str:
    return f"{page.parent.name}/{page.name}"


def _slug(heading: str) -> str:
    """GitHub's anchor for a heading: lower case, punctuation dropped, spaces to dashes."""
    text = re.sub(r"[^\w\- ]", "", heading.strip().lower())
    return text.replace(" ", "-")


def test_both_languages_have_the_same_chapters() -> None:
    en = sorted(p.name for p in (GUIDE / "en").glob("*.md"))
    ko = sorted(p.name for p in (GUIDE / "ko").glob("*.md"))
    assert en == ko
    assert len(en) >= 6


@pytest.mark.parametrize("page", PAGES, ids=_id)
def test_every_lesson_a_guide_runs_exists(page: Path) -> None:
    text = page.read_text(encoding="utf-8")
    missing = sorted({m for m in COMMAND.findall(text) if m not in LESSONS})
    assert not missing, f"{_id(page)} runs lessons that do not exist: {missing}"


@pytest.mark.parametrize("page", PAGES, ids=_id)
def test_every_relative_link_and_anchor_resolves(page: Path) -> None:
    text = page.read_text(encoding="utf-8")
    for target in LINK.findall(text):
        if target.startswith(("http://", "https://")):
            continue
        path, _, anchor = target.partition("#")
        file = (page.parent / path).resolve() if path else page
        assert file.exists(), f"{_id(page)}: broken link {target}"
        if anchor and file.suffix == ".md":
            headings = re.findall(r"^#+ (.+)$", file.read_text(encoding="utf-8"), re.M)
            assert anchor in {_slug(h) for h in headings}, f"{_id(page)}: no anchor {target}"


@pytest.mark.parametrize("lang", LANGS)
def test_each_chapter_page_runs_every_lesson_of_its_chapter(lang: str) -> None:
    for chapter in load_course().chapters:
        text = (GUIDE / lang / chapter.guide).read_text(encoding="utf-8")
        named = set(COMMAND.findall(text))
        absent = [name for name in chapter.lessons if name not in named]
        assert not absent, f"{lang}/{chapter.guide} never runs {absent}"


@pytest.mark.parametrize("lang", LANGS)
def test_lessons_marked_with_a_question_ask_one(lang: str) -> None:
    for page in sorted((GUIDE / lang).glob("*.md")):
        text = page.read_text(encoding="utf-8")
        for name in re.findall(r"evsim play ([a-z0-9-]+)` \*\*\?\*\*", text):
            assert load_scenario(builtin_path(name)).predict, f"{_id(page)}: {name} asks nothing"


def _quoted_rows(text: str) -> dict[str, list[int]]:
    block = text.split("$ evsim compare three-brokers --vary broker", 1)[1].split("```", 1)[0]
    rows: dict[str, list[int]] = {}
    for line in block.splitlines():
        cells = [c.strip() for c in line.split("│")]
        if len(cells) == 9 and cells[1].isdigit():
            rows[cells[0].rstrip(" *")] = [int(c) for c in cells[1:]]
    return rows


@pytest.mark.parametrize("lang", LANGS)
def test_the_quoted_broker_comparison_is_what_evsim_compare_prints(lang: str) -> None:
    text = (GUIDE / lang / "02-message-queues.md").read_text(encoding="utf-8")
    quoted = _quoted_rows(text)
    variants = compare(load_scenario(builtin_path("three-brokers")), "broker")
    actual = {}
    for v in variants:
        s = v.summary
        assert s is not None
        counts = [s.produced, s.processed, s.lost, s.duplicates, s.out_of_order]
        actual[v.label] = [*counts, s.dead_lettered, s.retries, v.max_latency_ms or 0]
    assert quoted == actual, "re-run `evsim compare three-brokers --vary broker` and re-quote it"


@pytest.mark.parametrize("lang", LANGS)
def test_chapter_pages_mark_every_lesson_that_asks_a_question(lang: str) -> None:
    for chapter in load_course().chapters:
        text = (GUIDE / lang / chapter.guide).read_text(encoding="utf-8")
        for name in chapter.lessons:
            if load_scenario(builtin_path(name)).predict:
                assert f"`evsim play {name}` **?**" in text, (
                    f"{lang}/{chapter.guide}: mark {name} ?"
                )
