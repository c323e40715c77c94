"""Exploration across cores: exercise grading with two worker processes beside one.

``evsim exercise grade`` explores a submission case after case; with
``--workers N`` the cases run in a pool of N processes (``evsim.grade``). This
row grades the same passing submission of one exercise twice, with the same
runs and the same seed — once in this process (one worker), once with two
worker processes — and compares the runs per second. Each side is timed as a
teacher would time ``evsim exercise grade``: the determinism check and, for
the pool, the start of its processes included. Both sides must explore every
run, or there is no row.

The submission is a correct idempotent consumer written here, so that no case
fails and ends the exploration early. On a shared machine the wall-clock
ratio says how much of two cores the pool got; the note adds the CPU time
per run on each side (the pool's workers included), whose ratio, doubled, is
what two idle cores would give.
"""

from __future__ import annotations

import os
import resource
import shutil
import tempfile
import time
from pathlib import Path

from bench.rows import BenchRow, at_least, bench_row, same_work

__all__ = ["EXERCISE", "grading_scaling"]

EXERCISE = "idempotent-consumer"

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


def _submission(root: Path) -> Path:
    """A folder like ``evsim exercise start`` makes, with a correct handler in it."""
    from simulator.lessons.exercises import load_exercise

    ex = load_exercise(EXERCISE)
    folder = root / EXERCISE
    folder.mkdir()
    for name in ex.files():
        shutil.copyfile(ex.directory / name, folder / name)
    (folder / ex.spec.starter).write_text(IDEMPOTENT_CONSUMER, encoding="utf-8")
    return folder


def _cpu_seconds() -> float:
    """CPU time of this process and of the children it has waited for (the pool's workers)."""
    own = resource.getrusage(resource.RUSAGE_SELF)
    children = resource.getrusage(resource.RUSAGE_CHILDREN)
    return own.ru_utime + own.ru_stime + children.ru_utime + children.ru_stime


def _runs_per_second(folder: Path, runs: int, workers: int) -> tuple[float, int, float]:
    """(runs per second of wall clock, runs explored, CPU seconds per run)."""
    from evsim.grade import grade

    cpu = _cpu_seconds()
    started = time.perf_counter()
    g = grade(folder, runs=runs, workers=workers, write=False)
    seconds = time.perf_counter() - started
    cpu = _cpu_seconds() - cpu
    if g.verdict != "pass":
        raise RuntimeError(f"the bench's own submission did not pass: {g.detail}")
    return g.runs / seconds, g.runs, cpu / max(1, g.runs)


def grading_scaling(runs: int = 4_000) -> list[BenchRow]:
    """Grading runs/s with two worker processes, beside one, on the same runs."""
    with tempfile.TemporaryDirectory(prefix="evsim-bench-grade-") as tmp:
        folder = _submission(Path(tmp))
        alone, alone_runs, alone_cpu = _runs_per_second(folder, runs, 1)
        pooled, pooled_runs, pooled_cpu = _runs_per_second(folder, runs, 2)
    label = f"exercise grading ({EXERCISE}, {runs:,} runs): 2 worker processes vs 1"
    load = os.getloadavg()[0] if hasattr(os, "getloadavg") else float("nan")
    return [
        bench_row(
            key="exploration.workers_2",
            workload=label,
            unit="runs/s",
            ours=pooled,
            anchor=alone,
            anchor_name="1 worker",
            targets=(at_least(1.8, "ratio", source="issue 19"),),
            work=same_work(label, "cases explored", runs, pooled_runs, alone_runs),
            note=(
                f"{os.cpu_count()} cores, load {load:.1f} at the end; the pool's start and"
                f" the determinism check are timed on both sides; CPU per run"
                f" {alone_cpu * 1e3:.1f} ms alone, {pooled_cpu * 1e3:.1f} ms with the pool:"
                f" {2 * alone_cpu / pooled_cpu:.2f}x on two idle cores"
            ),
        )
    ]
