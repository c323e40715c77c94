"""Invariants of the queue models under random crash plans (hypothesis).

- No configuration that processes *then* acks or deletes loses an acknowledged
  message, whatever consumers (or the broker) crash and restart.
- A FIFO queue without a DLQ never reorders a message group.
"""

from __future__ import annotations

from conftest import scenario_from
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from simulator.lessons.summary import summarize
from simulator.models.registry import models
from simulator.simulation import Simulation
from simulator.trace import Processed

POINTS = ("after_poll", "after_process_before_commit")

crash_plan = st.lists(
    st.tuples(
        st.integers(0, 2),  # which consumer
        st.one_of(st.integers(0, 400), st.sampled_from(POINTS)),  # when: a time or a point
        st.integers(0, 300),  # restart after
    ),
    max_size=4,
)


def _scenario(broker: str, plan: list[tuple[int, int | str, int]], broker_crash: int | None) -> str:
    body = f"""
broker = "{broker}"
[[topics]]
name = "orders"
[[producers]]
name = "shop"
topic = "orders"
[[groups]]
name = "billing"
topic = "orders"
consumers = 3
commit = "after-process"
processing_ms = 9
[groups.rabbitmq]
prefetch = 3
[groups.sqs]
visibility_timeout_ms = 500
batch_size = 2
[[workload.generators]]
producer = "shop"
count = 40
keys = 4
rate_per_s = 200
"""
    seen: set[tuple[int, str]] = set()
    for consumer, when, restart in plan:
        if isinstance(when, str):
            if (consumer, when) in seen:
                continue
            seen.add((consumer, when))
            moment = f'at = "{when}"'
        else:
            moment = f"at_ms = {when}"
        body += f"""
[[faults]]
kind = "crash"
target = "billing-{consumer}"
{moment}
restart_after_ms = {restart}
"""
    if broker_crash is not None:
        body += f"""
[[faults]]
kind = "crash"
target = "broker"
at_ms = {broker_crash}
restart_after_ms = 150
"""
    return body


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    broker=st.sampled_from([m.name for m in models() if not m.capabilities.partitions]),
    plan=crash_plan,
    broker_crash=st.one_of(st.none(), st.integers(0, 300)),
    seed=st.integers(0, 1000),
)
def test_at_least_once_never_loses_an_acknowledged_message(
    broker: str, plan: list[tuple[int, int | str, int]], broker_crash: int | None, seed: int
) -> None:
    summary = summarize(Simulation(scenario_from(_scenario(broker, plan, broker_crash)), seed))
    assert summary.lost == 0, summary.groups


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(plan=crash_plan, seed=st.integers(0, 1000))
def test_fifo_never_reorders_a_group_without_a_dlq(
    plan: list[tuple[int, int | str, int]], seed: int
) -> None:
    sim = Simulation(scenario_from(_scenario("sqs-fifo", plan, None)), seed)
    summary = summarize(sim)
    assert summary.lost == 0
    # First processings follow each group's order. (A replay after a crash before the
    # batch delete still counts as out of order for the checker: the key went back.)
    latest: dict[str, int] = {}
    seen: set[int] = set()
    for r in sim.trace:
        if isinstance(r, Processed) and r.key is not None and r.msg not in seen:
            seen.add(r.msg)
            assert r.key_seq > latest.get(r.key, 0), f"m{r.msg} of {r.key} out of order"
            latest[r.key] = r.key_seq


@settings(max_examples=15, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(plan=crash_plan, seed=st.integers(0, 1000))
def test_fifo_deleting_each_message_never_goes_back_in_a_group(
    plan: list[tuple[int, int | str, int]], seed: int
) -> None:
    body = _scenario("sqs-fifo", plan, None).replace(
        'commit = "after-process"', 'commit = "after-process"\ncommit_every = "message"'
    )
    summary = summarize(Simulation(scenario_from(body), seed))
    assert summary.out_of_order == 0 and summary.lost == 0
