"""W1 beside SimPy: both sides do the same work, and an anchor that loses messages is refused."""

from __future__ import annotations

import importlib.util
import time
from typing import Any

import pytest

from bench.broker_flow import FlowRun, simpy_flow, w1_broker_flow, w1_evsim, w1_scaling
from bench.rows import SameWorkError

needs_simpy = pytest.mark.skipif(
    importlib.util.find_spec("simpy") is None,
    reason="the SimPy anchor is an optional extra (pip install .[bench])",
)


def _any_of_flow(messages: int, processing_ms: int) -> FlowRun:
    """The model the bench used to run: each consumer waits on AnyOf over its two stores' gets.

    When both gets fire, the second message has already left its store, and it
    is never handled.
    """
    import simpy

    from simulator.models.log.partitioner import partition_for_key

    start = time.perf_counter()
    env = simpy.Environment()
    partitions = [simpy.Store(env) for _ in range(8)]
    placement = [partition_for_key(f"key-{k}", 8) for k in range(1000)]
    delivered: list[int] = []

    def producer(env: Any) -> Any:
        for i in range(messages):
            yield partitions[placement[i % 1000]].put(i)
            if i % 1000 == 999:
                yield env.timeout(1)

    def consumer(env: Any, own: list[int]) -> Any:
        while True:
            got = yield simpy.AnyOf(env, [partitions[p].get() for p in own])
            for msg in got.values():
                delivered.append(msg)
                if processing_ms:
                    yield env.timeout(processing_ms)
            for req in [e for e in got.events if not e.triggered]:
                req.cancel()

    env.process(producer(env))
    for c in range(4):
        env.process(consumer(env, [2 * c, 2 * c + 1]))
    env.run()
    return FlowRun(
        seconds=time.perf_counter() - start,
        delivered=len(delivered),
        processed=len(set(delivered)),
        end_ms=int(env.now),
        records=len(delivered),
    )


@needs_simpy
@pytest.mark.parametrize("processing_ms", [0, 1])
def test_w1_row_counts_every_message_delivered_on_both_sides(processing_ms: int) -> None:
    (row,) = w1_broker_flow(2_000, processing_ms)
    assert row.key == f"w1.processing_{processing_ms}ms"
    assert row.anchor_name == "SimPy" and row.anchor is not None and row.anchor > 0
    assert row.same_work is not None
    assert (row.same_work.expected, row.same_work.ours, row.same_work.anchor) == (2_000,) * 3
    assert row.ratio is not None and row.ratio == round(row.ratio, 1)
    assert row.verdict in ("met", "missed") and "1.5x SimPy" in row.target


@needs_simpy
def test_the_simpy_model_processes_the_same_messages_on_the_same_consumers() -> None:
    # 1 ms per message on 4 serial consumers: both runs end when the busiest consumer is done
    ours, theirs = w1_evsim(2_000, 1), simpy_flow(2_000, 1)
    assert theirs is not None
    assert theirs.delivered == theirs.processed == ours.processed == 2_000
    assert abs(theirs.end_ms - ours.end_ms) <= 5


@needs_simpy
def test_an_anchor_that_loses_messages_is_an_error_not_a_row() -> None:
    lost = _any_of_flow(2_000, 0)
    assert lost.delivered < 2_000  # the old model's bug, still there to be caught
    with pytest.raises(SameWorkError, match=r"expected 2,000 messages .* anchor"):
        w1_broker_flow(2_000, 0, anchor=_any_of_flow)


def test_without_simpy_the_row_says_anchor_not_installed() -> None:
    (row,) = w1_broker_flow(500, 0, anchor=lambda messages, processing_ms: None)
    assert row.anchor is None and row.anchor_name == "anchor not installed"
    assert row.ratio is None and row.verdict in ("missed", "no anchor")
    assert row.same_work is not None and row.same_work.anchor is None


def test_the_scaling_row_judges_the_cost_per_message_against_a_flat_band() -> None:
    (row,) = w1_scaling(200, 1_000)
    assert row.key == "w1.scaling"
    assert row.ours > 0
    assert [(t.op, t.bound) for t in row.targets] == [(">=", 0.9), ("<=", 1.1)]
    assert row.verdict == ("met" if 0.9 <= row.ours <= 1.1 else "missed")
    assert "us/msg at 200" in row.note
