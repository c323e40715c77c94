"""The grader: explore a student's code under faults, shrink the first failure, write it out.

``grade(folder)`` runs the exercise's lesson with the student's code:

1. **Determinism.** The lesson as written runs twice on the same loaded
   module; different traces mean the code keeps state outside ``ctx.store``
   (a module variable) — the grade stops there and names the first record
   where the runs part. A call of the machine's clock or the global
   ``random`` stops it too (``evsim.guard``).
2. **Exploration.** Case 0 is the lesson as written, cases 1… add a random
   fault plan from the exercise's menu, each with its own seed
   (``simulator.lessons.explore``). They run in a pool of processes
   (``evsim.pool``: this one and a helper per further core by default,
   started once for a whole folder of submissions, each worker taking the
   next chunk of cases; the helpers begin while this process runs the
   determinism check, and what they ran is dropped if the check fails),
   and their results are read in case order, so the first failure — and
   everything reported — is the same with one worker or many. The first
   failing case ends the exploration. With ``executor``
   ``dask://HOST:PORT`` the same cases run on a Dask cluster instead
   (``evsim.cluster``), read in the same order, with the same results.
3. **The counterexample.** The failing case is shrunk
   (``simulator.lessons.shrink``: drop faults, halve the workload, while it
   still fails) and written as ``counterexample.toml`` in the folder — a
   scenario that replays the failure with ``evsim play`` or in the TUI
   (``evsim view counterexample.toml``), checked to fail the same way twice.

Otherwise the grade is a pass, with the number of runs explored.
"""

from __future__ import annotations

import os
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import msgspec

from evsim.cluster import LOCAL, DaskCluster, scheduler_address
from evsim.loader import load_book
from evsim.pool import CasePool, chunk_size
from simulator.errors import InputError
from simulator.lessons.describe import describe, kind_of
from simulator.lessons.exercises import MARKER, Submission, submission
from simulator.lessons.explore import (
    CaseResult,
    CaseTask,
    apply_plan,
    first_failure,
    first_failure_of,
    judge,
    lesson_of,
    plan_case,
)
from simulator.lessons.shrink import scenario_to_toml, shrink
from simulator.lessons.summary import summarize
from simulator.scenario import Scenario, load_scenario
from simulator.simulation import Simulation
from simulator.trace import FINDING_TYPES, PropertyViolated, encode_record

__all__ = [
    "COUNTEREXAMPLE",
    "Counterexample",
    "Grade",
    "divergence",
    "grade",
    "grade_folder",
    "submissions_in",
]

COUNTEREXAMPLE = "counterexample.toml"
SHRINK_TRIES = 80


class Counterexample(msgspec.Struct, frozen=True, kw_only=True):
    """The first failing case, and the scenario it was shrunk to."""

    run: int
    """The case that failed (0: the lesson as written)."""
    seed: int
    failures: list[str]
    """What broke, each failed expectation or property as one line (of the shrunk run)."""
    faults: int
    messages: int
    """Size of the shrunk scenario: faults and messages."""
    faults_before: int
    messages_before: int
    shrink_runs: int
    file: str | None
    """Where it was written (None when writing was off)."""


class Grade(msgspec.Struct, frozen=True, kw_only=True):
    """One submission's grade (``evsim exercise grade --json`` prints these)."""

    exercise: str
    submission: str
    code: str
    verdict: str
    """``pass``, ``fail`` (a case broke the property) or ``error`` (the code cannot be judged)."""
    runs: int
    """Cases explored (up to and including the failing one)."""
    runs_requested: int
    seed: int
    deterministic: bool
    detail: str
    """One line: what passed, what broke, or what went wrong."""
    counterexample: Counterexample | None = None
    workers: int = 1
    """Worker processes, or the cluster's worker threads."""
    seconds: float = 0.0
    executor: str = LOCAL
    """``local`` (a process pool here) or the ``dask://HOST:PORT`` the cases ran on."""


# -- the determinism check ----------------------------------------------------------------------


def divergence(scenario: Scenario) -> str | None:
    """Run ``scenario`` twice on one loaded copy of its code: where the traces part, if they do."""
    book = load_book(scenario)
    first = Simulation(scenario, code=book).run().records
    second = Simulation(scenario, code=book).run().records
    for a, b in zip(first, second, strict=False):
        if encode_record(a) != encode_record(b):
            return (
                f"the second run differs at record #{a.seq}: {kind_of(a)} {describe(a)} "
                f"/ then {kind_of(b)} {describe(b)} — does your code keep state outside "
                "ctx.store (a module-level variable)?"
            )
    if len(first) != len(second):
        return (
            f"the second run wrote {len(second)} records, the first {len(first)} — does your"
            " code keep state outside ctx.store (a module-level variable)?"
        )
    return None


# -- running cases ------------------------------------------------------------------------------


def _tasks(sub: Submission, runs: int, seed: int, file: str) -> Iterator[CaseTask]:
    menu = msgspec.json.encode(sub.exercise.spec.explore)
    for index in range(runs):
        yield CaseTask(sub.lesson, file, menu, seed, index)


def _size(s: Scenario) -> tuple[int, int]:
    """(faults, messages and commands) of a scenario."""
    workload = s.workload
    messages = len(workload.messages) + sum(g.count for g in workload.generators)
    commands = len(s.commands) + sum(g.count for g in s.command_generators)
    return len(s.faults), messages + commands


def grade(
    folder: Path,
    *,
    runs: int | None = None,
    workers: int = 1,
    seed: int | None = None,
    progress: Callable[[int, int], None] | None = None,
    write: bool = True,
    executor: str | DaskCluster | CasePool = LOCAL,
) -> Grade:
    """Grade the submission in ``folder`` (``InputError`` if it is not one).

    ``executor``: ``local`` (``workers`` processes, this one included, started for
    this grade), ``dask://HOST:PORT`` (connect for this grade), or a pool or a
    connection already open (``grade_folder``: one for the whole folder).
    """

    def again(opened: DaskCluster | CasePool) -> Grade:
        return grade(
            folder,
            runs=runs,
            workers=workers,
            seed=seed,
            progress=progress,
            write=write,
            executor=opened,
        )

    if executor == LOCAL and workers > 1 and (runs is None or runs > 1):
        with CasePool(workers) as own:
            return again(own)
    if isinstance(executor, str) and scheduler_address(executor) is not None:
        with DaskCluster(executor) as connection:
            return again(connection)
    cluster = executor if isinstance(executor, DaskCluster) else None
    pool = executor if isinstance(executor, CasePool) else None
    started = time.perf_counter()
    sub = submission(folder)
    spec = sub.exercise.spec
    runs = spec.runs if runs is None else runs
    seed = spec.seed if seed is None else seed

    def graded(verdict: str, explored: int, detail: str, **more: object) -> Grade:
        return Grade(
            exercise=sub.exercise.name,
            submission=str(folder),
            code=spec.starter,
            verdict=verdict,
            runs=explored,
            runs_requested=runs,
            seed=seed,
            detail=" ".join(detail.split()),
            workers=cluster.threads if cluster else pool.workers if pool else 1,
            seconds=round(time.perf_counter() - started, 3),
            executor=LOCAL if cluster is None else cluster.executor,
            **more,  # type: ignore[arg-type]
        )

    try:
        base, raw = lesson_of(sub.lesson, sub.lesson_file)
    except InputError as err:
        return graded("error", 0, str(err), deterministic=False)
    # On a pool the helpers start exploring now, while this process checks determinism:
    # should the check fail, what they ran is dropped.
    exploration = (
        pool.explore(list(_tasks(sub, runs, seed, sub.lesson_file)), chunk_size(runs, pool.workers))
        if pool is not None and runs > 1
        else None
    )
    try:
        try:
            differs = divergence(base)
        except InputError as err:
            return graded("error", 0, str(err), deterministic=False)
        if differs is not None:
            return graded(
                "error", 0, f"your code is not deterministic: {differs}", deterministic=False
            )

        done = 0

        def count(result: CaseResult) -> None:
            nonlocal done
            done += 1
            if progress is not None:
                progress(done, runs)

        if cluster is not None:
            # The lesson travels in each case; the code a worker reads itself, from the
            # same absolute path.
            lesson_file = str(Path(sub.lesson_file).resolve())
            cluster.check_readable([str(sub.code_file.resolve())])
            try:
                explored, failed = first_failure(
                    _tasks(sub, runs, seed, lesson_file), cluster.map, count
                )
            finally:
                cluster.cancel()
        elif exploration is not None:
            explored, failed = first_failure_of(exploration, count)
        else:
            explored, failed = first_failure(_tasks(sub, runs, seed, sub.lesson_file), map, count)
    finally:
        if exploration is not None:
            exploration.close()
    if failed is None:
        return graded(
            "pass", explored, f"{explored} runs explored, no violation", deterministic=True
        )
    if failed.error is not None:
        return graded("error", explored, f"run {failed.index}: {failed.error}", deterministic=True)
    plan = plan_case(spec.explore, seed, failed.index, base.seed)
    case = apply_plan(raw, plan, sub.lesson_file)
    example = _counterexample(sub, base, case, failed, write)
    first = example.failures[0] if example.failures else failed.failures[0]
    return graded(
        "fail",
        explored,
        f"run {failed.index} (seed {failed.seed}) breaks {first}",
        deterministic=True,
        counterexample=example,
    )


def _fails(base: Scenario) -> Callable[[Scenario], bool]:
    def fails(candidate: Scenario) -> bool:
        judged = msgspec.structs.replace(
            candidate, expect=base.expect, properties=base.properties, predict=[]
        )
        try:
            return bool(judge(summarize(Simulation(judged))))
        except InputError:
            return False

    return fails


def _counterexample(
    sub: Submission, base: Scenario, case: Scenario, failed: CaseResult, write: bool
) -> Counterexample:
    """Shrink the failing case, write it out, and check that it replays the failure."""
    tries = 0
    fails = _fails(base)

    def counted(candidate: Scenario) -> bool:
        nonlocal tries
        tries += 1
        return fails(candidate)

    small = shrink(case, counted, max_tries=SHRINK_TRIES, structure=False)
    small = msgspec.structs.replace(
        small, expect=base.expect, properties=base.properties, predict=[], name="", code_dir=""
    )
    replay = Simulation(msgspec.structs.replace(small, code_dir=case.code_dir))
    failures = judge(summarize(replay))
    finding = next(
        (r for r in replay.trace if type(r) in FINDING_TYPES and type(r) is not PropertyViolated),
        None,
    )
    if finding is not None:
        failures.append(f"first finding: #{finding.seq} {kind_of(finding)} {describe(finding)}")
    before, after = _size(case), _size(small)
    path: str | None = None
    if write:
        target = sub.directory / COUNTEREXAMPLE
        comment = (
            f"A counterexample found by evsim exercise grade ({sub.exercise.name}):\n"
            f"run {failed.index} of the exploration, seed {small.seed}, shrunk from"
            f" {before[0]} fault(s) and {before[1]} message(s).\n"
            f"Failure: {failures[0] if failures else failed.failures[0]}\n"
            f"Replay:  evsim play {COUNTEREXAMPLE}\n"
            f"TUI:     evsim view {COUNTEREXAMPLE}\n"
        )
        try:
            target.write_text(scenario_to_toml(small, comment), encoding="utf-8")
        except OSError as err:
            raise InputError(str(target), "", f"cannot write: {err.strerror or err}") from None
        path = str(target)
        replayed = load_scenario(target)
        if divergence(replayed) is not None or not judge(summarize(Simulation(replayed))):
            raise AssertionError(f"{target} does not replay the failure it was written for")
    return Counterexample(
        run=failed.index,
        seed=small.seed,
        failures=failures or failed.failures,
        faults=after[0],
        messages=after[1],
        faults_before=before[0],
        messages_before=before[1],
        shrink_runs=tries,
        file=path,
    )


# -- a class's worth ----------------------------------------------------------------------------


def submissions_in(root: Path) -> list[Path]:
    """``root`` itself if it is a submission, else every sub-folder that is one, sorted."""
    if (root / MARKER).is_file():
        return [root]
    if not root.is_dir():
        raise InputError(str(root), "", "no such folder")
    found = sorted(p for p in root.iterdir() if (p / MARKER).is_file())
    if not found:
        raise InputError(str(root), "", f"neither a submission nor a folder of them (no {MARKER})")
    return found


def grade_folder(
    root: Path,
    *,
    runs: int | None = None,
    workers: int = 1,
    seed: int | None = None,
    progress: Callable[[str, int, int], None] | None = None,
    write: bool = True,
    executor: str | CasePool = LOCAL,
) -> list[Grade]:
    """Grade every submission under ``root`` (or ``root`` itself), one after another.

    One pool of ``workers`` processes, started once, serves them all (or the
    pool passed as ``executor``; or, with ``dask://HOST:PORT``, one connection
    to the scheduler).
    """
    folders = submissions_in(root)
    if isinstance(executor, CasePool):
        return _grade_each(folders, runs, workers, seed, progress, write, executor)
    if scheduler_address(executor) is not None:
        with DaskCluster(executor) as cluster:
            return _grade_each(folders, runs, workers, seed, progress, write, cluster)
    if workers > 1 and (runs is None or runs > 1):
        with CasePool(workers) as pool:
            return _grade_each(folders, runs, workers, seed, progress, write, pool)
    return _grade_each(folders, runs, workers, seed, progress, write, LOCAL)


def _grade_each(
    folders: list[Path],
    runs: int | None,
    workers: int,
    seed: int | None,
    progress: Callable[[str, int, int], None] | None,
    write: bool,
    executor: str | DaskCluster | CasePool,
) -> list[Grade]:
    grades = []
    for folder in folders:

        def step(done: int, total: int, name: str = folder.name) -> None:
            if progress is not None:
                progress(name, done, total)

        grades.append(
            grade(
                folder,
                runs=runs,
                workers=workers,
                seed=seed,
                progress=step,
                write=write,
                executor=executor,
            )
        )
    return grades


def default_workers() -> int:
    """One worker per core (the machine's, or what this process may use)."""
    try:
        return max(1, len(os.sched_getaffinity(0)))
    except AttributeError:  # not on Linux
        return max(1, os.cpu_count() or 1)
