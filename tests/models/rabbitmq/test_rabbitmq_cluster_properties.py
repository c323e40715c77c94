"""Quorum queues and classic queues under any single-node crash, as properties.

- A quorum queue of three members, with publisher confirms: whichever node
  crashes, whenever (at a time, or right after its leader appended a write),
  and whether it comes back or not, no confirmed message is lost — and every
  publish is confirmed in the end, because a majority remains.
- A classic queue on the node that crashes: nothing of it is delivered while the
  node is down; when the node returns, its persistent messages are delivered
  and its transient ones are gone (and counted lost); when it never returns,
  what it held is lost.
"""

from __future__ import annotations

from conftest import scenario_from
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from simulator.lessons.summary import summarize
from simulator.simulation import Simulation
from simulator.trace import (
    Acked,
    Crashed,
    Delivered,
    MessageLost,
    MessageLostOnRestart,
    PublishDropped,
    Restarted,
)

NODES = ["rabbit-1", "rabbit-2", "rabbit-3"]

SETTINGS = settings(
    max_examples=25, deadline=None, suppress_health_check=[HealthCheck.too_slow], derandomize=True
)

BODY = """
broker = "rabbitmq"
seed = {seed}
settle_ms = 3000
[rabbitmq]
disk_write_ms = {disk}
[rabbitmq.delivery_mode]
shop = {mode}
[rabbitmq.cluster]
nodes = ["rabbit-1", "rabbit-2", "rabbit-3"]
reconnect_ms = 500
connections = {{ shop = "{shop}", orders-0 = "{c0}", orders-1 = "{c1}" }}
[[topics]]
name = "orders"
[[producers]]
name = "shop"
topic = "orders"
request_timeout_ms = 2000
[[groups]]
name = "orders"
topic = "orders"
consumers = 2
commit = "after-process"
processing_ms = {processing}
[groups.rabbitmq]
queue_type = "{queue_type}"
node = "{home}"
prefetch = {prefetch}
[[workload.generators]]
producer = "shop"
count = 30
rate_per_s = 20
keys = 3
"""


def _crash(target: str, when: tuple[str, int], restart_after_ms: int | None) -> str:
    kind, value = when
    at = f"at_ms = {value}\n" if kind == "time" else f'at = "{kind}"\noccurrence = {value}\n'
    again = "" if restart_after_ms is None else f"restart_after_ms = {restart_after_ms}\n"
    return f'[[faults]]\nkind = "crash"\ntarget = "{target}"\n{at}{again}'


def _scenario(queue_type: str, mode: int, home: str, **picks: object) -> str:
    # A classic queue's consumers take one delivery at a time, so it holds a backlog.
    prefetch = 4 if queue_type == "quorum" else 1
    return BODY.format(queue_type=queue_type, mode=mode, home=home, prefetch=prefetch, **picks)


node = st.sampled_from(NODES)
when = st.one_of(
    st.tuples(st.just("time"), st.integers(min_value=0, max_value=2_000)),
    st.tuples(st.just("after_append_before_ack"), st.integers(min_value=1, max_value=20)),
)
restart = st.one_of(st.none(), st.integers(min_value=0, max_value=4_000))


@SETTINGS
@given(
    seed=st.integers(min_value=0, max_value=2**32),
    target=node,
    when=when,
    restart_after_ms=restart,
    home=node,
    shop=node,
    c0=node,
    c1=node,
    disk=st.sampled_from([0, 3]),
    processing=st.sampled_from([5, 60]),
    mode=st.sampled_from([1, 2]),
)
def test_no_confirmed_message_is_lost_by_a_quorum_queue_under_any_single_node_crash(
    seed: int,
    target: str,
    when: tuple[str, int],
    restart_after_ms: int | None,
    home: str,
    shop: str,
    c0: str,
    c1: str,
    disk: int,
    processing: int,
    mode: int,
) -> None:
    body = _scenario(
        "quorum",
        mode,
        home,
        seed=seed,
        shop=shop,
        c0=c0,
        c1=c1,
        disk=disk,
        processing=processing,
    )
    sim = Simulation(scenario_from(body + _crash(target, when, restart_after_ms)))
    summary = summarize(sim)
    assert summary.finished == "quiescent"
    assert summary.lost == 0, [r for r in sim.trace if isinstance(r, MessageLost)]
    assert summary.acked == summary.produced  # a majority stayed: every publish got through


@SETTINGS
@given(
    seed=st.integers(min_value=0, max_value=2**32),
    crash_ms=st.integers(min_value=300, max_value=1_500),
    restart_after_ms=restart,
    mode=st.sampled_from([1, 2]),
    shop=st.sampled_from(["rabbit-2", "rabbit-3"]),
    c0=st.sampled_from(["rabbit-2", "rabbit-3"]),
    c1=st.sampled_from(["rabbit-2", "rabbit-3"]),
)
def test_a_classic_queue_on_the_crashed_node_is_unavailable_until_it_returns(
    seed: int,
    crash_ms: int,
    restart_after_ms: int | None,
    mode: int,
    shop: str,
    c0: str,
    c1: str,
) -> None:
    body = _scenario(
        "classic",
        mode,
        "rabbit-1",
        seed=seed,
        shop=shop,
        c0=c0,
        c1=c1,
        disk=0,
        processing=200,  # slow consumers: the queue holds a backlog when its node dies
    )
    sim = Simulation(scenario_from(body + _crash("rabbit-1", ("time", crash_ms), restart_after_ms)))
    summary = summarize(sim)
    trace = list(sim.trace)
    crashed = next(r for r in trace if isinstance(r, Crashed))
    restarted = next((r for r in trace if isinstance(r, Restarted)), None)
    back_at = restarted.at if restarted is not None else trace[-1].at + 1
    # nothing of the queue is delivered while its node is down
    assert not [r for r in trace if isinstance(r, Delivered) and crashed.at < r.at < back_at]
    gone = {r.msg for r in trace if isinstance(r, MessageLostOnRestart)}
    # publishes routed to it while its node is down are dropped there, though confirmed
    dropped = {r.msg for r in trace if isinstance(r, PublishDropped)}
    assert all(crashed.at <= r.at <= back_at for r in trace if isinstance(r, PublishDropped))
    assert dropped <= {r.msg for r in trace if isinstance(r, Acked)}
    lost = [r for r in trace if isinstance(r, MessageLost)]
    held = [r for r in lost if r.msg not in dropped]
    assert all("is down" in r.reason for r in lost if r.msg in dropped)
    assert dropped <= {r.msg for r in lost}
    if restarted is None:
        # what the queue held when its node died is never delivered
        assert held and all("still unavailable" in r.reason for r in held)
    elif mode == 2:
        assert gone == set() and held == []  # durable and persistent: all of it survives
    else:
        # transient: the restart took the backlog; what a consumer still had in hand was
        # processed (its ack went nowhere), everything else the restart took is lost
        assert gone and held and {r.msg for r in held} <= gone
        assert all("restarted" in r.reason for r in held)
    assert summary.lost == len(lost)
