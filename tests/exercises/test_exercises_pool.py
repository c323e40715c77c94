"""The worker pool: one start for a folder, chunks of cases, and the grades of one worker.

``evsim.pool.CasePool`` runs an exploration in this process and helper
processes. Whoever ran a case, a grade must be the one a single worker gives:
the verdict, the runs explored, the failing case and its seed, and the
counterexample to the byte — and the pool must leave no process behind.
"""

from __future__ import annotations

import multiprocessing
import os
import shutil
import threading
from functools import partial
from pathlib import Path

import msgspec
import pytest
from typer.testing import CliRunner

import evsim.grade
import evsim.pool
from cli import app
from evsim.grade import Grade, grade, grade_folder
from evsim.pool import CaseChunk, CasePool, chunk_size, run_chunk, start_method, tail_size
from simulator.lessons.exercises import submission
from simulator.lessons.explore import CaseResult, CaseTask, first_failure, run_case

runner = CliRunner()
STARTS = pytest.mark.parametrize("start", ["fork", "spawn"])
"""Helpers forked from this process, or fresh interpreters: the same results either way."""
SOLUTIONS = Path(__file__).resolve().parent / "solutions"
EXERCISE = "idempotent-consumer"

LATE = '''"""Charges m20 again on a redelivery: an exploration finds it only after a dozen cases."""

from evsim import Context, Message, handler


@handler
def handle(message: Message, ctx: Context) -> None:
    charged = f"charged:{message.id}"
    if charged in ctx.store and message.id != 20:
        return
    ctx.effect("charge", key=message.key)
    ctx.store.put(charged, True)
'''

MODULE_STATE = '''"""Keeps its charges in a module variable: the check's double run sees it."""

from evsim import Context, Message, handler

CHARGED = set()


@handler
def handle(message: Message, ctx: Context) -> None:
    if message.id in CHARGED:
        return
    CHARGED.add(message.id)
    ctx.effect("charge", key=message.key)
'''

CLOCK = '''"""Reads the machine's clock: the determinism guard stops it, in any process."""

import time

from evsim import Context, Message, handler


@handler
def handle(message: Message, ctx: Context) -> None:
    ctx.effect("charge", key=message.key, value=str(time.time()))
'''


def _start(folder: Path, code: str | None = None) -> Path:
    started = runner.invoke(app, ["exercise", "start", EXERCISE, str(folder)])
    assert started.exit_code == 0, started.output
    if code == "reference":
        shutil.copyfile(SOLUTIONS / EXERCISE / "consumer.py", folder / "consumer.py")
    elif code is not None:
        (folder / "consumer.py").write_text(code, encoding="utf-8")
    return folder


def _class(tmp_path: Path) -> Path:
    """A naive starter (fails at once), a late failure, and the reference (passes)."""
    root = tmp_path / "class"
    _start(root / "ana")
    _start(root / "ben", LATE)
    _start(root / "cy", "reference")
    return root


def _comparable(g: Grade) -> dict[str, object]:
    out: dict[str, object] = msgspec.to_builtins(g)
    del out["seconds"], out["workers"]
    return out


def _tasks(folder: Path, runs: int, seed: int = 1) -> list[CaseTask]:
    sub = submission(folder)
    menu = msgspec.json.encode(sub.exercise.spec.explore)
    return [CaseTask(sub.lesson, sub.lesson_file, menu, seed, i) for i in range(runs)]


@STARTS
def test_a_late_failure_is_the_same_case_seed_and_counterexample_with_two_workers(
    start: str, tmp_path: Path
) -> None:
    folder = _start(tmp_path / "ben", LATE)
    alone = grade(folder, runs=40, workers=1)
    assert alone.verdict == "fail" and alone.counterexample is not None
    assert alone.counterexample.run > chunk_size(40, 2), "the failure must come after a chunk"
    example = (folder / "counterexample.toml").read_bytes()
    with CasePool(2, start) as pool:
        pool.ready()
        pooled = grade(folder, runs=40, workers=2, executor=pool)
    assert (pooled.workers, pool.start) == (2, start)
    assert (pooled.verdict, pooled.runs, pooled.seed) == (alone.verdict, alone.runs, alone.seed)
    assert pooled.counterexample == alone.counterexample
    assert _comparable(pooled) == _comparable(alone)
    assert (folder / "counterexample.toml").read_bytes() == example
    assert multiprocessing.active_children() == []


@STARTS
def test_a_folder_graded_with_one_pool_gets_the_grades_of_one_worker(
    start: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    root = _class(tmp_path)
    alone = grade_folder(root, runs=30, workers=1)
    examples = {p.parent.name: p.read_bytes() for p in root.glob("*/counterexample.toml")}
    assert [g.verdict for g in alone] == ["fail", "fail", "pass"] and sorted(examples) == [
        "ana",
        "ben",
    ]
    pools: list[CasePool] = []

    class Counted(CasePool):
        def __init__(self, workers: int) -> None:
            super().__init__(workers, start)
            pools.append(self)

    monkeypatch.setattr(evsim.grade, "CasePool", Counted)
    pooled = grade_folder(root, runs=30, workers=2)
    assert len(pools) == 1, "one pool, started once, grades the whole folder"
    assert [_comparable(g) for g in pooled] == [_comparable(g) for g in alone]
    assert {p.parent.name: p.read_bytes() for p in root.glob("*/counterexample.toml")} == examples
    assert multiprocessing.active_children() == []


@STARTS
def test_the_pool_reads_chunks_in_case_order_up_to_the_first_failure(
    start: str, tmp_path: Path
) -> None:
    tasks = _tasks(_start(tmp_path / "ben", LATE), 40)
    expected = list(map(run_case, tasks))
    first = next(i for i, r in enumerate(expected) if not r.ok)
    with CasePool(2, start) as pool:
        pool.ready()  # the helper takes the first chunks: cases run in both processes
        for chunk in (1, 2, 5, 40):
            got = list(pool.map(run_case, tasks, chunk=chunk))
            assert got == expected[: first + 1]
            assert first_failure(tasks, partial(pool.map, chunk=chunk)) == (
                first + 1,
                expected[first],
            )
        # a passing exploration after failing ones: every case, none cancelled
        passing = tasks[:first]
        assert list(pool.map(run_case, passing, chunk=3)) == expected[:first]


@STARTS
def test_the_determinism_guard_stops_the_clock_in_a_helper_as_it_does_here(
    start: str, tmp_path: Path
) -> None:
    tasks = _tasks(_start(tmp_path / "clock", CLOCK), 4)
    here = run_case(tasks[0])
    assert here.error is not None and "time.time()" in here.error and "consumer.py" in here.error
    with CasePool(2, start) as pool:
        pool.ready()
        # the first chunk is the helper's once it has started
        (there,) = pool.map(run_case, tasks, chunk=2)
    assert there == here


def test_a_chunk_stops_at_its_first_failure_and_at_a_failure_known_before_it(
    tmp_path: Path,
) -> None:
    tasks = _tasks(_start(tmp_path / "ben", LATE), 40)
    expected = list(map(run_case, tasks))
    first = next(i for i, r in enumerate(expected) if not r.ok)
    chunk = CaseChunk(tasks[0], 40, generation=0)
    assert run_chunk(chunk) == expected[: first + 1]
    signal = multiprocessing.get_context("spawn").Array("q", [0, 2])
    assert run_chunk(chunk, signal) == expected[:3], "case 2 failed elsewhere: stop after it"
    assert run_chunk(CaseChunk(tasks[0], 40, generation=1), signal) == [], "an old exploration's"


@STARTS
def test_a_closed_pool_leaves_no_process_behind(start: str) -> None:
    with CasePool(3, start) as pool:
        helpers = pool.ready()
        assert helpers and os.getpid() not in helpers
        assert {p.pid for p in multiprocessing.active_children()} >= helpers
    assert multiprocessing.active_children() == []
    for pid in helpers:
        with pytest.raises(ProcessLookupError):
            os.kill(pid, 0)
    pool.close()  # closing twice is fine


def test_maps_only_consecutive_cases_of_one_exploration(tmp_path: Path) -> None:
    tasks = _tasks(_start(tmp_path / "ana"), 6)
    with CasePool(1) as pool:
        with pytest.raises(ValueError, match="consecutive cases"):
            list(pool.map(run_case, [tasks[0], tasks[2]]))
        with pytest.raises(ValueError, match="consecutive cases"):
            list(pool.map(run_case, [*tasks[:2], tasks[3]], chunk=2))
        other = _tasks(_start(tmp_path / "cy", "reference"), 6)
        with pytest.raises(ValueError, match="consecutive cases"):
            list(pool.map(run_case, [*tasks[:2], other[2]], chunk=2))
        with pytest.raises(ValueError, match="run_case"):
            list(pool.map(lambda t: run_case(t), tasks))


def test_one_worker_is_this_process_alone() -> None:
    with CasePool(1) as pool:
        assert pool.workers == 1 and pool.ready() == set()
        assert multiprocessing.active_children() == []


def test_helpers_are_spawned_while_another_thread_runs() -> None:
    stop = threading.Event()
    other = threading.Thread(target=stop.wait)
    other.start()
    try:
        assert start_method() == "spawn"
        with CasePool(2) as pool:
            assert pool.start == "spawn"
    finally:
        stop.set()
        other.join()


def test_the_command_grades_a_folder_with_two_workers_as_with_one(tmp_path: Path) -> None:
    root = _class(tmp_path)

    def graded(workers: str) -> list[dict[str, object]]:
        result = runner.invoke(
            app, ["exercise", "grade", str(root), "--json", "--runs", "20", "--workers", workers]
        )
        assert result.exit_code == 1, result.output  # two of the three fail
        grades: list[dict[str, object]] = msgspec.json.decode(result.stdout)
        for g in grades:
            del g["seconds"]
        return grades

    alone, pooled = graded("1"), graded("2")
    assert [g.pop("workers") for g in alone] == [1, 1, 1]
    assert [g.pop("workers") for g in pooled] == [2, 2, 2]
    assert pooled == alone
    assert multiprocessing.active_children() == []


@pytest.mark.parametrize(("runs", "chunk", "workers"), [(200, 12, 2), (4000, 16, 2), (7, 2, 3)])
def test_chunks_shrink_toward_the_end_to_a_single_case(runs: int, chunk: int, workers: int) -> None:
    sizes: list[int] = []
    while (left := runs - sum(sizes)) > 0:
        sizes.append(tail_size(left, chunk, workers))
    assert sum(sizes) == runs and max(sizes) <= chunk
    assert sizes == sorted(sizes, reverse=True), "never a larger chunk after a smaller one"
    assert sizes[-1] == 1
    for i, size in enumerate(sizes):
        # each chunk is at most half of one worker's share of what is left
        assert size <= max(1, -(-(runs - sum(sizes[:i])) // (2 * workers)))


@STARTS
def test_code_that_is_not_deterministic_gets_the_error_of_one_worker_and_the_pool_goes_on(
    start: str, tmp_path: Path
) -> None:
    root = tmp_path / "class"
    _start(root / "ana", MODULE_STATE)
    _start(root / "cy", "reference")
    alone = grade_folder(root, runs=30, workers=1)
    assert [g.verdict for g in alone] == ["error", "pass"]
    assert "not deterministic" in alone[0].detail and alone[0].runs == 0
    with CasePool(2, start) as pool:
        pool.ready()  # the helper explores while the check runs here: what it ran is dropped
        pooled = grade_folder(root, runs=30, workers=2, executor=pool)
    assert [_comparable(g) for g in pooled] == [_comparable(g) for g in alone]
    assert multiprocessing.active_children() == []


@STARTS
def test_an_exploration_closed_unread_leaves_the_pool_ready_for_the_next(
    start: str, tmp_path: Path
) -> None:
    tasks = _tasks(_start(tmp_path / "cy", "reference"), 24)
    expected = list(map(run_case, tasks))
    with CasePool(2, start) as pool:
        pool.ready()
        with pool.explore(tasks, chunk=2) as abandoned:
            assert next(abandoned) == expected[0]
            with pytest.raises(RuntimeError, match="one exploration at a time"):
                pool.explore(tasks)
        assert list(abandoned) == [], "a closed exploration yields nothing more"
        # what the helper still sends of the closed one is dropped
        assert list(pool.map(run_case, tasks, chunk=3)) == expected
        with pool.explore(tasks[5:], chunk=4) as later:
            assert list(later) == expected[5:]
    assert multiprocessing.active_children() == []


def test_an_error_raised_in_a_helper_is_raised_here_and_the_pool_still_closes(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    tasks = _tasks(_start(tmp_path / "cy", "reference"), 40)
    grader = os.getpid()

    def breaks_in_a_helper(task: CaseTask) -> CaseResult:
        if os.getpid() != grader:
            raise RuntimeError(f"a bug, at case {task.index}")
        return run_case(task)

    monkeypatch.setattr(evsim.pool, "run_case", breaks_in_a_helper)
    with CasePool(2, "fork") as pool:  # forked: the helper runs the patched module
        pool.ready()
        with pytest.raises(evsim.pool.HelperError, match="RuntimeError: a bug, at case"):
            list(pool.explore(tasks, chunk=2))
    assert multiprocessing.active_children() == []


def test_a_helper_that_dies_holding_a_chunk_is_named_not_waited_for(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    tasks = _tasks(_start(tmp_path / "cy", "reference"), 40)
    grader = os.getpid()

    def dies_in_a_helper(task: CaseTask) -> CaseResult:
        if os.getpid() != grader:
            os._exit(3)
        return run_case(task)

    monkeypatch.setattr(evsim.pool, "run_case", dies_in_a_helper)
    with CasePool(2, "fork") as pool:
        pool.ready()
        with pytest.raises(RuntimeError, match="ended with exit code 3"):
            list(pool.explore(tasks, chunk=2))
    assert multiprocessing.active_children() == []
