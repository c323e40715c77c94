"""The course covers the study guide, and every lesson has a place in it.

The study guide (``../shared/seed/…`` beside the repository, in Korean) lists the topics of the
curriculum in its section 2 and three case studies in section 3. The course
file ``scenarios/course/path.toml`` maps each of them to lessons; these tests
hold that map to the lessons that actually ship.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from simulator.errors import InputError
from simulator.lessons.course import Course, load_course
from simulator.scenario import builtin_names

ROOT = Path(__file__).resolve().parents[2]
GUIDE_DIR = ROOT / "docs" / "guide"
SEED = ROOT.parent / "shared" / "seed" / "000_76666878641cfd54.txt"
LESSONS = builtin_names()

STUDY_GUIDE_TOPICS = {
    # section 2: 주요 학습 주제, one id per bullet, in the guide's order
    "events-and-propagation": "introduction",
    "pros-and-cons": "introduction",
    "kafka-rabbitmq-sqs-compared": "message-queues",
    "broker-role-durability-retries-flow": "message-queues",
    "crud-vs-event-sourcing": "event-sourcing",
    "event-log-and-replay": "event-sourcing",
    "command-query-split": "cqrs",
    "read-optimization-and-domain-logic": "cqrs",
    "cqrs-with-event-sourcing": "cqrs",
    "ordering-duplicates-consistency": "in-practice",
    "stream-processing": "in-practice",
    "adoption-and-operations": "in-practice",
}
CASE_STUDIES = {"uber": "Uber", "netflix": "Netflix", "amazon": "Amazon"}


@pytest.fixture(scope="module")
def course() -> Course:
    return load_course()


def test_course_loads_and_names_only_existing_lessons(course: Course) -> None:
    assert course.path(), "the course path is empty"
    missing = [name for name in course.path() if name not in LESSONS]
    assert not missing


def test_every_lesson_has_exactly_one_place_on_the_course_path(course: Course) -> None:
    path = course.path()
    off = [name for name in LESSONS if name not in path]
    assert not off, (
        f"lessons with no place in the course: {off}; add each to a chapter's lessons in "
        "scenarios/course/path.toml (and to the study-guide topics it demonstrates)"
    )
    assert len(path) == len(set(path))


def test_topics_are_exactly_the_study_guide_bullets_and_case_studies(course: Course) -> None:
    section2 = {t.id: t.chapter for t in course.topics if t.section == 2}
    section3 = {t.id for t in course.topics if t.section == 3}
    assert section2 == STUDY_GUIDE_TOPICS
    assert section3 == set(CASE_STUDIES)


@pytest.mark.skipif(not SEED.exists(), reason="the study guide is not available here")
def test_topic_quotes_are_the_study_guides_own_words(course: Course) -> None:
    text = SEED.read_text(encoding="utf-8")
    for topic in course.topics:
        assert topic.study_guide in text, f"{topic.id}: {topic.study_guide!r} not in the guide"


@pytest.mark.parametrize("topic_id", [*STUDY_GUIDE_TOPICS, *CASE_STUDIES])
def test_every_topic_is_demonstrated_by_a_lesson(course: Course, topic_id: str) -> None:
    topic = next(t for t in course.topics if t.id == topic_id)
    shipped = [name for name in topic.coming if name in LESSONS]
    assert not shipped, f"{topic_id}: {shipped} shipped; move them from coming to lessons"
    if not topic.lessons and topic.coming:
        pytest.xfail(f"{topic_id}: only announced lessons so far ({', '.join(topic.coming)})")
    assert topic.lessons, f"{topic_id}: no lesson demonstrates this topic"
    assert all(name in LESSONS for name in topic.lessons)


def test_case_studies_come_last_on_the_path(course: Course) -> None:
    assert course.chapters[-1].id == "case-studies"
    for cid in ("uber", "netflix", "amazon"):
        topic = next(t for t in course.topics if t.id == cid)
        assert any(course.chapter_of(name) is not None for name in topic.lessons)


def test_every_chapter_has_a_concept_page_in_both_languages(course: Course) -> None:
    for chapter in course.chapters:
        for lang in ("en", "ko"):
            page = GUIDE_DIR / lang / chapter.guide
            assert page.exists(), f"{chapter.id}: missing {page.relative_to(ROOT)}"


def test_a_course_naming_a_missing_lesson_is_refused_with_its_path(tmp_path: Path) -> None:
    bad = tmp_path / "course.toml"
    bad.write_text(
        '[[chapters]]\nid = "a"\nguide = "a.md"\ntitle = { en = "A", ko = "가" }\n'
        'lessons = ["no-such-lesson"]\n',
        encoding="utf-8",
    )
    with pytest.raises(InputError) as err:
        load_course(bad)
    assert "$.chapters[0].lessons[0]" in str(err.value)


def test_a_lesson_twice_on_the_path_is_refused(tmp_path: Path) -> None:
    bad = tmp_path / "course.toml"
    chapter = '[[chapters]]\nid = "{id}"\nguide = "a.md"\ntitle = {{ en = "A", ko = "가" }}\n'
    chapter += 'lessons = ["keyed-ordering"]\n'
    bad.write_text(chapter.format(id="a") + chapter.format(id="b"), encoding="utf-8")
    with pytest.raises(InputError, match="already on the path"):
        load_course(bad)


def test_steps_number_the_path_in_order(course: Course) -> None:
    steps = course.steps()
    assert [s.number for s in steps] == list(range(1, len(course.path()) + 1))
    assert [s.lesson for s in steps] == course.path()
