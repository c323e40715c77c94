"""A Lambda-style trigger: batches, whole-batch retries, and partial batch failure reports."""

from __future__ import annotations

from conftest import scenario_from

from simulator.lessons.summary import summarize
from simulator.simulation import Simulation
from simulator.trace import BatchItemFailed, LambdaInvoked, MessageDeleted, RetryScheduled

BODY = """
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
[[groups]]
name = "fulfil"
topic = "orders"
processing_ms = 5
start_ms = 100
dead_letter_topic = "orders-dlq"
[groups.sqs]
trigger = "lambda"
visibility_timeout_ms = 1000
max_receive_count = 3
report_batch_item_failures = {partial}
[[faults]]
kind = "poison"
msgs = [3]
[[workload.generators]]
producer = "shop"
count = 6
rate_per_s = 100000
"""


def _run(partial: bool) -> Simulation:
    return Simulation(scenario_from(BODY.format(partial=str(partial).lower())))


def test_lambda_invokes_with_batches_of_up_to_ten() -> None:
    sim = _run(partial=True)
    invocations = [r for r in sim.run() if isinstance(r, LambdaInvoked)]
    assert invocations[0].msgs == [1, 2, 3, 4, 5, 6]
    assert all(len(r.msgs) <= 10 for r in invocations)


def test_a_failed_batch_returns_whole_and_successes_are_processed_again() -> None:
    sim = _run(partial=False)
    summary = summarize(sim)
    returned = [r for r in sim.trace if isinstance(r, RetryScheduled)]
    assert {r.via for r in returned} == {"visibility-timeout"}
    assert summary.duplicates >= 2  # m1 and m2 ran before m3 failed, and run again
    assert summary.dead_lettered >= 1 and summary.lost == 0


def test_partial_batch_failure_returns_only_the_failed_message() -> None:
    sim = _run(partial=True)
    summary = summarize(sim)
    failed = [r.msg for r in sim.trace if isinstance(r, BatchItemFailed)]
    assert set(failed) == {3}
    assert summary.duplicates == 0
    assert summary.dead_lettered == 1 and summary.lost == 0
    deleted = sorted(r.msg for r in sim.trace if isinstance(r, MessageDeleted))
    assert deleted == [1, 2, 4, 5, 6]
