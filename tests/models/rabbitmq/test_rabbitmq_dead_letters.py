"""Nack and requeue loops, the DLX, TTL, length limits, delivery limits, publisher confirms."""

from __future__ import annotations

import pytest
from conftest import scenario_from

from simulator.errors import InputError
from simulator.lessons.summary import summarize
from simulator.simulation import Simulation
from simulator.trace import (
    DeadLettered,
    Delivered,
    MessageExpired,
    Nacked,
    ProduceFailed,
    ProduceRetried,
    QueueOverflowed,
    Requeued,
    SentUnacknowledged,
    Skipped,
)

TOPICS = """
broker = "rabbitmq"
[[topics]]
name = "orders"
[[topics]]
name = "orders-dlx"
[[producers]]
name = "shop"
topic = "orders"
"""

POISON = """
[[faults]]
kind = "poison"
msgs = [1]
"""


def _messages(n: int, every_ms: int = 10) -> str:
    return "".join(
        f'[[workload.messages]]\nproducer = "shop"\nkey = "k"\nat_ms = {i * every_ms}\n'
        for i in range(n)
    )


def test_requeue_on_failure_loops_a_poison_message_for_ever() -> None:
    body = (
        "until_ms = 500\n"
        + TOPICS
        + """
[[groups]]
name = "billing"
topic = "orders"
processing_ms = 10
[groups.rabbitmq]
requeue_on_failure = true
"""
        + POISON
        + _messages(1)
    )
    sim = Simulation(scenario_from(body))
    trace = sim.run()
    assert sim.finish_reason == "until"
    deliveries = [r for r in trace if isinstance(r, Delivered)]
    assert len(deliveries) > 20
    assert all(r.redelivered for r in deliveries[1:])
    requeued = [r for r in trace if isinstance(r, Requeued)]
    assert requeued and {r.position for r in requeued} == {0}
    assert all(r.requeue for r in trace if isinstance(r, Nacked))


def test_requeued_message_goes_back_to_its_original_position() -> None:
    body = (
        TOPICS
        + """
[[groups]]
name = "billing"
topic = "orders"
processing_ms = 10
[groups.rabbitmq]
prefetch = 1
requeue_on_failure = true
[[faults]]
kind = "handler-error"
group = "billing"
probability = 1.0
to_ms = 15
"""
        + _messages(3, every_ms=1)
    )
    trace = Simulation(scenario_from(body)).run()
    requeued = next(r for r in trace if isinstance(r, Requeued))
    assert requeued.msg == 1 and requeued.position == 0
    order = [r.msg for r in trace if isinstance(r, Delivered)]
    assert order[:3] == [1, 1, 2]


def test_reject_without_requeue_dead_letters_to_the_dlx_queue() -> None:
    body = (
        TOPICS
        + """
[[groups]]
name = "billing"
topic = "orders"
dead_letter_topic = "orders-dlx"
[[groups]]
name = "parking-lot"
topic = "orders-dlx"
"""
        + POISON
        + _messages(2)
    )
    sim = Simulation(scenario_from(body))
    summary = summarize(sim)
    dead = [r for r in sim.trace if isinstance(r, DeadLettered)]
    assert [(r.msg, r.reason, r.destination) for r in dead] == [(1, "rejected", "orders-dlx")]
    assert summary.groups["billing"].lost == 0
    assert summary.groups["parking-lot"].processed == 0  # poison there too (same handler)
    assert any(isinstance(r, Delivered) and r.group == "parking-lot" for r in sim.trace)


def test_reject_without_a_dlx_drops_the_message() -> None:
    body = (
        TOPICS
        + """
[[groups]]
name = "billing"
topic = "orders"
"""
        + POISON
        + _messages(2)
    )
    sim = Simulation(scenario_from(body))
    summary = summarize(sim)
    assert summary.lost == 1
    assert any(isinstance(r, Skipped) and r.msg == 1 for r in sim.trace)


def test_quorum_delivery_limit_dead_letters_after_limit_returns() -> None:
    body = (
        TOPICS
        + """
[[groups]]
name = "billing"
topic = "orders"
dead_letter_topic = "orders-dlx"
[groups.rabbitmq]
queue_type = "quorum"
delivery_limit = 2
requeue_on_failure = true
"""
        + POISON
        + _messages(1)
    )
    sim = Simulation(scenario_from(body))
    summary = summarize(sim)
    deliveries = [r for r in sim.trace if isinstance(r, Delivered) and r.group == "billing"]
    assert len(deliveries) == 3  # the first delivery and two returns
    dead = [r for r in sim.trace if isinstance(r, DeadLettered)]
    assert [r.reason for r in dead] == ["delivery_limit"]
    assert summary.dead_lettered == 1


def test_delivery_limit_needs_a_quorum_queue() -> None:
    with pytest.raises(InputError) as err:
        scenario_from(
            TOPICS
            + """
[[groups]]
name = "billing"
topic = "orders"
[groups.rabbitmq]
delivery_limit = 2
"""
        )
    assert err.value.where == "$.groups[0].rabbitmq.delivery_limit"


def test_queue_ttl_expires_unconsumed_messages_to_the_dlx() -> None:
    body = (
        TOPICS
        + """
[[groups]]
name = "billing"
topic = "orders"
consumers = 0
dead_letter_topic = "orders-dlx"
[groups.rabbitmq]
message_ttl_ms = 100
"""
        + _messages(2)
    )
    sim = Simulation(scenario_from(body))
    summary = summarize(sim)
    expired = [r for r in sim.trace if isinstance(r, MessageExpired)]
    assert [(r.msg, r.at) for r in expired] == [(1, 101), (2, 111)]
    assert summary.dead_lettered == 2 and summary.lost == 0


def test_per_message_ttl_expires_only_at_the_head_of_the_queue() -> None:
    body = (
        TOPICS
        + """
[[producers]]
name = "flash-sale"
topic = "orders"
[rabbitmq.message_expiration_ms]
flash-sale = 50
[[groups]]
name = "billing"
topic = "orders"
start_ms = 1000
[[workload.messages]]
producer = "shop"
[[workload.messages]]
producer = "flash-sale"
at_ms = 10
"""
    )
    trace = Simulation(scenario_from(body)).run()
    expired = [r for r in trace if isinstance(r, MessageExpired)]
    assert [r.msg for r in expired] == [2]
    assert expired[0].at >= 1000  # due at 61 ms, but stuck behind m1 until the consumer came


def test_max_length_drop_head_drops_the_oldest() -> None:
    body = (
        TOPICS
        + """
[[groups]]
name = "billing"
topic = "orders"
start_ms = 1000
[groups.rabbitmq]
max_length = 2
"""
        + _messages(5)
    )
    sim = Simulation(scenario_from(body))
    summary = summarize(sim)
    dropped = [r for r in sim.trace if isinstance(r, QueueOverflowed)]
    assert [(r.msg, r.overflow) for r in dropped] == [
        (1, "drop-head"),
        (2, "drop-head"),
        (3, "drop-head"),
    ]
    assert summary.processed == 2 and summary.lost == 3


def test_max_length_reject_publish_nacks_the_publisher_instead_of_losing() -> None:
    body = (
        TOPICS
        + """
[[groups]]
name = "billing"
topic = "orders"
start_ms = 1000
[groups.rabbitmq]
max_length = 2
overflow = "reject-publish"
"""
        + _messages(5)
    )
    sim = Simulation(scenario_from(body))
    summary = summarize(sim)
    failed = [r.msg for r in sim.trace if isinstance(r, ProduceFailed)]
    assert failed == [3, 4, 5]
    assert summary.acked == 2 and summary.lost == 0


def test_without_publisher_confirms_a_refused_message_is_silently_lost() -> None:
    body = (
        TOPICS
        + """
[rabbitmq]
publisher_confirms = false
[[groups]]
name = "billing"
topic = "orders"
start_ms = 1000
[groups.rabbitmq]
max_length = 2
overflow = "reject-publish"
"""
        + _messages(5)
    )
    sim = Simulation(scenario_from(body))
    summary = summarize(sim)
    # All five count as sent, none was acknowledged; the three the full queue refused are
    # the silent loss of fire-and-forget, counted apart from lost (which needs an ack).
    assert len([r for r in sim.trace if isinstance(r, SentUnacknowledged)]) == 5
    assert summary.acked == 0 and summary.lost == 0
    assert summary.dropped_unacknowledged == 3


def test_a_lost_confirm_makes_the_publisher_republish_a_duplicate() -> None:
    body = (
        TOPICS
        + """
[[groups]]
name = "billing"
topic = "orders"
[[faults]]
kind = "network"
source = "broker"
destination = "shop"
drop_probability = 1.0
to_ms = 1000
msgs = [1]
"""
        + _messages(2)
    )
    sim = Simulation(scenario_from(body))
    summary = summarize(sim)
    assert any(isinstance(r, ProduceRetried) for r in sim.trace)
    assert summary.duplicates == 1 and summary.lost == 0
