"""W1, the broker flow, beside the same flow written in SimPy.

The work: keyed messages (1,000 keys) into a topic of 8 partitions, one group
of 4 consumers, each owning 2 partitions; a consumer takes one message at a
time, processes it for ``processing_ms`` and then commits (at-least-once).
evsim runs it from scenario TOML with the full trace and the live checker.

The SimPy model is the plain producer → store → consumer shape of SimPy's own
examples: the producer hashes the key to a partition (the same murmur2
partitioner) and puts the message into the store of the consumer that owns
that partition; each consumer loops on one ``Store.get()``. A store per
consumer stands for the consumer's fetch buffer: it holds its partitions'
messages in the order they were appended, and one ``get`` per loop can never
take a message it will not handle. (Waiting on ``AnyOf`` over two stores' gets
can: when both gets fire, the second message is taken out of its store and
never handled.) Both sides end the 1 ms run at the same virtual time, about
53,200 ms, because they process the same messages on the same consumers.

Both timers cover the same span: ours decodes the scenario, builds the
simulation (which creates the messages) and runs it; SimPy's builds its
environment and stores and runs. After each run, and outside the timer, both
sides count what they delivered and processed; a count that is not the number
of messages is a ``SameWorkError``, not a row.
"""

from __future__ import annotations

import gc
import time
from collections.abc import Callable
from typing import Any, NamedTuple

from bench.rows import ANCHOR_NOT_INSTALLED, BenchRow, at_least, at_most, bench_row, same_work
from simulator.models.log.partitioner import partition_for_key
from simulator.scenario import decode_scenario
from simulator.simulation import Simulation

__all__ = [
    "FlowRun",
    "simpy_flow",
    "w1_broker_flow",
    "w1_evsim",
    "w1_scaling",
    "w1_simulation",
]

PARTITIONS = 8
CONSUMERS = 4
KEYS = 1000
MESSAGES_PER_MS = 1000
"""The producer's rate: ``rate_per_s = 1000000`` in the scenario, a burst per millisecond."""

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


class FlowRun(NamedTuple):
    """One run of the flow: wall seconds (setup included) and what was counted after it."""

    seconds: float
    delivered: int
    processed: int
    """Distinct messages processed."""
    end_ms: int
    """Virtual time at which the run ended."""
    records: int
    """Trace records (SimPy's: its own produced/delivered/processed tuples)."""
    cpu_seconds: float = 0.0
    """Processor time of the same span (``time.process_time``): on a machine shared with
    other work, less swayed by it than the wall clock; reported beside the verdict."""


def w1_simulation(messages: int, processing_ms: int) -> Simulation:
    """The W1 workload (keyed messages, 8 partitions, 4 consumers) as a ready simulation."""
    text = W1_TOML.format(messages=messages, processing_ms=processing_ms)
    return Simulation(decode_scenario(text.encode(), "w1.toml", "w1"), 1)


def w1_evsim(messages: int, processing_ms: int) -> FlowRun:
    """evsim's side: decode, build and run, timed together; then count."""
    gc.collect()
    start = time.perf_counter()
    cpu = time.process_time()
    sim = w1_simulation(messages, processing_ms)
    sim.run()
    seconds = time.perf_counter() - start
    cpu = time.process_time() - cpu
    books = list(sim.checker.groups.values())
    return FlowRun(
        seconds=seconds,
        delivered=sum(b.delivered for b in books),
        processed=sum(len(b.first_processed) for b in books),
        end_ms=sim.kernel.now_ms,
        records=len(sim.trace),
        cpu_seconds=cpu,
    )


def simpy_flow(messages: int, processing_ms: int) -> FlowRun | None:
    """SimPy's side, or None when SimPy is not installed."""
    try:
        import simpy
    except ImportError:
        return None
    gc.collect()
    start = time.perf_counter()
    cpu = time.process_time()
    env = simpy.Environment()
    # range assignment, as the evsim group does: consumer c owns partitions 2c and 2c+1
    owner = [p * CONSUMERS // PARTITIONS for p in range(PARTITIONS)]
    fetch_buffers = [simpy.Store(env) for _ in range(CONSUMERS)]
    keys = [f"key-{k}" for k in range(KEYS)]
    placement = [partition_for_key(key, PARTITIONS) for key in keys]
    next_offset = [0] * PARTITIONS
    committed = [0] * PARTITIONS
    trace: list[tuple[float, str, int, int]] = []

    def producer(env: Any) -> Any:
        for i in range(messages):
            key = i % KEYS
            partition = placement[key]
            offset = next_offset[partition]
            next_offset[partition] = offset + 1
            trace.append((env.now, "produced", i, partition))
            yield fetch_buffers[owner[partition]].put((i, keys[key], partition, offset))
            if i % MESSAGES_PER_MS == MESSAGES_PER_MS - 1:
                yield env.timeout(1)

    def consumer(env: Any, fetch_buffer: Any) -> Any:
        while True:
            msg, _key, partition, offset = yield fetch_buffer.get()
            trace.append((env.now, "delivered", msg, partition))
            if processing_ms:
                yield env.timeout(processing_ms)
            trace.append((env.now, "processed", msg, partition))
            committed[partition] = offset + 1  # commit after processing: at-least-once

    env.process(producer(env))
    for fetch_buffer in fetch_buffers:
        env.process(consumer(env, fetch_buffer))
    env.run()
    seconds = time.perf_counter() - start
    cpu = time.process_time() - cpu
    return FlowRun(
        seconds=seconds,
        delivered=sum(1 for t in trace if t[1] == "delivered"),
        processed=len({t[2] for t in trace if t[1] == "processed"}),
        end_ms=int(env.now),
        records=len(trace),
        cpu_seconds=cpu,
    )


def w1_broker_flow(
    messages: int = 200_000,
    processing_ms: int = 1,
    anchor: Callable[[int, int], FlowRun | None] = simpy_flow,
) -> list[BenchRow]:
    """W1: ours beside SimPy on the same work, the same span timed on both sides.

    ``anchor`` is the SimPy side (a parameter so a test can hand it a model
    that loses messages and see the row refused).
    """
    label = f"W1 broker flow ({messages:,} msgs, processing {processing_ms} ms)"
    ours = w1_evsim(messages, processing_ms)
    theirs: FlowRun | None = anchor(messages, processing_ms)
    work = same_work(
        label,
        "messages delivered",
        messages,
        ours.delivered,
        None if theirs is None else theirs.delivered,
    )
    same_work(
        label,
        "messages processed",
        messages,
        ours.processed,
        None if theirs is None else theirs.processed,
    )
    rate = ours.delivered / ours.seconds
    note = f"{ours.records:,} trace records, {ours.seconds:.2f} s, ends at {ours.end_ms:,} ms"
    if theirs is not None:
        note += f"; SimPy {theirs.seconds:.2f} s, ends at {theirs.end_ms:,} ms"
        if ours.cpu_seconds > 0:
            note += (
                f"; CPU time {ours.cpu_seconds:.2f} s vs SimPy {theirs.cpu_seconds:.2f} s "
                f"({theirs.cpu_seconds / ours.cpu_seconds:.2f}x)"
            )
    note += "; setup included on both sides"
    return [
        bench_row(
            key=f"w1.processing_{processing_ms}ms",
            workload=label,
            unit="deliveries/s",
            ours=rate,
            anchor=None if theirs is None else theirs.delivered / theirs.seconds,
            anchor_name=ANCHOR_NOT_INSTALLED if theirs is None else "SimPy",
            targets=(
                at_least(250_000, source="issue 2"),
                at_least(1.5, "ratio", source="issue 8"),
            ),
            work=work,
            note=note,
        )
    ]


def w1_scaling(small: int = 50_000, large: int = 1_000_000) -> list[BenchRow]:
    """W1 at 0 ms: the cost per message of a large run over that of a small one.

    A flat cost (the ratio near 1) means a long run takes proportionally
    longer and no more: nothing per message grows with what the run has
    already done (the collector rescanning a growing heap, a list searched
    from the front). The cost is CPU time (``time.process_time``, the
    kernel's share included): the wall clock of a small run moves with
    whatever else the machine does, and a ratio of two such moves says
    nothing. Each size is the median of five runs (one for a large run); the
    same span is timed as in W1, and the wall clock is in the note.
    """

    def per_message(messages: int, runs: int) -> tuple[float, float]:
        done = sorted(
            (r.cpu_seconds, r.seconds) for r in (w1_evsim(messages, 0) for _ in range(runs))
        )
        cpu, wall = done[len(done) // 2]
        return cpu / messages, wall / messages

    small_cost, small_wall = per_message(small, 5)
    large_cost, large_wall = per_message(large, 5 if large <= 200_000 else 1)
    return [
        bench_row(
            key="w1.scaling",
            workload=f"W1 CPU cost per message, {large:,} msgs over {small:,} (processing 0 ms)",
            unit="x",
            ours=large_cost / small_cost,
            targets=(at_least(0.9, source="issue 19"), at_most(1.1, source="issue 19")),
            note=(
                f"CPU {small_cost * 1e6:.2f} us/msg at {small:,}, {large_cost * 1e6:.2f} us/msg "
                f"at {large:,} (wall {small_wall * 1e6:.2f} and {large_wall * 1e6:.2f}); "
                "setup included"
            ),
        )
    ]
