"""Competing consumers: round-robin with prefetch room, acks, auto-ack, and a crashed channel."""

from __future__ import annotations

from conftest import scenario_from

from simulator.lessons.summary import summarize
from simulator.simulation import Simulation
from simulator.trace import Crashed, Delivered, DeliveryAcked, Processed, Requeued

BASE = """
broker = "rabbitmq"
[[topics]]
name = "orders"
[[producers]]
name = "shop"
topic = "orders"
[[groups]]
name = "billing"
topic = "orders"
consumers = {consumers}
processing_ms = {processing_ms}
commit = "{commit}"
[groups.rabbitmq]
prefetch = {prefetch}
ack_multiple = {ack_multiple}
[[workload.generators]]
producer = "shop"
count = {count}
keys = 3
rate_per_s = {rate}
"""


def _sim(extra: str = "", **kw: object) -> Simulation:
    params: dict[str, object] = dict(
        consumers=2,
        processing_ms=10,
        commit="after-process",
        prefetch=1,
        ack_multiple=1,
        count=12,
        rate=1000,
    )
    params.update(kw)
    return Simulation(scenario_from(BASE.format(**params) + extra))


def test_consumers_take_turns_among_those_with_prefetch_room() -> None:
    trace = _sim(consumers=3, count=9, rate=10_000).run()
    order = [r.consumer for r in trace if isinstance(r, Delivered)]
    assert order[:3] == ["billing-0", "billing-1", "billing-2"]
    assert {order.count(c) for c in ("billing-0", "billing-1", "billing-2")} == {3}


def test_prefetch_bounds_unacked_deliveries_per_consumer() -> None:
    trace = _sim(prefetch=2, count=30, rate=100_000, processing_ms=5).run()
    held: dict[str, int] = {}
    peak = 0
    for r in trace:
        if isinstance(r, Delivered):
            held[r.consumer] = held.get(r.consumer, 0) + 1
            peak = max(peak, held[r.consumer])
        elif isinstance(r, DeliveryAcked):
            held[r.consumer] -= r.count
    assert peak == 2


def test_prefetch_zero_is_unlimited_so_a_burst_is_pushed_out_at_once() -> None:
    trace = _sim(prefetch=0, count=20, rate=10_000_000, processing_ms=50).run()
    deliveries = [r for r in trace if isinstance(r, Delivered)]
    assert len(deliveries) == 20
    assert max(r.at for r in deliveries) <= 5  # all handed out before the first ack


def test_ack_multiple_settles_several_deliveries_with_one_ack() -> None:
    trace = _sim(prefetch=10, ack_multiple=3, consumers=1, count=9, rate=100_000).run()
    acks = [r for r in trace if isinstance(r, DeliveryAcked)]
    assert acks and all(r.multiple for r in acks)
    assert sum(r.count for r in acks) == 9
    assert max(r.count for r in acks) == 3


def test_crashed_consumer_has_its_unacked_requeued_as_redelivered_to_another() -> None:
    crash = """
[[faults]]
kind = "crash"
target = "billing-0"
at_ms = 25
"""
    sim = _sim(crash, prefetch=5, count=12, rate=1000, processing_ms=20)
    summary = summarize(sim)
    trace = sim.trace
    crashed = next(r for r in trace if isinstance(r, Crashed))
    requeued = [r for r in trace if isinstance(r, Requeued)]
    assert requeued and all(r.reason == "channel closed" for r in requeued)
    assert all(r.cause_seq == crashed.seq for r in requeued)
    again = [r for r in trace if isinstance(r, Delivered) and r.redelivered]
    assert {r.msg for r in again} == {r.msg for r in requeued}
    assert all(r.consumer == "billing-1" for r in again)
    assert summary.lost == 0
    assert summary.out_of_order > 0  # a later message of the same key was processed first


def test_auto_ack_loses_what_the_crashed_consumer_held() -> None:
    crash = """
[[faults]]
kind = "crash"
target = "billing-0"
at_ms = 25
"""
    sim = _sim(crash, commit="before-process", count=12, rate=1000, processing_ms=20)
    summary = summarize(sim)
    assert summary.lost > 0
    assert not any(isinstance(r, Requeued) for r in sim.trace)


def test_crash_between_process_and_ack_processes_twice() -> None:
    crash = """
[[faults]]
kind = "crash"
target = "billing-0"
at = "after_process_before_commit"
restart_after_ms = 5
"""
    sim = _sim(crash, count=6)
    summary = summarize(sim)
    assert summary.duplicates == 1
    assert summary.lost == 0
    first = next(r for r in sim.trace if isinstance(r, Processed))
    again = [r for r in sim.trace if isinstance(r, Delivered) and r.msg == first.msg]
    assert [r.redelivered for r in again] == [False, True]
