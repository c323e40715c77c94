"""``evsim bench``: how fast the simulator runs, beside an anchor measured in the same run.

Benchmarks read the wall clock; the deterministic core never does, so nothing
here can change a trace. Each workload reports our figure, the anchor's figure
on the same machine in the same process (or "anchor not installed" — never a
made-up number), their ratio and the target. Anchors come from the optional
``bench`` extra: SimPy for the broker flow, the ``eventsourcing`` library for
the event store (see ``bench.store``).
"""

from __future__ import annotations

import gc
import time
import tracemalloc
from collections.abc import Callable, Iterator
from typing import Any

import msgspec

from simulator.models.log.partitioner import partition_for_key
from simulator.scenario import decode_scenario
from simulator.simulation import Simulation

__all__ = ["BenchRow", "run_all", "w1_broker_flow"]


class BenchRow(msgspec.Struct, frozen=True):
    workload: str
    unit: str
    ours: float
    anchor: float | None
    anchor_name: str
    ratio: float | None
    target: str
    ok: bool | None
    note: str = ""


W1_TOML = """
title = {{ en = "W1 broker flow", ko = "W1 브로커 흐름" }}
summary = {{ en = "benchmark", ko = "벤치마크" }}
settle_ms = 0
[[topics]]
name = "orders"
partitions = 8
[[producers]]
name = "checkout"
topic = "orders"
[[groups]]
name = "billing"
topic = "orders"
consumers = 4
commit = "after-process"
auto_offset_reset = "earliest"
processing_ms = {processing_ms}
[[workload.generators]]
producer = "checkout"
count = {messages}
keys = 1000
rate_per_s = 1000000
"""


def w1_simulation(messages: int, processing_ms: int) -> Simulation:
    """The W1 workload (keyed messages, 8 partitions, 4 consumers) as a ready simulation."""
    text = W1_TOML.format(messages=messages, processing_ms=processing_ms)
    return Simulation(decode_scenario(text.encode(), "w1.toml", "w1"), 1)


def _simpy_flow(messages: int, processing_ms: int) -> float | None:
    """The same flow in SimPy: keyed puts into 8 stores, 4 consumers of 2 stores each."""
    try:
        import simpy
    except ImportError:
        return None
    env = simpy.Environment()
    partitions = [simpy.Store(env) for _ in range(8)]
    trace: list[tuple[int, str, int, int]] = []
    keys = [f"key-{k}" for k in range(1000)]
    placement = [partition_for_key(k, 8) for k in keys]

    def producer(env: Any) -> Any:
        for i in range(messages):
            p = placement[i % 1000]
            trace.append((int(env.now), "produced", i, p))
            yield partitions[p].put(i)
            if i % 1000 == 999:
                yield env.timeout(1)

    def consumer(env: Any, own: list[int]) -> Any:
        while True:
            got = yield simpy.AnyOf(env, [partitions[p].get() for p in own])
            for msg in got.values():
                trace.append((int(env.now), "delivered", msg, 0))
                if processing_ms:
                    yield env.timeout(processing_ms)
                trace.append((int(env.now), "processed", msg, 0))
            # AnyOf leaves the other get pending; cancel what did not fire
            for req in [e for e in got.events if not e.triggered]:
                req.cancel()

    env.process(producer(env))
    for c in range(4):
        env.process(consumer(env, [2 * c, 2 * c + 1]))
    start = time.perf_counter()
    env.run()
    elapsed = time.perf_counter() - start
    delivered = sum(1 for t in trace if t[1] == "delivered")
    return delivered / elapsed


def w1_broker_flow(messages: int = 200_000, processing_ms: int = 1) -> list[BenchRow]:
    """W1: keyed messages, 8 partitions, a group of 4 consumers, at-least-once, trace on."""
    gc.collect()
    sim = w1_simulation(messages, processing_ms)
    start = time.perf_counter()
    sim.run()
    elapsed = time.perf_counter() - start
    delivered = sum(b.delivered for b in sim.checker.groups.values())
    ours = delivered / elapsed
    anchor = _simpy_flow(messages, processing_ms)
    ratio = ours / anchor if anchor else None
    label = f"W1 broker flow ({messages:,} msgs, processing {processing_ms} ms)"
    return [
        BenchRow(
            workload=label,
            unit="deliveries/s",
            ours=ours,
            anchor=anchor,
            anchor_name="SimPy" if anchor else "anchor not installed",
            ratio=ratio,
            target=">= 250,000/s; >= 1.5x SimPy",
            ok=ours >= 250_000 and (ratio is None or ratio >= 1.5),
            note=f"{len(sim.trace):,} trace records in {elapsed:.2f} s",
        )
    ]


def w7_memory(messages: int = 200_000) -> list[BenchRow]:
    """W7: bytes of memory held per trace record."""
    gc.collect()
    tracemalloc.start()
    sim = w1_simulation(messages, 0)
    sim.run()
    gc.collect()
    with_trace, _ = tracemalloc.get_traced_memory()
    records = len(sim.trace)
    sim.trace.records.clear()
    gc.collect()
    without, _ = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    per_record = (with_trace - without) / max(records, 1)
    return [
        BenchRow(
            workload=f"W7 memory per trace record ({records:,} records)",
            unit="bytes/record",
            ours=per_record,
            anchor=None,
            anchor_name="-",
            ratio=None,
            target="<= 150 (issue 8), < 200 (issue 2)",
            ok=per_record <= 150,
        )
    ]


def queue_models(messages: int = 200_000) -> list[BenchRow]:
    """The same workload through every broker model (deliveries per second)."""
    from bench.queues import run_benchmark

    rates = run_benchmark(messages)
    log_rate = rates.get("log")
    rows = []
    for model, rate in rates.items():
        rows.append(
            BenchRow(
                workload=f"queue workload via {model} ({messages:,} msgs)",
                unit="deliveries/s",
                ours=rate,
                anchor=log_rate if model != "log" else None,
                anchor_name="log model" if model != "log" else "-",
                ratio=rate / log_rate if log_rate and model != "log" else None,
                target="within 2x of the log model",
                ok=None if model == "log" or not log_rate else rate >= log_rate / 2,
            )
        )
    return rows


def event_store(scale: int = 1_000_000) -> list[BenchRow]:
    """W2–W4 from ``bench.store``, flattened to rows."""
    from bench.store import run_benchmarks

    figures = run_benchmarks(scale)
    rows = []
    for name in ("append", "rehydrate", "projection"):
        section = figures.get(name)
        if not isinstance(section, dict):
            continue
        for label, value in _flatten(name, section):
            rows.append(label_row(label, value))
    return rows


def store_lesson(commands: int = 100_000) -> list[BenchRow]:
    """A lesson-sized command side (``bench.store.bench_lesson_commands``), one row a backend."""
    from bench.store import bench_lesson_commands

    figures = bench_lesson_commands(commands)
    rows = []
    for backend, value in figures["results"].items():
        seconds = value["seconds"] if isinstance(value, dict) else 0.0
        rows.append(
            BenchRow(
                workload=f"store: {commands:,} lesson commands, {backend} ({seconds:.1f} s)",
                unit="commands/s",
                ours=float(value["events_per_s"] or 0) if isinstance(value, dict) else 0.0,
                anchor=None,
                anchor_name="-",
                ratio=None,
                target="linear in commands",
                ok=None,
            )
        )
    return rows


def streaming(records: int = 20_000) -> list[BenchRow]:
    """A windowed aggregation: the operator alone, and inside a whole simulation."""
    from bench.streams import bench_streams

    figures = bench_streams(records)
    rows = []
    for key, label in (
        ("operator_records_per_s", "window operator alone"),
        ("simulation_records_per_s", "end to end, with changelog and trace"),
    ):
        rows.append(
            BenchRow(
                workload=f"streams: {label} ({records:,} records)",
                unit="records/s",
                ours=float(figures[key]),
                anchor=None,
                anchor_name="-",
                ratio=None,
                target="report",
                ok=None,
            )
        )
    return rows


def _flatten(prefix: str, section: dict[str, Any]) -> list[tuple[str, Any]]:
    out: list[tuple[str, Any]] = []
    for key, value in section.items():
        if isinstance(value, dict):
            out.extend(_flatten(f"{prefix}.{key}", value))
        else:
            out.append((f"{prefix}.{key}", value))
    return out


def label_row(label: str, value: Any) -> BenchRow:
    number = float(value) if isinstance(value, int | float) and not isinstance(value, bool) else 0.0
    note = "" if isinstance(value, int | float) and not isinstance(value, bool) else str(value)
    return BenchRow(
        workload=f"W2-W4 {label}",
        unit="",
        ours=number,
        anchor=None,
        anchor_name="-",
        ratio=None,
        target="see docs/performance.md",
        ok=None,
        note=note,
    )


def run_all(
    quick: bool = False, views: Callable[[int], list[BenchRow]] | None = None
) -> Iterator[BenchRow]:
    """Every workload, each row as soon as it is measured; ``quick``: a tenth of the size.

    ``views`` adds the view benchmarks (W6, W8), which live in ``tui`` because
    the core imports no UI library.
    """
    scale = 10 if quick else 1
    steps: list[Callable[[], list[BenchRow]]] = [
        lambda: w1_broker_flow(200_000 // scale, 1),
        lambda: w1_broker_flow(200_000 // scale, 0),
        lambda: w7_memory(200_000 // scale),
        lambda: queue_models(200_000 // scale),
        lambda: streaming(20_000 // scale),
        lambda: event_store(1_000_000 // scale),
        lambda: store_lesson(100_000 // scale),
    ]
    if views is not None:
        steps.append(lambda: views(200_000 // scale))
    for step in steps:
        yield from step()
