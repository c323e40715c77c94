"""A Lambda trigger that scales with the queue, and a function throttled at its reserve.

AWS Lambda's "Configuring scaling behavior for SQS event source mappings":
Lambda starts with five concurrent batches, adds up to 300 a minute while
messages are available, processes at most 1,000 batches at once (or the
mapping's ``MaximumConcurrency``), and scales back when traffic is low. The
function's reserved concurrency is a separate limit: above it invocations are
throttled, and the batch's messages come back after their visibility timeout.
"""

from __future__ import annotations

import itertools

import pytest
from conftest import scenario_from

from simulator.errors import InputError
from simulator.lessons.summary import summarize
from simulator.simulation import Simulation
from simulator.trace import (
    DeadLettered,
    LambdaInvoked,
    LambdaScaled,
    LambdaThrottled,
    Record,
    ScenarioStarted,
    VisibilityExpired,
)

BODY = """
broker = "sqs"
settle_ms = 1000
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
processing_ms = 1000
dead_letter_topic = "orders-dlq"
[groups.sqs]
trigger = "lambda"
batch_size = 1
visibility_timeout_ms = 3000
max_receive_count = 3
{extra}
[[workload.generators]]
producer = "shop"
count = 120
rate_per_s = 100
"""


def _run(extra: str) -> tuple[Simulation, list[Record]]:
    sim = Simulation(scenario_from(BODY.format(extra=extra)))
    return sim, list(sim.run())


def _running(trace: list[Record]) -> int:
    """The most invocations running at once, from LambdaInvoked and the processing time."""
    starts = sorted(r.at for r in trace if isinstance(r, LambdaInvoked))
    return max(sum(1 for s in starts if s <= t < s + 1000) for t in starts)


def test_the_mapping_starts_with_five_batches_and_adds_one_every_200_ms() -> None:
    _, trace = _run("lambda_scaling = true")
    scaled = [r for r in trace if isinstance(r, LambdaScaled)]
    ups = [r for r in scaled if "waiting" in r.reason]
    assert ups[0].concurrency == 6
    gaps = {b.at - a.at for a, b in itertools.pairwise(ups)}
    assert gaps == {200}  # 300 a minute


def test_it_never_runs_more_batches_than_its_maximum_concurrency() -> None:
    _, trace = _run("lambda_scaling = true\nmaximum_concurrency = 8")
    scaled = [r for r in trace if isinstance(r, LambdaScaled)]
    assert max(r.concurrency for r in scaled) == 8
    assert _running(trace) <= 8


def test_it_scales_back_when_polls_come_back_empty_but_never_below_five() -> None:
    body = BODY.format(extra="lambda_scaling = true\nwait_time_seconds = 1")
    trace = list(Simulation(scenario_from(body.replace("settle_ms = 1000", "settle_ms = 5000"))))
    downs = [r for r in trace if isinstance(r, LambdaScaled) and "empty" in r.reason]
    assert downs and downs[-1].concurrency == 5


def test_above_the_reserved_concurrency_invocations_are_throttled() -> None:
    _, trace = _run("lambda_scaling = true\nreserved_concurrency = 8")
    throttled = [r for r in trace if isinstance(r, LambdaThrottled)]
    assert throttled and all(r.running == 8 and r.reserved == 8 for r in throttled)
    assert _running(trace) <= 8


def test_a_throttled_batch_comes_back_after_its_visibility_timeout() -> None:
    _, trace = _run("lambda_scaling = true\nreserved_concurrency = 8")
    first = next(r for r in trace if isinstance(r, LambdaThrottled))
    msg = first.msgs[0]
    back = next(r for r in trace if isinstance(r, VisibilityExpired) and r.msg == msg)
    received = next(r for r in trace if r.seq == first.cause_seq)
    assert back.at - received.at == 3000 - 1  # hidden at the queue, one hop before it arrived
    assert back.receive_count == 1


def test_throttling_alone_sends_messages_to_the_dlq() -> None:
    sim, trace = _run("lambda_scaling = true\nreserved_concurrency = 8")
    dead = [r for r in trace if isinstance(r, DeadLettered)]
    assert dead, "throttled three times: moved to the DLQ without ever failing"
    summary = summarize(sim)
    assert summary.lost == 0 and summary.dead_lettered == len(dead)


def test_a_maximum_concurrency_at_the_reserve_avoids_throttling() -> None:
    sim, trace = _run("lambda_scaling = true\nreserved_concurrency = 8\nmaximum_concurrency = 8")
    assert not [r for r in trace if isinstance(r, LambdaThrottled)]
    assert summarize(sim).processed == 120


def test_a_fixed_concurrency_above_the_reserve_is_throttled_too() -> None:
    _, trace = _run("concurrency = 4\nreserved_concurrency = 2")
    assert [r for r in trace if isinstance(r, LambdaThrottled)]
    assert not [r for r in trace if isinstance(r, LambdaScaled)]


def test_the_header_shows_scaling_and_limits_only_when_set() -> None:
    _sim, trace = _run("lambda_scaling = true\nreserved_concurrency = 8\nmaximum_concurrency = 10")
    header = trace[0]
    assert isinstance(header, ScenarioStarted)
    assert header.settings["queue.fulfil.ReservedConcurrentExecutions"] == "8"
    assert header.settings["queue.fulfil.MaximumConcurrency"] == "10"
    assert "at most 10" in header.settings["queue.fulfil.concurrency"]
    plain = next(iter(Simulation(scenario_from(BODY.format(extra="")))))
    assert isinstance(plain, ScenarioStarted)
    assert "queue.fulfil.ReservedConcurrentExecutions" not in plain.settings


@pytest.mark.parametrize("field", ["lambda_scaling = true", "reserved_concurrency = 2"])
def test_lambda_limits_need_a_lambda_trigger(field: str) -> None:
    body = BODY.format(extra=field).replace('trigger = "lambda"\n', "")
    with pytest.raises(InputError, match='set trigger = "lambda"'):
        scenario_from(body)
