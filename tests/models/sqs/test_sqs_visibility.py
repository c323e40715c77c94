"""Visibility timeouts, receipt handles, receive counts, long polling, batches and redrive."""

from __future__ import annotations

import pytest
from conftest import scenario_from

from simulator.errors import InputError
from simulator.lessons.summary import summarize
from simulator.simulation import Simulation
from simulator.trace import (
    DeadLettered,
    DeleteFailed,
    Delivered,
    Enqueued,
    MessageDeleted,
    Processed,
    Redriven,
    ScenarioStarted,
    VisibilityChanged,
    VisibilityChangeFailed,
    VisibilityExpired,
)

HEAD = """
broker = "sqs"
[sqs]
duplicate_probability = 0.0
reorder_probability = 0.0
[[topics]]
name = "orders"
[[topics]]
name = "orders-dlq"
[[producers]]
name = "shop"
topic = "orders"
"""


def _messages(n: int, every_ms: int = 10, key: str = "k") -> str:
    return "".join(
        f'[[workload.messages]]\nproducer = "shop"\nkey = "{key}"\nat_ms = {i * every_ms}\n'
        for i in range(n)
    )


def _run(body: str) -> tuple[Simulation, object]:
    sim = Simulation(scenario_from(HEAD + body))
    return sim, summarize(sim)


def test_processing_slower_than_the_visibility_timeout_duplicates() -> None:
    sim, summary = _run(
        """
[[groups]]
name = "billing"
topic = "orders"
consumers = 2
processing_ms = 100
[groups.sqs]
visibility_timeout_ms = 1000
[[faults]]
kind = "slow"
target = "billing-0"
processing_ms = 1500
"""
        + _messages(1)
    )
    trace = sim.trace
    expired = [r for r in trace if isinstance(r, VisibilityExpired)]
    assert [r.at for r in expired] == [1001]  # received at 1 ms (a waiting long poll)
    deliveries = [r for r in trace if isinstance(r, Delivered)]
    assert [r.redelivered for r in deliveries] == [False, True]
    assert deliveries[0].consumer != deliveries[1].consumer
    assert summary.duplicates == 1  # type: ignore[attr-defined]
    failed = [r for r in trace if isinstance(r, DeleteFailed)]
    assert failed and "stale receipt handle" in failed[0].reason
    deleted = [r for r in trace if isinstance(r, MessageDeleted)]
    assert [r.receive_count for r in deleted] == [2]


def test_extending_visibility_while_processing_prevents_the_duplicate() -> None:
    sim, summary = _run(
        """
[[groups]]
name = "billing"
topic = "orders"
consumers = 2
processing_ms = 100
[groups.sqs]
visibility_timeout_ms = 1000
extend_visibility = true
[[faults]]
kind = "slow"
target = "billing-0"
processing_ms = 1500
"""
        + _messages(1)
    )
    assert any(isinstance(r, VisibilityChanged) for r in sim.trace)
    assert not any(isinstance(r, VisibilityExpired) for r in sim.trace)
    assert summary.duplicates == 0  # type: ignore[attr-defined]


def test_crashed_consumer_message_returns_after_the_default_30_seconds() -> None:
    sim, summary = _run(
        """
[[groups]]
name = "billing"
topic = "orders"
consumers = 2
processing_ms = 100
[[faults]]
kind = "crash"
target = "billing-0"
at_ms = 50
"""
        + _messages(1)
    )
    trace = sim.trace
    expired = [r for r in trace if isinstance(r, VisibilityExpired)]
    assert [r.at for r in expired] == [30_001]
    assert summary.lost == 0  # type: ignore[attr-defined]
    processed = [r for r in trace if isinstance(r, Processed)]
    assert [r.consumer for r in processed] == ["billing-1"]


def test_redrive_moves_a_message_past_max_receive_count_to_the_dlq_and_back() -> None:
    sim, summary = _run(
        """
[[groups]]
name = "billing"
topic = "orders"
dead_letter_topic = "orders-dlq"
[groups.sqs]
visibility_timeout_ms = 1000
max_receive_count = 3
redrive_back_at_ms = 20000
[[faults]]
kind = "handler-error"
group = "billing"
probability = 1.0
to_ms = 10000
"""
        + _messages(1)
    )
    trace = sim.trace
    deliveries = [r for r in trace if isinstance(r, Delivered)]
    dead = [r for r in trace if isinstance(r, DeadLettered)]
    assert len(dead) == 1 and "maxReceiveCount 3" in dead[0].reason
    before = [r for r in deliveries if r.at < dead[0].at]
    assert len(before) == 3
    assert any(isinstance(r, Redriven) for r in trace)
    processed = [r for r in trace if isinstance(r, Processed)]
    assert len(processed) == 1 and processed[0].at > 20_000
    assert summary.lost == 0 and summary.dead_lettered == 1  # type: ignore[attr-defined]


def test_long_polling_answers_as_soon_as_a_message_arrives() -> None:
    sim, _ = _run("""
[[groups]]
name = "billing"
topic = "orders"
[[workload.messages]]
producer = "shop"
at_ms = 7_777
""")
    delivered = next(r for r in sim.trace if isinstance(r, Delivered))
    assert delivered.at == 7_779  # one hop to the queue, one back to the waiting consumer


def test_receive_returns_batches_of_up_to_batch_size() -> None:
    sim, summary = _run(
        """
[[groups]]
name = "billing"
topic = "orders"
start_ms = 1000
[groups.sqs]
batch_size = 10
"""
        + _messages(25, every_ms=1)
    )
    times: dict[int, int] = {}
    for r in sim.trace:
        if isinstance(r, Delivered):
            times[r.at] = times.get(r.at, 0) + 1
    assert sorted(times.values(), reverse=True)[:3] == [10, 10, 5]
    assert summary.processed == 25  # type: ignore[attr-defined]


def test_batch_size_over_ten_is_refused_naming_the_path() -> None:
    with pytest.raises(InputError) as err:
        scenario_from(
            HEAD
            + """
[[groups]]
name = "billing"
topic = "orders"
[groups.sqs]
batch_size = 11
"""
        )
    assert err.value.where == "$.groups[0].sqs.batch_size"


def test_redrive_policy_needs_a_dlq() -> None:
    with pytest.raises(InputError) as err:
        scenario_from(
            HEAD
            + """
[[groups]]
name = "billing"
topic = "orders"
[groups.sqs]
max_receive_count = 3
"""
        )
    assert err.value.where == "$.groups[0].sqs.max_receive_count"


def test_delete_before_processing_loses_the_message_on_a_crash() -> None:
    _, summary = _run(
        """
[[groups]]
name = "billing"
topic = "orders"
commit = "before-process"
[[faults]]
kind = "crash"
target = "billing-0"
at = "after_commit_before_process"
restart_after_ms = 10
"""
        + _messages(2)
    )
    assert summary.lost == 1  # type: ignore[attr-defined]


def test_standard_queue_makes_extra_copies_and_reorders_with_seeded_chances() -> None:
    body = """
[[groups]]
name = "billing"
topic = "orders"
[groups.sqs]
duplicate_probability = 0.3
reorder_probability = 0.3
""" + _messages(40)
    sim, summary = _run(body)
    copies = [r for r in sim.trace if isinstance(r, Enqueued) and r.copy]
    assert copies and summary.duplicates == len(copies)  # type: ignore[attr-defined]
    assert summary.out_of_order > 0  # type: ignore[attr-defined]
    again, _ = _run(body)
    assert again.trace.digest() == sim.trace.digest()


def test_header_shows_the_standard_queue_defaults() -> None:
    sim = Simulation(
        scenario_from("""
broker = "sqs"
[[topics]]
name = "orders"
[[groups]]
name = "billing"
topic = "orders"
""")
    )
    header = next(r for r in sim.run() if isinstance(r, ScenarioStarted))
    s = header.settings
    assert s["queue.billing.VisibilityTimeout_ms"] == "30000"
    assert s["queue.billing.MaxNumberOfMessages"] == "1"
    assert s["standard.duplicate_probability"] == "0.01"
    assert s["standard.reorder_probability"] == "0.01"
    assert "Amazon SQS standard" in header.follows


def test_short_polling_still_receives_everything() -> None:
    sim, summary = _run(
        """
[[groups]]
name = "billing"
topic = "orders"
[groups.sqs]
wait_time_seconds = 0
"""
        + _messages(5, every_ms=300)
    )
    assert summary.processed == 5 and summary.lost == 0  # type: ignore[attr-defined]
    delays = [r.at for r in sim.trace if isinstance(r, Delivered)]
    assert all(at % 300 <= 4 for at in delays)  # picked up within a couple of round trips


def test_extending_with_a_stale_receipt_handle_fails() -> None:
    sim, _ = _run(
        """
[[groups]]
name = "billing"
topic = "orders"
consumers = 2
processing_ms = 100
[groups.sqs]
visibility_timeout_ms = 1000
extend_visibility = true
[[faults]]
kind = "slow"
target = "billing-0"
processing_ms = 3000
[[faults]]
kind = "network"
source = "billing-0"
destination = "broker"
drop_probability = 1.0
to_ms = 600
msgs = [1]
"""
        + _messages(1)
    )
    failed = [r for r in sim.trace if isinstance(r, VisibilityChangeFailed)]
    assert failed and failed[0].reason == "stale receipt handle"
