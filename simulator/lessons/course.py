"""The course path: the lessons in teaching order, and the study-guide topics they cover.

A lesson shows one idea; a course puts ideas in an order where each builds on
the last — a partition and an offset before a commit, a commit before a crash
between commit and processing, a broker before a comparison of brokers, and
the case studies last, when every piece they use has been seen on its own.
``scenarios/course/path.toml`` holds that order as chapters (each with a concept
page in ``docs/guide/``) and maps every topic of the study guide to the lessons
that demonstrate it. This module loads and checks the file; it is pure, so the
CLI (``evsim list --path``) and the TUI read the same course.
"""

from __future__ import annotations

from importlib import resources
from pathlib import Path
from typing import Annotated, Literal

import msgspec

from simulator.errors import InputError
from simulator.scenario import Text, builtin_names

__all__ = ["Chapter", "Course", "Step", "Topic", "builtin_course_path", "load_course"]


class _Spec(msgspec.Struct, kw_only=True, forbid_unknown_fields=True, frozen=True):
    """Keyword-only, frozen, unknown fields refused: a typo names its ``$.path``."""


class Chapter(_Spec, frozen=True):
    """One chapter: a concept page in ``docs/guide/<lang>/`` and its lessons, in order."""

    id: str
    title: Text
    guide: str
    """The page's file name, the same in ``docs/guide/en/`` and ``docs/guide/ko/``."""
    lessons: list[str] = []


class Topic(_Spec, frozen=True):
    """A bullet of the study guide and the lessons that demonstrate it."""

    id: str
    section: Literal[2, 3]
    """Section of the study guide: 2 (topics to learn) or 3 (case studies)."""
    chapter: str
    study_guide: Annotated[str, msgspec.Meta(min_length=1)]
    """The bullet's words, quoted from the (Korean) study guide."""
    lessons: list[str] = []
    coming: list[str] = []
    """Lessons announced for this topic but not shipped yet."""


class Course(_Spec, frozen=True):
    chapters: list[Chapter]
    topics: list[Topic] = []

    def path(self) -> list[str]:
        """Every lesson of the course, in teaching order."""
        return [name for chapter in self.chapters for name in chapter.lessons]

    def steps(self) -> list[Step]:
        """The path with each lesson's place: step number and chapter."""
        out: list[Step] = []
        for chapter in self.chapters:
            for name in chapter.lessons:
                out.append(Step(number=len(out) + 1, lesson=name, chapter=chapter))
        return out

    def chapter(self, chapter_id: str) -> Chapter:
        for chapter in self.chapters:
            if chapter.id == chapter_id:
                return chapter
        raise KeyError(chapter_id)

    def chapter_of(self, lesson: str) -> Chapter | None:
        """The chapter a lesson belongs to, or None if it has no place in the course."""
        for chapter in self.chapters:
            if lesson in chapter.lessons:
                return chapter
        return None

    def topics_of(self, lesson: str) -> list[Topic]:
        """The study-guide topics a lesson demonstrates."""
        return [t for t in self.topics if lesson in t.lessons]


class Step(msgspec.Struct, frozen=True, kw_only=True):
    """A lesson's place on the course path."""

    number: int
    lesson: str
    chapter: Chapter


def builtin_course_path() -> Path:
    """The course file shipped in the ``scenarios`` package."""
    return Path(str(resources.files("scenarios").joinpath("course", "path.toml")))


def load_course(path: str | Path | None = None, *, known: list[str] | None = None) -> Course:
    """Load and check a course file (default: the built-in one).

    Every lesson it names must exist (``known``: the built-in lessons unless
    given) and appear at most once on the path; topics must name a chapter.
    Raises ``InputError`` with the file and ``$.path`` of the first problem.
    """
    p = builtin_course_path() if path is None else Path(path)
    file = str(p)
    try:
        text = p.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise InputError(file, "", "no such file") from None
    except (OSError, UnicodeDecodeError) as err:
        raise InputError(file, "", f"cannot read course file: {err}") from None
    import tomllib

    try:
        raw = tomllib.loads(text)
    except tomllib.TOMLDecodeError as err:
        raise InputError(file, "", f"invalid TOML: {err}") from None
    try:
        course = msgspec.convert(raw, type=Course, strict=True)
    except msgspec.ValidationError as err:
        message, _, where = str(err).partition(" - at `")
        raise InputError(file, where.rstrip("`") or "$", message) from None
    _check(course, file, builtin_names() if known is None else known)
    return course


def _check(course: Course, file: str, known: list[str]) -> None:
    chapter_ids: list[str] = []
    seen: dict[str, str] = {}
    for i, chapter in enumerate(course.chapters):
        if chapter.id in chapter_ids:
            raise InputError(file, f"$.chapters[{i}].id", f"duplicate chapter {chapter.id!r}")
        chapter_ids.append(chapter.id)
        for j, name in enumerate(chapter.lessons):
            where = f"$.chapters[{i}].lessons[{j}]"
            if name not in known:
                raise InputError(file, where, f"no lesson named {name!r} in scenarios/")
            if name in seen:
                raise InputError(file, where, f"{name!r} is already on the path in {seen[name]!r}")
            seen[name] = chapter.id
    topic_ids: list[str] = []
    for i, topic in enumerate(course.topics):
        if topic.id in topic_ids:
            raise InputError(file, f"$.topics[{i}].id", f"duplicate topic {topic.id!r}")
        topic_ids.append(topic.id)
        if topic.chapter not in chapter_ids:
            raise InputError(file, f"$.topics[{i}].chapter", f"unknown chapter {topic.chapter!r}")
        for j, name in enumerate(topic.lessons):
            if name not in known:
                where = f"$.topics[{i}].lessons[{j}]"
                raise InputError(file, where, f"no lesson named {name!r} in scenarios/")
