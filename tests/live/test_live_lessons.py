"""The RabbitMQ lessons on a real broker: the checker's verdicts, and the model beside them.

Each lesson runs live once (``live_broker.live_run``, at half speed) and is
compared with the model's run where RabbitMQ's behaviour does not depend on
timing: which consumer a message is dispatched to, where a returned message
goes back, why a message was dead-lettered, and what the lesson's
expectations say. Where timing decides (how many times a requeue loop turns),
only the property the lesson teaches is checked.
"""

from __future__ import annotations

from typing import Any

import pytest
from live_broker import LIVE_LESSONS, broker_url_fixture, live, live_run, model_run  # noqa: F401

from live.broker import BrokerAddress, connect
from live.outcome import outcome_of
from simulator.scenario import decode_scenario
from simulator.trace import Crashed, DeadLettered, Delivered, DeliveryAcked, Restarted, Trace

pytestmark = [pytest.mark.live, pytest.mark.xdist_group("live")]


def _expand(deliveries: str) -> list[str]:
    """``m1 m2(r)×3`` back to ``m1 m2(r) m2(r) m2(r)``."""
    out: list[str] = []
    for token in deliveries.split():
        name, _, times = token.partition("×")
        out += [name] * int(times or 1)
    return out


def _outcomes(name: str) -> tuple[Any, Any]:
    records, summary = model_run(name)
    result = live_run(name)
    return outcome_of(records, summary), outcome_of(result.records, result.assembled.summary)


@pytest.mark.parametrize("name", LIVE_LESSONS)
def test_every_expectation_of_the_lesson_gets_the_models_verdict_live(
    name: str, broker_url: str
) -> None:
    model, real = _outcomes(name)
    assert real.expectations == model.expectations
    assert all(model.expectations.values()), f"{name}: the model's own run fails"


@pytest.mark.parametrize("name", LIVE_LESSONS)
def test_a_live_run_leaves_no_queue_or_exchange_on_the_broker(name: str, broker_url: str) -> None:
    result = live_run(name)
    assert result.leftovers == []
    conn = connect(BrokerAddress.parse(broker_url))
    try:
        assert result.topology.leftovers(conn) == []
    finally:
        conn.close()


@pytest.mark.parametrize("name", LIVE_LESSONS)
def test_a_live_trace_says_in_its_header_that_it_is_live_and_not_deterministic(
    name: str, broker_url: str
) -> None:
    header = live_run(name).records[0]
    assert header.settings["live"].startswith("true")
    assert header.settings["live.deterministic"].startswith("false")
    assert header.settings["live.broker_version"].startswith("RabbitMQ ")
    assert "live run" in header.follows


def test_without_a_prefetch_limit_the_broker_takes_turns_exactly_as_the_model_does(
    broker_url: str,
) -> None:
    model, real = _outcomes("rabbitmq-prefetch")
    assert real.queues["unlimited"].deliveries == model.queues["unlimited"].deliveries
    assert real.queues["unlimited"].deliveries["unlimited-0"].split()[:3] == ["m1", "m4", "m7"]


def test_with_prefetch_1_the_slow_consumer_gets_fewer_messages_than_without_a_limit(
    broker_url: str,
) -> None:
    _, real = _outcomes("rabbitmq-prefetch")
    slow_limited = real.queues["prefetch-1"].deliveries["prefetch-1-0"].split()
    slow_unlimited = real.queues["unlimited"].deliveries["unlimited-0"].split()
    assert len(slow_limited) < len(slow_unlimited) == 10


def test_a_killed_consumers_unacked_deliveries_are_redelivered_to_the_other(
    broker_url: str,
) -> None:
    records = live_run("rabbitmq-consumer-crash").records
    crash = next(r for r in records if isinstance(r, Crashed) and r.component == "shipping-0")
    held: list[int] = []
    for r in records[: crash.seq]:
        if isinstance(r, Delivered) and r.consumer == "shipping-0":
            held.append(r.msg)
        elif isinstance(r, DeliveryAcked) and r.consumer == "shipping-0":
            held.remove(r.msg)
    redelivered = [
        r
        for r in records[crash.seq :]
        if isinstance(r, Delivered) and r.redelivered and r.consumer == "shipping-1"
    ]
    assert held, "the consumer held no unacked delivery when it was killed"
    assert {r.msg for r in redelivered} >= set(held)
    assert all(r.cause_seq == crash.seq for r in redelivered if r.msg in held)


def test_requeued_messages_come_back_in_their_original_order_live_and_in_the_model(
    broker_url: str,
) -> None:
    model, real = _outcomes("rabbitmq-consumer-crash")
    for outcome in (model, real):
        again = [
            int(d.removeprefix("m").removesuffix("(r)"))
            for d in _expand(outcome.queues["shipping"].deliveries["shipping-1"])
            if d.endswith("(r)")
        ]
        assert again and again == sorted(again)
    assert real.queues["shipping"].lost == 0


def test_dead_letter_reasons_from_x_death_match_the_models(broker_url: str) -> None:
    for name in ("rabbitmq-requeue-loop", "rabbitmq-dlx-delayed-retry"):
        model, real = _outcomes(name)
        for queue in model.queues:
            assert real.queues[queue].dead_lettered == model.queues[queue].dead_lettered, queue


def test_a_quorum_queue_with_delivery_limit_4_delivers_the_poison_5_times(
    broker_url: str,
) -> None:
    model, real = _outcomes("rabbitmq-requeue-loop")
    for outcome in (model, real):
        deliveries = _expand(outcome.queues["quorum-limit"].deliveries["quorum-limit-0"])
        assert [d for d in deliveries if d.startswith("m2")] == ["m2"] + ["m2(r)"] * 4


def test_a_delayed_retry_comes_back_through_both_dead_letter_exchanges(broker_url: str) -> None:
    model, real = _outcomes("rabbitmq-dlx-delayed-retry")
    assert real.queues["billing"].deliveries == model.queues["billing"].deliveries
    result = live_run("rabbitmq-dlx-delayed-retry")
    trace = Trace(result.records)
    retried = [r for r in result.records if isinstance(r, Delivered) and r.msg == 1][-1]
    why = [type(r).__name__ for r in trace.causes(retried.seq)]
    assert why[:2] == ["DeadLettered", "MessageExpired"]
    assert "Nacked" in why and "ProcessingFailed" in why
    reasons = [(d.queue, d.reason, d.count) for msg, d in result.deaths if msg == 1]
    assert reasons == [("billing", "rejected", 1), ("retry-wait", "expired", 1)]


def test_a_length_limit_and_a_ttl_drop_the_same_messages_live_as_in_the_model(
    broker_url: str,
) -> None:
    model, real = _outcomes("rabbitmq-ttl-and-length-limits")
    for queue in ("capped", "expiring"):
        assert real.queues[queue].deliveries == model.queues[queue].deliveries, queue
        assert real.queues[queue].dead_lettered == model.queues[queue].dead_lettered, queue
    records = live_run("rabbitmq-ttl-and-length-limits").records
    assert {r.reason for r in records if isinstance(r, DeadLettered)} == {"maxlen", "expired"}


POINT_CRASH = """
title = { en = "a crash at a named point", ko = "지점에서의 장애" }
summary = { en = "-", ko = "-" }
broker = "rabbitmq"
[[topics]]
name = "orders"
[[producers]]
name = "app"
topic = "orders"
[[groups]]
name = "work"
topic = "orders"
commit = "after-process"
processing_ms = 20
[groups.rabbitmq]
prefetch = 5
[[workload.generators]]
producer = "app"
count = 10
rate_per_s = 200
[[faults]]
kind = "crash"
target = "work-0"
at = "after_poll"
occurrence = 3
restart_after_ms = 200
"""


def test_a_consumer_that_crashes_at_a_named_point_kills_itself_and_is_restarted(
    broker_url: str,
) -> None:
    scenario = decode_scenario(POINT_CRASH.encode(), "point-crash.toml", "point-crash")
    result = live(scenario, broker_url)
    records = result.records
    crash = next(r for r in records if isinstance(r, Crashed))
    restart = next(r for r in records if isinstance(r, Restarted))
    assert (crash.component, crash.point) == ("work-0", "after_poll")
    assert restart.cause_seq == crash.seq
    back = [r for r in records[restart.seq :] if isinstance(r, Delivered) and r.redelivered]
    assert {r.msg for r in back} >= {1, 2, 3}
    summary = result.assembled.summary
    assert summary.lost == 0
    assert summary.groups["work"].processed - summary.groups["work"].duplicates == 10
