"""Replication guarantees as properties, over random single-broker crash plans.

With ``acks=all``, ``min.insync.replicas`` of at least 2, three or more
replicas and clean elections, no acknowledged record is ever lost, whichever
broker crashes or loses power, whenever, and whether or not it comes back (and an idempotent
producer's retries to the new leader add no duplicate). With ``acks=1``
some plan loses one — and the shrinker reduces it to the smallest case: one
record, one crash.
"""

from __future__ import annotations

from conftest import scenario_from
from hypothesis import HealthCheck, find, given, settings
from hypothesis import strategies as st

from simulator.lessons.shrink import shrink
from simulator.lessons.summary import summarize
from simulator.scenario import Crash, Scenario
from simulator.simulation import Simulation

SETTINGS = settings(
    max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow], derandomize=True
)


def cluster_text(
    *,
    brokers: int,
    replication: int,
    min_isr: int,
    acks: str,
    idempotent: bool,
    partitions: int,
    count: int,
    rate: int,
    keys: int,
    crash: str,
    latency_ms: int = 1,
) -> str:
    return f"""
[network]
latency_ms = {latency_ms}

[log]
brokers = {brokers}
default_replication_factor = {replication}
min_insync_replicas = {min_isr}

[[topics]]
name = "orders"
partitions = {partitions}

[[producers]]
name = "shop"
topic = "orders"
acks = {acks}
idempotent = {str(idempotent).lower()}
request_timeout_ms = 2000

[[groups]]
name = "billing"
topic = "orders"
commit = "after-process"
auto_offset_reset = "earliest"

[[workload.generators]]
producer = "shop"
count = {count}
rate_per_s = {rate}
keys = {keys}

{crash}
"""


@st.composite
def single_broker_crash(draw: st.DrawFn, brokers: int, span_ms: int = 3000) -> str:
    """One broker crashes — at a time or at the leader's append point, or loses power with
    its page cache — and maybe returns. Timed faults fall within ``span_ms``, while records
    are being written (a crash after the last one only tests the quiet cluster)."""
    target = f"broker-{draw(st.integers(1, brokers))}"
    if draw(st.integers(0, 3)) == 0:
        text = f'[[faults]]\nkind = "power-loss"\ntargets = ["{target}"]\n'
        text += f"at_ms = {draw(st.integers(0, span_ms))}\n"
        restart = draw(st.none() | st.integers(0, 20000))
        return text + ("" if restart is None else f"restart_after_ms = {restart}\n")
    text = f'[[faults]]\nkind = "crash"\ntarget = "{target}"\n'
    if draw(st.booleans()):
        text += f"at_ms = {draw(st.integers(0, span_ms))}\n"
    else:
        text += 'at = "after_leader_append_before_replication"\n'
        text += f"occurrence = {draw(st.integers(1, 15))}\n"
    restart = draw(st.none() | st.integers(0, 20000))
    if restart is not None:
        text += f"restart_after_ms = {restart}\n"
    return text


@st.composite
def safe_cluster(draw: st.DrawFn) -> str:
    brokers = draw(st.integers(3, 4))
    replication = draw(st.integers(3, brokers))
    count = draw(st.integers(5, 25))
    rate = draw(st.sampled_from([10, 50, 200]))
    # A slower network widens the window between a leader's append and its followers' copies.
    latency_ms = draw(st.sampled_from([1, 5, 20]))
    span_ms = count * 1000 // rate + 4 * latency_ms
    return cluster_text(
        brokers=brokers,
        replication=replication,
        min_isr=draw(st.integers(2, replication)),
        acks='"all"',
        idempotent=draw(st.booleans()),
        partitions=draw(st.integers(1, 3)),
        count=count,
        rate=rate,
        keys=draw(st.integers(0, 3)),
        crash=draw(single_broker_crash(brokers, span_ms)),
        latency_ms=latency_ms,
    )


@SETTINGS
@given(text=safe_cluster(), seed=st.integers(0, 10_000))
def test_acks_all_with_min_insync_2_never_loses_an_acknowledged_record_to_one_crash(
    text: str, seed: int
) -> None:
    s = summarize(Simulation(scenario_from(text), seed))
    assert s.finished == "quiescent"
    assert s.lost == 0, text
    if "idempotent = true" in text:
        assert s.duplicates == 0, text  # its retries to a new leader are recognised


def acks_1(occurrence: int, restart_after_ms: int | None, count: int = 10) -> Scenario:
    crash = (
        '[[faults]]\nkind = "crash"\ntarget = "broker-1"\n'
        f'at = "after_leader_append_before_replication"\noccurrence = {occurrence}\n'
    )
    if restart_after_ms is not None:
        crash += f"restart_after_ms = {restart_after_ms}\n"
    text = cluster_text(
        brokers=3,
        replication=3,
        min_isr=1,
        acks="1",
        idempotent=False,
        partitions=1,
        count=count,
        rate=10,
        keys=0,
        crash=crash,
    )
    return scenario_from(text)


def loses(scenario: Scenario) -> bool:
    return summarize(Simulation(scenario)).lost >= 1


def test_with_acks_1_some_single_crash_plan_loses_a_record_and_shrinks_to_one_record() -> None:
    plan = find(
        st.tuples(st.integers(1, 10), st.none() | st.integers(0, 20000)),
        lambda p: loses(acks_1(*p)),
        settings=settings(database=None, derandomize=True, max_examples=200),
    )
    failing = acks_1(*plan)
    smallest = shrink(failing, loses)
    assert loses(smallest)
    assert len(smallest.faults) == 1 and isinstance(smallest.faults[0], Crash)
    assert [g.count for g in smallest.workload.generators] == [1]
    assert smallest.faults[0].occurrence == 1
