"""The course in the TUI: lessons in course order, the Learn page, predict-then-run,
and the event-store panel, driven with Pilot."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import msgspec
from textual.widgets import OptionList

from simulator.lessons.course import Chapter, Course
from simulator.scenario import Predict, Scenario, Text
from simulator.trace import Record
from tui.app import EvsimApp
from tui.fold import fold, initial_state
from tui.guide import guide_page
from tui.screens.learn import LearnScreen, readable_links
from tui.screens.picker import Lesson, PickerScreen
from tui.screens.predict import OutcomeDialog, PredictDialog
from tui.screens.simulation import SimulationScreen
from tui.widgets.store import StorePanel

Make = Callable[..., EvsimApp]


def _course() -> Course:
    return Course(
        chapters=[
            Chapter(
                id="intro",
                title=Text(en="Events first", ko="이벤트 먼저"),
                guide="01-introduction.md",
                lessons=["second"],
            ),
            Chapter(
                id="queues",
                title=Text(en="Message queues", ko="메시지 큐"),
                guide="02-message-queues.md",
                lessons=["crash-replay"],
            ),
        ]
    )


def _prompts(box: OptionList) -> list[str]:
    return [str(box.get_option_at_index(i).prompt).split("\n")[0] for i in range(box.option_count)]


async def test_picker_lists_chapters_then_lessons_in_course_order(
    lesson: Scenario, lessons: list[Lesson], make_app: Make, wait_ready: Any
) -> None:
    second = msgspec.structs.replace(
        lesson, name="second", title=Text(en="Second lesson", ko="두 번째 레슨")
    )
    app = make_app(lessons=[*lessons, Lesson("second", second)], course=_course())
    async with app.run_test(size=(120, 40)) as pilot:
        assert isinstance(app.screen, PickerScreen)
        box = app.screen.query_one("#lessons", OptionList)
        assert _prompts(box) == [
            "1. Events first",
            "Second lesson",
            "2. Message queues",
            lesson.title.en,
            "More lessons",
            "broken",
        ]
        assert box.highlighted == 1  # the first lesson, not a heading
        await pilot.press("l")
        assert _prompts(box)[0] == "1. 이벤트 먼저"
        assert "1. 이벤트 먼저 — i: 개념 학습" in str(app.screen.query_one("#preview").render())
        await pilot.press("l", "slash", *"broken")
        assert _prompts(box) == ["broken"]
        await pilot.press("escape", "up", "enter")
        screen = await wait_ready(pilot)
        assert screen.scenario is not None and screen.scenario.title == lesson.title


async def test_learn_shows_the_chapter_page_in_english_and_korean(
    lesson: Scenario, make_app: Make, wait_ready: Any
) -> None:
    app = make_app(scenario=msgspec.structs.replace(lesson, name="crash-replay"), course=_course())
    async with app.run_test(size=(120, 40)) as pilot:
        await wait_ready(pilot)
        await pilot.press("i")
        learn = app.screen
        assert isinstance(learn, LearnScreen)
        en = guide_page("02-message-queues.md", "en")
        ko = guide_page("02-message-queues.md", "ko")
        assert en is not None and ko is not None and en[0] != ko[0]
        assert learn.shown == readable_links(en[0]) and "](../../" not in learn.shown
        assert "Message queues" in learn.sub_title
        await pilot.press("l")
        assert learn.shown == readable_links(ko[0]) and "](../../" not in learn.shown
        assert "메시지 큐" in learn.sub_title
        await pilot.press("escape")
        assert isinstance(app.screen, SimulationScreen)


def test_the_guide_is_found_in_the_source_tree_and_never_outside_it() -> None:
    page = guide_page("04-cqrs.md", "ko")
    assert page is not None and page[1].parts[-2:] == ("ko", "04-cqrs.md")
    assert guide_page("../../pyproject.toml", "en") is None
    assert guide_page("no-such-page.md", "en") is None


async def test_learn_says_when_a_lesson_has_no_chapter(
    make_app: Make, lesson: Scenario, wait_ready: Any
) -> None:
    app = make_app(scenario=lesson, course=_course())  # "lesson" is not on the path
    async with app.run_test(size=(120, 40)) as pilot:
        await wait_ready(pilot)
        await pilot.press("i")
        learn = app.screen
        assert isinstance(learn, LearnScreen) and learn.shown == ""
        assert "not part of the course" in str(learn.query_one("#learn-note").render())
        await pilot.press("l")
        assert "코스에 속하지 않아" in str(learn.query_one("#learn-note").render())


def _predicting(lesson: Scenario) -> Scenario:
    """The test lesson with two questions: billing-0 crashes before it commits."""
    yes_no = [Text(en="Yes", ko="예"), Text(en="No", ko="아니요")]
    return msgspec.structs.replace(
        lesson,
        predict=[
            Predict(
                question=Text(en="Is a message processed twice?", ko="두 번 처리될까요?"),
                choices=yes_no,
                answer=1,
                expect="duplicates[billing] > 0",
                explanation=Text(en="The batch is replayed.", ko="배치가 다시 재생됩니다."),
            ),
            Predict(
                question=Text(en="Is a message lost?", ko="유실될까요?"),
                choices=yes_no,
                answer=2,
                expect="lost == 0",
                explanation=Text(en="Nothing was committed early.", ko="일찍 커밋하지 않았습니다."),
            ),
        ],
    )


async def _answered(pilot: Any, *keys: str) -> None:
    for _ in range(100):
        if isinstance(pilot.app.screen, PredictDialog):
            break
        await pilot.pause()
    assert isinstance(pilot.app.screen, PredictDialog)
    await pilot.press(*keys)


async def test_predict_then_run_keeps_the_answers_and_shows_the_outcome(
    make_app: Make, lesson: Scenario, wait_ready: Any
) -> None:
    app = make_app(scenario=_predicting(lesson))
    async with app.run_test(size=(120, 40)) as pilot:
        await _answered(pilot, "l")
        dialog = app.screen
        assert "두 번 처리될까요?" in str(dialog.query_one("#predict-question").render())
        await pilot.press("l", "2", "down", "enter")  # 2: wrong; arrows + enter: "No", right
        screen = await wait_ready(pilot)
        assert screen.answers == [2, 2]
        await pilot.press("end")
        await pilot.pause()
        outcome = app.screen
        assert isinstance(outcome, OutcomeDialog)
        assert [(r.student, r.confirmed, r.student_right) for r in outcome.results] == [
            (2, True, False),
            (2, True, True),
        ]
        text = str(outcome.query_one("#outcome-body").render())
        assert "The batch is replayed." in text and "not this time" in text
        await pilot.press("escape", "home", "end")
        assert isinstance(app.screen, SimulationScreen)  # shown once by itself …
        await pilot.press("o")
        assert isinstance(app.screen, OutcomeDialog)  # … and again on o


async def test_escape_skips_the_predictions(
    make_app: Make, lesson: Scenario, wait_ready: Any
) -> None:
    app = make_app(scenario=_predicting(lesson), presenter=True)
    async with app.run_test(size=(120, 40)) as pilot:
        await _answered(pilot, "escape")
        screen = await wait_ready(pilot)
        assert screen.answers == [None, None]
        await pilot.press("o")
        outcome = app.screen
        assert isinstance(outcome, OutcomeDialog)
        assert all(r.student is None and r.confirmed for r in outcome.results)


def test_the_fold_keeps_the_store_head_streams_and_projector_lag(
    cqrs_trace: list[Record],
) -> None:
    records = cqrs_trace
    state = fold(initial_state(), records[:6])
    assert state.store is not None
    assert state.store.head == 3 and state.store.streams == {"A1": 2, "B2": 1}
    balances = state.store.projectors["balances"]
    assert balances.checkpoint == 2 and state.store.lag(balances) == 2
    assert "balances" not in state.others and "teller" not in state.others
    rebuilding = fold(state, records[6:8]).store
    assert rebuilding is not None
    assert rebuilding.projectors["balances"].rebuild_version == 2
    done = fold(state, records[6:]).store
    assert done is not None
    assert done.projectors["balances"].rebuild_version is None
    assert done.projectors["balances"].reading == 2
    assert state.store.projectors["balances"].reading == 1  # the fold copied, never mutated


async def test_the_store_panel_appears_only_with_event_store_records(
    make_app: Make, wait_ready: Any, lesson: Scenario, cqrs_trace: list[Record]
) -> None:
    app = make_app(trace=(cqrs_trace, "bank.jsonl", None))
    async with app.run_test(size=(120, 40)) as pilot:
        screen = await wait_ready(pilot)
        box = screen.query_one("#store-box")
        assert not box.display  # record 1 is the header: nothing stored yet
        screen.seek(8)  # mid-rebuild
        await pilot.pause()
        assert box.display
        text = str(screen.query_one(StorePanel).render())
        assert "@3" in text and "A1 v2" in text and "reads v1" in text
        assert "rebuild v2" in text and "█" in text and "2/3" in text
        await pilot.press("end")
        text = str(screen.query_one(StorePanel).render())
        assert "reads v2" in text and "rebuild v2" not in text
    plain = make_app(scenario=lesson)
    async with plain.run_test(size=(120, 40)) as pilot:
        screen = await wait_ready(pilot)
        await pilot.press("end")
        assert not screen.query_one("#store-box").display


def test_the_fold_follows_sagas_and_stream_windows() -> None:
    from simulator.trace import (
        LateRecordDropped,
        SagaCompensated,
        SagaCompleted,
        SagaStarted,
        SagaStepCompleted,
        SagaStepFailed,
        WatermarkAdvanced,
        WindowOpened,
    )
    from tui.views.default import render_flow

    at = {"at": 0, "component": "orchestrator-0"}
    records: list[Record] = [
        SagaStarted(seq=0, **at, group="orders", saga="order-0", mode="orchestration", msg=1),
        SagaStepCompleted(seq=1, **at, group="orders", saga="order-0", step="stock", msg=2),
        SagaStepFailed(seq=2, **at, group="orders", saga="order-0", step="payment", reason="no"),
        SagaCompensated(seq=3, **at, group="orders", saga="order-0", step="stock"),
        SagaCompleted(seq=4, **at, group="orders", saga="order-0", outcome="compensated"),
        WindowOpened(seq=5, **at, group="zones", key="z1", start_ms=0, end_ms=60_000, msg=3),
        WatermarkAdvanced(seq=6, **at, group="zones", consumer="c", watermark_ms=1500,
                          max_event_ms=1500),
        LateRecordDropped(seq=7, **at, group="zones", msg=4, key="z1", event_time_ms=5,
                          watermark_ms=1500, window_end_ms=1000, side_output=None),
    ]  # fmt: skip
    state = fold(initial_state(), records)
    saga = state.sagas["order-0"]
    assert (saga.status, saga.step, saga.steps) == ("compensated", "stock", 1)
    zones = state.windows["zones"]
    assert (zones.watermark_ms, zones.open, zones.late) == (1500, ["z1@0"], 1)
    assert not state.others
    picture = render_flow(state, 100, "en").plain
    assert "order-0" in picture and "watermark 1.500s" in picture
