"""``evsim bench``: how fast the simulator runs, beside an anchor measured in the same run.

Benchmarks read the wall clock; the deterministic core never does, so nothing
here can change a trace. Each workload gives rows (``bench.rows``): our
figure, the anchor's figure on the same machine in the same run (or "anchor
not installed" — never a made-up number), their ratio, the targets and a
verdict computed from them. An anchor row also counts the work both sides did
and refuses to exist when the counts differ. Anchors come from the optional
``bench`` extra: SimPy for the broker flow (``bench.broker_flow``), the
``eventsourcing`` library for the event store (``bench.store``); exercise
grading with two worker processes is measured beside one (``bench.grading``).
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any

from bench.broker_flow import w1_broker_flow, w1_scaling, w1_simulation
from bench.grading import grading_scaling
from bench.memory import w7_memory, w7_spilled
from bench.rows import (
    ANCHOR_NOT_INSTALLED,
    BenchRow,
    SameWorkError,
    Target,
    at_least,
    bench_row,
    same_work,
)

__all__ = [
    "BenchRow",
    "SameWorkError",
    "event_store",
    "grading_scaling",
    "queue_models",
    "run_all",
    "streaming",
    "w1_broker_flow",
    "w1_scaling",
    "w1_simulation",
    "w7_memory",
    "w7_spilled",
]


def queue_models(messages: int = 200_000) -> list[BenchRow]:
    """The same workload through every broker model, each beside the log model."""
    from bench.queues import measure_models

    runs = measure_models(messages)
    log = runs.get("log")
    rows = []
    for model, run in runs.items():
        label = f"queue workload via {model} ({messages:,} msgs)"
        is_log = model == "log"
        anchor = None if is_log or log is None else log
        work = same_work(
            label,
            "messages delivered",
            messages,
            run.delivered,
            None if anchor is None else anchor.delivered,
        )
        same_work(label, "messages processed", messages, run.processed, None)
        rows.append(
            bench_row(
                key=f"queues.{model}",
                workload=label,
                unit="deliveries/s",
                ours=run.deliveries_per_s,
                anchor=None if anchor is None else anchor.deliveries_per_s,
                anchor_name="-" if anchor is None else "log model",
                targets=() if is_log else (at_least(0.5, "ratio", source="issue 3"),),
                work=work,
                note=f"{run.seconds:.2f} s, setup included",
            )
        )
    return rows


def store_lesson(commands: int = 100_000) -> list[BenchRow]:
    """A lesson-sized command side (``bench.store.bench_lesson_commands``), one row a backend."""
    from bench.store import bench_lesson_commands

    figures = bench_lesson_commands(commands)
    rows = []
    for backend, value in figures["results"].items():
        if not isinstance(value, dict):
            continue
        rows.append(
            bench_row(
                key=f"store.lesson_commands.{backend}",
                workload=f"store: {commands:,} lesson commands, {backend}",
                unit="commands/s",
                ours=float(value["events_per_s"] or 0),
                note=f"{value['seconds']:.1f} s; cost per command should stay flat as it grows",
            )
        )
    return rows


def streaming(records: int = 20_000) -> list[BenchRow]:
    """A windowed aggregation: the operator alone, and inside a whole simulation."""
    from bench.streams import bench_streams

    figures = bench_streams(records)
    return [
        bench_row(
            key=f"streams.{key}",
            workload=f"streams: {label} ({records:,} records)",
            unit="records/s",
            ours=float(figures[figure]),
        )
        for key, figure, label in (
            ("operator", "operator_records_per_s", "window operator alone"),
            ("end_to_end", "simulation_records_per_s", "end to end, with changelog and trace"),
        )
    ]


# Each comparison with the library: row key, section, our result, the anchor's result, label.
# The library's SQLite defaults commit with synchronous=FULL (an fsync per commit) and ours
# with NORMAL, so only the rows with the anchor on our pragmas are like for like and carry
# the target; the rows against its defaults report the figure.
_STORE_ROWS = (
    ("w2.append.memory", "append", "evsim-memory", "popo", "W2 append, in memory"),
    ("w2.append.sqlite_defaults", "append", "evsim-sqlite", "sqlite", "W2 append, SQLite"),
    ("w2.append.sqlite", "append", "evsim-sqlite", "sqlite-tuned", "W2 append, SQLite"),
    (
        "w2.append.sqlite_group",
        "append",
        "evsim-sqlite-group",
        "sqlite-tuned",
        "W2 append, SQLite, group commit",
    ),
    ("w3.rehydrate.memory", "rehydrate", "evsim-memory", "popo", "W3 rehydrate, in memory"),
    ("w3.rehydrate.sqlite_defaults", "rehydrate", "evsim-sqlite", "sqlite", "W3 rehydrate, SQLite"),
    ("w3.rehydrate.sqlite", "rehydrate", "evsim-sqlite", "sqlite-tuned", "W3 rehydrate, SQLite"),
    (
        "w4.projection.sqlite_defaults",
        "projection",
        "evsim-sqlite",
        "sqlite",
        "W4 projection rebuild from SQLite",
    ),
    (
        "w4.projection.sqlite",
        "projection",
        "evsim-sqlite",
        "sqlite-tuned",
        "W4 projection rebuild from SQLite",
    ),
)

_ANCHOR_NAMES = {
    "popo": "eventsourcing, in memory",
    "sqlite": "eventsourcing, its SQLite defaults",
    "sqlite-tuned": "eventsourcing, our SQLite pragmas",
}

_STORE_TARGETS: dict[str, tuple[Target, ...]] = {
    "append": (at_least(10, "ratio", source="issue 8"),),
    "rehydrate": (at_least(10, "ratio", source="issue 8"),),
    "projection": (at_least(500_000, source="issue 8"),),
}


def event_store(scale: int = 1_000_000) -> list[BenchRow]:
    """W2–W4 from ``bench.store``: one row per comparison with the library."""
    from bench.store import run_benchmarks

    figures = run_benchmarks(scale)
    rows = [_store_row(figures, *spec) for spec in _STORE_ROWS if spec[1] in figures]
    known = {spec[1] for spec in _STORE_ROWS} | {"scale"}
    for name, section in figures.items():  # a case added to bench.store without a row here
        if name not in known and isinstance(section, dict):
            rows.extend(_report_rows(name, section))
    return rows


def _store_row(
    figures: dict[str, Any], key: str, section: str, ours_name: str, backend: str, label: str
) -> BenchRow:
    bench = figures[section]
    ours = bench["results"][ours_name]
    theirs = bench["results"].get(f"eventsourcing-{backend}", ANCHOR_NOT_INSTALLED)
    installed = not isinstance(theirs, str)
    counted = "stored" if section == "append" else "events"
    what = {
        "append": "events stored",
        "rehydrate": "events replayed",
        "projection": "events read",
    }[section]
    totals = bench.get("totals_agree") if installed else None
    work = same_work(
        f"{label} ({bench['workload']})",
        what,
        int(bench["expected_events"]),
        int(ours[counted]),
        int(theirs[counted]) if installed else None,
        totals_agree=None if totals is None else bool(totals),
    )
    like_for_like = backend != "sqlite"
    note = f"{bench['workload']}; {ours['seconds']:.2f} s; {bench['anchor']}"
    if installed and ours.get("cpu_events_per_s") and theirs.get("cpu_events_per_s"):
        cpu_ratio = ours["cpu_events_per_s"] / theirs["cpu_events_per_s"]
        note += f"; by CPU time {ours['cpu_events_per_s']:,} events/s, {cpu_ratio:.1f}x the anchor"
    if not like_for_like:
        note += "; the anchor on its own SQLite defaults (synchronous=FULL), not ours"
    if ours_name == "evsim-sqlite-group":
        note += (
            "; ours commits 100 appends per transaction, each answered after its commit; "
            "the anchor one per save"
        )
    floor = bench["results"].get("sqlite-floor")
    if key == "w2.append.sqlite" and isinstance(floor, dict):
        note += (
            f"; the hand-written SQL floor runs {floor['events_per_s']:,} events/s, "
            f"we run at {ours['events_per_s'] / floor['events_per_s']:.0%} of it"
        )
    return bench_row(
        key=key,
        workload=label,
        unit="events/s",
        ours=float(ours["events_per_s"]),
        anchor=float(theirs["events_per_s"]) if installed else None,
        anchor_name=_ANCHOR_NAMES[backend] if installed else ANCHOR_NOT_INSTALLED,
        targets=_STORE_TARGETS[section] if like_for_like else (),
        work=work,
        note=note,
    )


def _report_rows(prefix: str, section: dict[str, Any]) -> list[BenchRow]:
    """Rows for figures that have no target yet: each number, reported as it is."""
    rows = []
    for name, value in _flatten(prefix, section):
        if isinstance(value, int | float) and not isinstance(value, bool):
            rows.append(bench_row(key=name, workload=name, unit="", ours=float(value)))
    return rows


def _flatten(prefix: str, section: dict[str, Any]) -> list[tuple[str, Any]]:
    out: list[tuple[str, Any]] = []
    for key, value in section.items():
        if isinstance(value, dict):
            out.extend(_flatten(f"{prefix}.{key}", value))
        else:
            out.append((f"{prefix}.{key}", value))
    return out


def run_all(
    quick: bool = False,
    views: Callable[[int], list[BenchRow]] | None = None,
    *,
    divide_by: int | None = None,
) -> Iterator[BenchRow]:
    """Every workload, each row as soon as it is measured.

    ``quick``: a tenth of the size; ``divide_by``: any fraction (the tests run
    a thousandth). ``views`` adds the view benchmarks (W6, W8, ``bench.views``),
    which import the TUI; a caller without it passes None.
    """
    scale = divide_by or (10 if quick else 1)
    small_run = 50_000 // scale
    if scale <= 10:
        # At 5,000 messages (a tenth of 50,000) the whole run fits in the processor's
        # caches: --quick compares 20,000 with 100,000 instead.
        small_run = max(small_run, 20_000)
    steps: list[Callable[[], list[BenchRow]]] = [
        lambda: w1_broker_flow(200_000 // scale, 1),
        lambda: w1_broker_flow(200_000 // scale, 0),
        lambda: w1_scaling(small_run, 1_000_000 // scale),
        lambda: w7_memory(200_000 // scale),
        lambda: w7_spilled(200_000 // scale),
        lambda: queue_models(200_000 // scale),
        lambda: streaming(20_000 // scale),
        lambda: event_store(1_000_000 // scale),
        lambda: store_lesson(100_000 // scale),
        lambda: grading_scaling(max(4, 4_000 // scale)),
    ]
    if views is not None:
        steps.append(lambda: views(200_000 // scale))
    for step in steps:
        yield from step()
