"""The explorer: case plans are a pure function of their number, results are read in order."""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator

import msgspec

from simulator.lessons.exercises import load_exercise
from simulator.lessons.explore import (
    CaseResult,
    CaseTask,
    CrashMenu,
    Explore,
    NetworkMenu,
    VaryMenu,
    apply_plan,
    first_failure,
    lesson_of,
    plan_case,
)

MENU = Explore(
    max_faults=3,
    crash=[CrashMenu(targets=["billing-0"], points=["after_poll"], at_ms=(0, 100))],
    network=[NetworkMenu(source="broker", destination="shop", drop=[0.1])],
    vary=[VaryMenu(path="workload.generators[0].count", values=[5, 10])],
)


def test_case_zero_is_the_lesson_as_written() -> None:
    plan = plan_case(MENU, base_seed=7, index=0, lesson_seed=123)
    assert (plan.seed, plan.faults, plan.vary) == (123, [], {})


def test_a_case_is_the_same_for_the_same_number_and_base_seed() -> None:
    plans = [plan_case(MENU, 7, i, 1) for i in range(1, 30)]
    again = [plan_case(MENU, 7, i, 1) for i in reversed(range(1, 30))][::-1]
    assert plans == again
    assert plan_case(MENU, 8, 5, 1) != plans[4]
    for p in plans:
        assert 1 <= len(p.faults) <= 3
        assert p.vary["workload.generators[0].count"] in (5, 10)
        for f in p.faults:
            assert f["kind"] in ("crash", "network")


def test_a_plan_becomes_a_valid_scenario_with_its_faults_and_values() -> None:
    ex = load_exercise("idempotent-consumer")
    lesson = (ex.directory / ex.spec.lesson).read_bytes()
    base, raw = lesson_of(lesson, str(ex.directory / ex.spec.lesson))
    plan = next(p for p in (plan_case(MENU, 3, i, base.seed) for i in range(1, 50)) if p.faults)
    case = apply_plan(raw, plan, str(ex.directory / ex.spec.lesson))
    assert case.seed == plan.seed and len(case.faults) == len(plan.faults) + len(base.faults)
    assert case.workload.generators[0].count == plan.vary["workload.generators[0].count"]
    assert case.code_dir == base.code_dir
    assert raw == lesson_of(lesson, str(ex.directory / ex.spec.lesson))[1]  # not changed


def _out_of_order(
    fn: Callable[[CaseTask], CaseResult], tasks: Iterable[CaseTask]
) -> Iterator[CaseResult]:
    """Runs every task backwards (as a pool may finish them), yields them in task order."""
    listed = list(tasks)
    done = {t.index: fn(t) for t in reversed(listed)}
    return iter([done[t.index] for t in listed])


def test_the_first_failure_is_the_lowest_failing_case_whatever_ran_first() -> None:
    tasks = [CaseTask(b"", "x.toml", msgspec.json.encode(MENU), 1, i) for i in range(10)]

    def judged(task: CaseTask) -> CaseResult:
        failing = task.index in (4, 7)
        return CaseResult(index=task.index, seed=0, failures=["broke"] if failing else [])

    seen: list[int] = []

    def mapper(
        fn: Callable[[CaseTask], CaseResult], items: Iterable[CaseTask]
    ) -> Iterator[CaseResult]:
        return _out_of_order(judged, items)

    explored, failed = first_failure(tasks, mapper, lambda r: seen.append(r.index))
    assert (explored, failed is not None and failed.index) == (5, 4)
    assert seen == [0, 1, 2, 3, 4]
