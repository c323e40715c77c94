"""Exploration across cores: exercise grading with two workers beside one.

``evsim exercise grade`` explores a submission case after case; with
``--workers N`` the cases run in N processes — this one and N - 1 helpers,
started once (``evsim.pool``). Each row grades passing submissions twice, with
the same runs and the same seed — once with one worker, once with
two workers — and compares the runs per second:

- ``exploration.workers_2``: one submission, a long exploration (4,000 runs);
- ``exploration.exercise_2``: one submission at an exercise's own 200 runs,
  where the helper's start weighs most;
- ``exploration.folder_2``: a teacher's folder of ten submissions, 200 runs
  each, graded at once with one pool.

Each side is timed as a teacher would time ``evsim exercise grade``: the
determinism check and, for two workers, the helper's start and stop included.
Both sides must explore every run, or there is no row. Each side runs in a
fresh interpreter, as the command does (``_fresh``). Each row is the median
of ``REPEATS`` pairs, the two sides run one after the other in each pair: a
grade of 200 runs lasts about a second, and on a shared machine one pair alone
swings by a fifth either way.

The submission is a correct idempotent consumer written here, so that no case
fails and ends the exploration early. On a shared machine the wall-clock
ratio (the verdict) says how much of two cores the pool got; the note adds the
CPU time per run on each side (the helper's included, through
``getrusage(RUSAGE_CHILDREN)``), whose ratio, doubled, is what two idle cores
would give.
"""

from __future__ import annotations

import multiprocessing
import os
import resource
import shutil
import tempfile
import time
from collections.abc import Callable
from concurrent.futures import ProcessPoolExecutor
from functools import partial
from pathlib import Path

from bench.rows import BenchRow, at_least, bench_row, same_work

__all__ = ["EXERCISE", "REPEATS", "SUBMISSIONS", "grading_scaling"]

EXERCISE = "idempotent-consumer"
SUBMISSIONS = 10
"""Submissions in the folder a teacher grades at once (the folder row)."""

REPEATS = 3
"""Pairs (one worker, then two) each row is the median of; the one exercise's row, whose
grade lasts about a second, three times as many (``SHORT_REPEATS``)."""

SHORT_REPEATS = 3
"""How many times ``REPEATS`` a grade of about a second is repeated: one pair of such
grades swung by a fifth either way on a 2-core machine, so three pairs were a coin toss
near the target, where nine give the same verdict run after run."""

Measured = tuple[float, int, float]
"""(runs per second of wall clock, runs explored, CPU seconds per run) of one side."""

IDEMPOTENT_CONSUMER = '''"""Charge each payment once: a dedup table in the group's store."""

from evsim import Context, Message, handler


@handler
def handle(message: Message, ctx: Context) -> None:
    charged = f"charged:{message.id}"
    if charged in ctx.store:
        return
    ctx.effect("charge", key=message.key)
    ctx.store.put(charged, True)
'''


def _submission(root: Path, name: str = EXERCISE) -> Path:
    """A folder like ``evsim exercise start`` makes, with a correct handler in it."""
    from simulator.lessons.exercises import load_exercise

    ex = load_exercise(EXERCISE)
    folder = root / name
    folder.mkdir()
    for name in ex.files():
        shutil.copyfile(ex.directory / name, folder / name)
    (folder / ex.spec.starter).write_text(IDEMPOTENT_CONSUMER, encoding="utf-8")
    return folder


def _cpu_seconds() -> float:
    """CPU time of this process and of the children it has waited for (the pool's helpers)."""
    own = resource.getrusage(resource.RUSAGE_SELF)
    children = resource.getrusage(resource.RUSAGE_CHILDREN)
    return own.ru_utime + own.ru_stime + children.ru_utime + children.ru_stime


def _fresh(fn: Callable[..., Measured], *args: object) -> Measured:
    """``fn(*args)`` in a fresh interpreter, as ``evsim exercise grade`` runs in one.

    A process that has graded before holds the memory its largest case took;
    the helpers it forks share those pages, and every page either side then
    writes is copied — a cost a teacher's own grade, in a fresh process, never
    pays. Each side of each pair starts afresh, so none inherits another's.
    """
    with ProcessPoolExecutor(1, mp_context=multiprocessing.get_context("spawn")) as one:
        return one.submit(fn, *args).result()


def _runs_per_second(folder: Path, runs: int, workers: int) -> Measured:
    """(runs per second of wall clock, runs explored, CPU seconds per run) of one grade."""
    return _fresh(_grade_here, folder, runs, workers)


def _folder_runs_per_second(root: Path, runs: int, workers: int) -> Measured:
    """The same, for a folder of submissions graded at once (``grade_folder``: one pool)."""
    return _fresh(_grade_folder_here, root, runs, workers)


def _grade_here(folder: Path, runs: int, workers: int) -> Measured:
    from evsim.grade import grade

    cpu = _cpu_seconds()
    started = time.perf_counter()
    g = grade(folder, runs=runs, workers=workers, write=False)
    seconds = time.perf_counter() - started
    cpu = _cpu_seconds() - cpu
    if g.verdict != "pass":
        raise RuntimeError(f"the bench's own submission did not pass: {g.detail}")
    return g.runs / seconds, g.runs, cpu / max(1, g.runs)


def _grade_folder_here(root: Path, runs: int, workers: int) -> Measured:
    from evsim.grade import grade_folder

    cpu = _cpu_seconds()
    started = time.perf_counter()
    grades = grade_folder(root, runs=runs, workers=workers, write=False)
    seconds = time.perf_counter() - started
    cpu = _cpu_seconds() - cpu
    failed = [g.detail for g in grades if g.verdict != "pass"]
    if failed:
        raise RuntimeError(f"the bench's own submission did not pass: {failed[0]}")
    explored = sum(g.runs for g in grades)
    return explored / seconds, explored, cpu / max(1, explored)


def _median_pair(
    measure: Callable[[int], Measured], label: str, runs: int, repeats: int
) -> tuple[Measured, Measured]:
    """The (one worker, two workers) pair of median ratio among ``repeats`` pairs.

    Each pair must have explored every run on both sides (``SameWorkError``
    at once otherwise).
    """
    pairs = []
    for _ in range(max(1, repeats)):
        alone = measure(1)
        pooled = measure(2)
        same_work(label, "cases explored", runs, pooled[1], alone[1])
        pairs.append((alone, pooled))
    pairs.sort(key=lambda pair: pair[1][0] / pair[0][0])
    return pairs[len(pairs) // 2]


def _row(
    key: str,
    label: str,
    runs: int,
    alone: Measured,
    pooled: Measured,
    start: str,
    repeats: int,
) -> BenchRow:
    load = os.getloadavg()[0] if hasattr(os, "getloadavg") else float("nan")
    alone_cpu, pooled_cpu = alone[2], pooled[2]
    return bench_row(
        key=key,
        workload=label,
        unit="runs/s",
        ours=pooled[0],
        anchor=alone[0],
        anchor_name="1 worker",
        targets=(at_least(1.8, "ratio", source="issue 19"),),
        work=same_work(label, "cases explored", runs, pooled[1], alone[1]),
        note=(
            f"median of {repeats} pairs; {os.cpu_count()} cores, load {load:.1f} at the end;"
            f" {start} and the"
            f" determinism check are timed on both sides; CPU per run (the helper's"
            f" included) {alone_cpu * 1e3:.1f} ms alone, {pooled_cpu * 1e3:.1f} ms with"
            f" 2 workers: {2 * alone_cpu / pooled_cpu:.2f}x on two idle cores"
        ),
    )


def grading_scaling(
    runs: int = 4_000, submissions: int = SUBMISSIONS, repeats: int = REPEATS
) -> list[BenchRow]:
    """Grading runs/s with two workers beside one: one long grade, one exercise, a folder.

    One exercise's grade explores ``runs // 20`` cases (200, the exercises'
    default, at the full size); the folder holds ``submissions`` of them.
    """
    exercise_runs = max(2, runs // 20)
    rows = []
    with tempfile.TemporaryDirectory(prefix="evsim-bench-grade-") as tmp:
        folder = _submission(Path(tmp))
        for key, many, pairs in (
            ("exploration.workers_2", runs, repeats),
            ("exploration.exercise_2", exercise_runs, repeats * SHORT_REPEATS),
        ):
            label = f"exercise grading ({EXERCISE}, {many:,} runs): 2 workers vs 1"
            alone, pooled = _median_pair(
                partial(_runs_per_second, folder, many), label, many, pairs
            )
            rows.append(_row(key, label, many, alone, pooled, "the helper's start", pairs))
        root = Path(tmp) / "class"
        root.mkdir()
        for n in range(submissions):
            _submission(root, f"student-{n:02d}")
        total = submissions * exercise_runs
        label = (
            f"grading a folder ({submissions} submissions of {EXERCISE}, {exercise_runs:,} runs"
            " each): 2 workers vs 1"
        )
        alone, pooled = _median_pair(
            partial(_folder_runs_per_second, root, exercise_runs), label, total, repeats
        )
    rows.append(
        _row("exploration.folder_2", label, total, alone, pooled, "the one helper's start", repeats)
    )
    return rows
