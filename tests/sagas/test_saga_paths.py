"""Every path of a saga, under orchestration and choreography: success, compensation,
timeout and duplicates."""

from __future__ import annotations

from collections import Counter

import pytest

from simulator.errors import InputError
from simulator.sagas.books import saga_metrics
from simulator.scenario import Scenario, decode_scenario
from simulator.simulation import Simulation
from simulator.trace import (
    SagaCompensated,
    SagaCompleted,
    SagaDuplicateIgnored,
    SagaStepCompleted,
    SagaTimedOut,
)

STEPS = ["stock", "payment", "shipping", "notification"]

SERVICE = """
[[processors]]
kind = "saga-service"
name = "{step}-service"
step = "{step}"
{extra}

[[groups]]
name = "{step}"
topic = "{topic}"
processor = "{step}-service"
commit = "after-process"
auto_offset_reset = "earliest"
processing_ms = 10
session_timeout_ms = 2000
heartbeat_interval_ms = 500
"""

HEAD = """
title = {{ en = "t", ko = "t" }}
summary = {{ en = "s", ko = "s" }}
settle_ms = 1000

[saga]
mode = "{mode}"
steps = ["stock", "payment", "shipping", "notification"]
events_topic = "events"
{commands}
step_timeout_ms = 1000

[[topics]]
name = "events"
partitions = 2

[[topics]]
name = "commands"
partitions = 2

[[producers]]
name = "shop"
topic = "events"

[[processors]]
kind = "saga-manager"
name = "manager"

[[groups]]
name = "manager"
topic = "events"
processor = "manager"
commit = "after-process"
auto_offset_reset = "earliest"
processing_ms = 2

[[workload.generators]]
producer = "shop"
count = {orders}
rate_per_s = 5
keys = {orders}
key_prefix = "order-"
value_prefix = "order.placed "
"""


def saga(
    mode: str = "orchestration",
    orders: int = 3,
    service_extra: dict[str, str] | None = None,
    tail: str = "",
) -> Scenario:
    orchestrated = mode == "orchestration"
    text = HEAD.format(
        mode=mode,
        commands='commands_topic = "commands"' if orchestrated else "",
        orders=orders,
    )
    for step in STEPS:
        extra = (service_extra or {}).get(step, "")
        topic = "commands" if orchestrated else "events"
        text += SERVICE.format(step=step, extra=extra, topic=topic)
    return decode_scenario((text + tail).encode(), "saga.toml", "saga")


def run(s: Scenario) -> Simulation:
    sim = Simulation(s)
    sim.run()
    return sim


def outcomes(sim: Simulation) -> dict[str, str]:
    return {r.saga: r.outcome for r in sim.trace if isinstance(r, SagaCompleted)}


def compensated(sim: Simulation) -> list[tuple[str, str]]:
    return sorted((r.saga, r.step) for r in sim.trace if isinstance(r, SagaCompensated))


BOTH = pytest.mark.parametrize("mode", ["orchestration", "choreography"])


@BOTH
def test_every_saga_completes_when_every_step_succeeds(mode: str) -> None:
    sim = run(saga(mode))
    assert outcomes(sim) == {f"order-{i}": "completed" for i in range(3)}
    steps = Counter(r.step for r in sim.trace if isinstance(r, SagaStepCompleted))
    assert steps == {step: 3 for step in STEPS}
    assert compensated(sim) == []
    assert sim.checker.groups["manager"].lost == 0


@BOTH
def test_payment_declined_compensates_the_stock_already_reserved(mode: str) -> None:
    sim = run(saga(mode, service_extra={"payment": 'decline_keys = ["order-1"]'}))
    assert outcomes(sim) == {
        "order-0": "completed",
        "order-1": "compensated",
        "order-2": "completed",
    }
    assert compensated(sim) == [("order-1", "stock")]
    shipped = {
        r.saga for r in sim.trace if isinstance(r, SagaStepCompleted) and r.step == "shipping"
    }
    assert shipped == {"order-0", "order-2"}


@BOTH
def test_failure_at_a_late_step_compensates_every_compensable_step_before_it(mode: str) -> None:
    sim = run(saga(mode, service_extra={"notification": "decline_probability = 1.0"}, orders=1))
    assert outcomes(sim) == {"order-0": "compensated"}
    assert compensated(sim) == [
        ("order-0", "payment"),
        ("order-0", "shipping"),
        ("order-0", "stock"),
    ]


SLOW_SHIPPING = """
[[faults]]
kind = "slow"
target = "shipping-0"
processing_ms = 3000
"""


@BOTH
def test_a_silent_step_times_out_in_virtual_time_and_the_saga_is_compensated(mode: str) -> None:
    sim = run(saga(mode, orders=1, tail=SLOW_SHIPPING))
    timeouts = [r for r in sim.trace if isinstance(r, SagaTimedOut)]
    assert [(r.saga, r.step) for r in timeouts] == [("order-0", "shipping")]
    started = next(r for r in sim.trace if isinstance(r, SagaStepCompleted) and r.step == "payment")
    assert timeouts[0].at - started.at <= 1000 + 50  # the timer fired at its deadline
    assert outcomes(sim) == {"order-0": "timed-out"}
    # the late shipment is undone too: its outcome was unknown when the saga gave up
    assert ("order-0", "shipping") in compensated(sim)
    assert ("order-0", "stock") in compensated(sim) and ("order-0", "payment") in compensated(sim)
    assert not any(isinstance(r, SagaStepCompleted) and r.step == "notification" for r in sim.trace)


DUPLICATE_ORDER = """
[[workload.messages]]
producer = "shop"
at_ms = 50
key = "order-0"
value = "order.placed order-0 (again)"
"""


@BOTH
def test_a_duplicated_order_event_starts_no_second_saga(mode: str) -> None:
    sim = run(saga(mode, tail=DUPLICATE_ORDER))
    m = saga_metrics(sim.trace)
    assert m["sagas_started"]["manager"] == 3
    assert outcomes(sim)["order-0"] == "completed"
    assert "saga_steps_repeated" not in m
    ignored = [r for r in sim.trace if isinstance(r, SagaDuplicateIgnored)]
    assert any(r.group == "manager" and r.what == "order.placed" for r in ignored)


def _redelivered(idempotent: bool) -> Simulation:
    crash = """
[[faults]]
kind = "crash"
target = "payment-0"
at = "after_process_before_commit"
occurrence = 2
restart_after_ms = 200
"""
    extra = "" if idempotent else "idempotent = false"
    return run(saga("orchestration", orders=1, service_extra={"payment": extra}, tail=crash))


def test_idempotent_service_ignores_a_redelivered_command() -> None:
    sim = _redelivered(idempotent=True)
    assert sim.checker.groups["payment"].duplicates >= 1
    charges = [r for r in sim.trace if isinstance(r, SagaStepCompleted) and r.step == "payment"]
    assert len(charges) == 1
    assert any(isinstance(r, SagaDuplicateIgnored) and r.group == "payment" for r in sim.trace)
    assert outcomes(sim) == {"order-0": "completed"}


def test_non_idempotent_service_does_the_step_twice_on_redelivery() -> None:
    sim = _redelivered(idempotent=False)
    charges = [r for r in sim.trace if isinstance(r, SagaStepCompleted) and r.step == "payment"]
    assert [c.repeat for c in charges] == [False, True]
    assert saga_metrics(sim.trace)["saga_steps_repeated"]["payment"] == 1
    assert outcomes(sim) == {"order-0": "completed"}


def test_saga_runs_are_deterministic() -> None:
    s = saga("choreography", service_extra={"payment": "decline_probability = 0.5"}, orders=6)
    assert run(s).trace.digest() == run(s).trace.digest()


def test_orchestration_without_a_commands_topic_is_refused() -> None:
    text = HEAD.format(mode="orchestration", commands="", orders=1)
    with pytest.raises(InputError) as err:
        decode_scenario(text.encode(), "saga.toml", "saga")
    assert err.value.where == "$.saga.commands_topic"


def test_a_service_for_an_unknown_step_is_refused() -> None:
    with pytest.raises(InputError) as err:
        saga(
            service_extra={"payment": ""},
            tail=SERVICE.format(step="billing", extra="", topic="commands"),
        )
    assert err.value.where == "$.processors[5].step"
