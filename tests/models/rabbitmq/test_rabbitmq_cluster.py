"""A RabbitMQ cluster: quorum queues as Raft groups, classic queues on one node, partitions.

The claims (``SEMANTICS.md``, "Replication, durability and availability"; the
RabbitMQ quorum queue guide, "Leader Election and Failure Handling"; Ra's
internals guide, "Failure Detection"): a quorum queue confirms a publish once a
majority of its members have written it; when the leader's node fails a
follower is elected and the consumers re-attach; a minority cannot accept
writes; a classic queue on a failed node is unavailable until the node returns, and a
publish routed to it meanwhile is dropped yet confirmed (seen on RabbitMQ 3.10.8).
"""

from __future__ import annotations

import pytest
from conftest import scenario_from

from simulator.errors import InputError
from simulator.lessons.summary import summarize
from simulator.simulation import Simulation
from simulator.trace import (
    Acked,
    ClientReconnected,
    Crashed,
    Delivered,
    MessageLost,
    Processed,
    ProduceFailed,
    ProduceRetried,
    PublishDropped,
    QueueAvailable,
    QueueUnavailable,
    QuorumLeaderElected,
    QuorumWriteCommitted,
    Record,
    Requeued,
    Routed,
    ScenarioStarted,
)

CLUSTER = """
broker = "rabbitmq"
settle_ms = 2000
[rabbitmq]
disk_write_ms = {disk}
[rabbitmq.cluster]
nodes = ["rabbit-1", "rabbit-2", "rabbit-3"]
failure_detection_ms = 2000
reconnect_ms = 1000
connections = {{ shop = "{shop}", orders-0 = "{consumer}" }}
[[topics]]
name = "orders"
[[producers]]
name = "shop"
topic = "orders"
request_timeout_ms = 1000
[[groups]]
name = "orders"
topic = "orders"
commit = "after-process"
processing_ms = {processing}
[groups.rabbitmq]
queue_type = "{queue_type}"
node = "rabbit-1"
prefetch = 5
[[workload.generators]]
producer = "shop"
count = {count}
rate_per_s = 20
"""


def cluster(
    faults: str = "",
    *,
    queue_type: str = "quorum",
    shop: str = "rabbit-3",
    consumer: str = "rabbit-2",
    disk: int = 0,
    processing: int = 10,
    count: int = 40,
) -> Simulation:
    body = CLUSTER.format(
        queue_type=queue_type,
        shop=shop,
        consumer=consumer,
        disk=disk,
        processing=processing,
        count=count,
    )
    return Simulation(scenario_from(body + faults))


def crash(node: str, at_ms: int, restart_after_ms: int | None = None) -> str:
    again = f"restart_after_ms = {restart_after_ms}\n" if restart_after_ms is not None else ""
    return f'[[faults]]\nkind = "crash"\ntarget = "{node}"\nat_ms = {at_ms}\n{again}'


def of(trace: list[Record], kind: type[Record]) -> list[Record]:
    return [r for r in trace if isinstance(r, kind)]


# -- writes: a majority, then the confirm ------------------------------------------------------


def test_a_quorum_write_commits_once_a_majority_has_written_it() -> None:
    trace = list(cluster(disk=5).run())
    routed = {r.msg: r.at for r in of(trace, Routed)}
    commits = [r for r in of(trace, QuorumWriteCommitted) if isinstance(r, QuorumWriteCommitted)]
    assert commits
    for c in commits:
        assert c.replicas[0] == "rabbit-1" and len(c.replicas) >= 2  # the leader and one more
        # the leader writes (5 ms) while a follower receives (1 ms), writes (5) and acks (1)
        assert c.at - routed[c.msg] == 5 + 2


def test_the_confirm_goes_out_only_after_the_commit() -> None:
    trace = list(cluster(disk=5).run())
    committed = {r.msg: r.at for r in trace if isinstance(r, QuorumWriteCommitted)}
    for r in of(trace, Acked):
        assert r.at > committed[r.msg]


def test_a_message_is_delivered_only_once_committed() -> None:
    trace = list(cluster(disk=5).run())
    committed = {r.msg: r.seq for r in trace if isinstance(r, QuorumWriteCommitted)}
    for r in of(trace, Delivered):
        assert r.cause_seq is not None and r.cause_seq >= committed[r.msg]


# -- the leader's node crashes -----------------------------------------------------------------


def test_a_follower_is_elected_within_the_randomised_election_timeout() -> None:
    trace = list(cluster(crash("rabbit-1", 500)).run())
    elected = [r for r in of(trace, QuorumLeaderElected) if isinstance(r, QuorumLeaderElected)]
    assert elected[0].term == 1 and elected[0].leader == "rabbit-1"
    new = elected[1]
    assert new.term == 2 and new.leader in ("rabbit-2", "rabbit-3")
    assert len(new.votes) >= 2 and "rabbit-1" not in new.votes
    # noticed one hop after the crash, then 500–999 ms of election timeout
    assert 500 + 1 + 500 <= new.at < 500 + 1 + 1000
    unavailable = of(trace, QueueUnavailable)
    available = [r for r in of(trace, QueueAvailable) if isinstance(r, QueueAvailable)]
    assert unavailable[0].at == 500 and available[0].at == new.at
    assert available[0].node == new.leader


def test_no_confirmed_message_is_lost_when_the_leader_crashes() -> None:
    summary = summarize(cluster(crash("rabbit-1", 500)))
    assert summary.lost == 0
    assert summary.acked == summary.produced  # every publish was eventually confirmed


def test_consumers_on_the_failed_node_have_their_unacked_deliveries_requeued() -> None:
    sim = cluster(
        crash("rabbit-1", 500, restart_after_ms=5000), consumer="rabbit-1", processing=200
    )
    trace = list(sim.run())
    requeued = [r for r in of(trace, Requeued) if isinstance(r, Requeued)]
    assert requeued and all(r.reason == "channel closed" and r.at == 500 for r in requeued)
    moved = [r for r in of(trace, ClientReconnected) if isinstance(r, ClientReconnected)]
    assert [(r.client, r.node, r.at) for r in moved] == [("orders-0", "rabbit-2", 1500)]
    again = {r.msg for r in of(trace, Delivered) if isinstance(r, Delivered) and r.redelivered}
    assert {r.msg for r in requeued} <= again
    assert summarize(sim).lost == 0


def test_consumers_on_other_nodes_stay_attached_through_the_election() -> None:
    trace = list(cluster(crash("rabbit-1", 500), consumer="rabbit-2").run())
    assert of(trace, Requeued) == []
    assert [r for r in of(trace, ClientReconnected) if getattr(r, "client", "") != "shop"] == []
    elected = of(trace, QuorumLeaderElected)[1]
    later = [r for r in of(trace, Delivered) if r.at > elected.at]
    assert later, "the new leader serves the consumer that stayed"


def test_without_a_majority_a_quorum_queue_serves_nobody_until_one_returns() -> None:
    faults = crash("rabbit-1", 500) + crash("rabbit-2", 500, restart_after_ms=3000)
    trace = list(cluster(faults, shop="rabbit-3", consumer="rabbit-3").run())
    reasons = [r.reason for r in trace if isinstance(r, QueueUnavailable)]
    assert any("no majority: 1 of 3" in why for why in reasons)
    elected = [r for r in of(trace, QuorumLeaderElected) if isinstance(r, QuorumLeaderElected)]
    assert elected[-1].at >= 3500 and set(elected[-1].votes) == {"rabbit-2", "rabbit-3"}


def test_a_leader_that_dies_right_after_appending_loses_only_an_unconfirmed_write() -> None:
    point = '[[faults]]\nkind = "crash"\ntarget = "rabbit-1"\nat = "after_append_before_ack"\n'
    sim = cluster(point + "occurrence = 3\n")
    trace = list(sim.run())
    crashed = [r for r in of(trace, Crashed) if isinstance(r, Crashed)]
    assert crashed[0].point == "after_append_before_ack"
    assert 3 in {r.msg for r in of(trace, ProduceRetried)}  # the third publish: m3
    assert summarize(sim).lost == 0


# -- a classic queue lives on one node ---------------------------------------------------------


def test_a_classic_queue_is_unavailable_while_its_node_is_down() -> None:
    sim = cluster(
        crash("rabbit-1", 500, restart_after_ms=2000), queue_type="classic", processing=100
    )
    trace = list(sim.run())
    down = of(trace, QueueUnavailable)
    up = [r for r in of(trace, QueueAvailable) if isinstance(r, QueueAvailable)]
    assert [r.at for r in down] == [500] and [(r.at, r.node) for r in up] == [(2500, "rabbit-1")]
    # RabbitMQ 3.10.8 routes nothing to it meanwhile: each publish is dropped, yet confirmed
    assert of(trace, ProduceFailed) == []
    dropped = [r for r in of(trace, PublishDropped) if isinstance(r, PublishDropped)]
    assert dropped and all(500 <= r.at <= 2500 for r in dropped)
    assert all("rabbit-1 is down" in r.reason for r in dropped)
    acked = {r.msg for r in of(trace, Acked) if isinstance(r, Acked)}
    assert {r.msg for r in dropped} <= acked
    # what it held (durable, persistent) is served again once its node is back
    late = [r for r in of(trace, Delivered) if 500 < r.at < 2500]
    assert late == []
    lost = [r for r in of(trace, MessageLost) if isinstance(r, MessageLost)]
    assert sorted(r.msg for r in lost) == sorted(r.msg for r in dropped)
    assert all("while its node rabbit-1 is down" in r.reason for r in lost)
    assert summarize(sim).lost == len(dropped)


def test_a_publish_also_routed_to_a_live_queue_reaches_that_one() -> None:
    # the drop is per queue: a fanout's other queue, on a live node, still gets the message
    body = """
broker = "rabbitmq"
settle_ms = 2000
[rabbitmq.cluster]
nodes = ["rabbit-1", "rabbit-2", "rabbit-3"]
connections = { shop = "rabbit-3", on-1-0 = "rabbit-3", on-2-0 = "rabbit-3" }
[[topics]]
name = "orders"
[[producers]]
name = "shop"
topic = "orders"
[[groups]]
name = "on-1"
topic = "orders"
[groups.rabbitmq]
node = "rabbit-1"
[[groups]]
name = "on-2"
topic = "orders"
[groups.rabbitmq]
node = "rabbit-2"
[[workload.generators]]
producer = "shop"
count = 40
rate_per_s = 20
[[faults]]
kind = "crash"
target = "rabbit-1"
at_ms = 500
"""
    sim = Simulation(scenario_from(body))
    trace = list(sim.run())
    dropped = [r for r in of(trace, PublishDropped) if isinstance(r, PublishDropped)]
    assert dropped and {r.group for r in dropped} == {"on-1"}
    processed = {(r.group, r.msg) for r in of(trace, Processed) if isinstance(r, Processed)}
    assert all(("on-2", r.msg) in processed for r in dropped)
    assert {r.msg for r in of(trace, Acked) if isinstance(r, Acked)} >= {r.msg for r in dropped}


def test_a_classic_queue_whose_node_never_returns_loses_what_it_held() -> None:
    sim = cluster(crash("rabbit-1", 500), queue_type="classic", processing=100)
    summary = summarize(sim)
    lost = [r for r in sim.trace if isinstance(r, MessageLost)]
    dropped = {r.msg for r in sim.trace if isinstance(r, PublishDropped)}
    held = [r for r in lost if r.msg not in dropped]
    assert summary.lost > len(dropped)
    assert all("still unavailable" in r.reason for r in held)


# -- a network partition between nodes ---------------------------------------------------------

ISOLATE_LEADER = """
[[faults]]
kind = "partition"
between = ["rabbit-1", "rabbit-2"]
from_ms = 500
to_ms = 5000
[[faults]]
kind = "partition"
between = ["rabbit-1", "rabbit-3"]
from_ms = 500
to_ms = 5000
"""


def test_a_minority_cannot_accept_writes_until_the_partition_heals() -> None:
    sim = cluster(ISOLATE_LEADER, shop="rabbit-1", consumer="rabbit-2")
    trace = list(sim.run())
    acked_during = [r for r in of(trace, Acked) if 520 < r.at < 5000]
    assert acked_during == [], "a publisher on the minority side got no confirm"
    assert summarize(sim).lost == 0  # and after the heal, everything it sent was confirmed


def test_the_majority_side_elects_a_leader_after_suspecting_the_old_one() -> None:
    sim = cluster(ISOLATE_LEADER, shop="rabbit-3", consumer="rabbit-2")
    trace = list(sim.run())
    elected = [r for r in of(trace, QuorumLeaderElected) if isinstance(r, QuorumLeaderElected)]
    new = elected[1]
    assert new.leader in ("rabbit-2", "rabbit-3") and "rabbit-1" not in new.votes
    assert new.at >= 500 + 2000  # only once the silent leader was suspected
    acked_during = [r for r in of(trace, Acked) if new.at < r.at < 5000]
    assert acked_during, "the majority side accepts writes again"


def test_a_follower_cut_off_does_not_stop_the_majority() -> None:
    faults = ISOLATE_LEADER.replace('"rabbit-1", "rabbit-2"', '"rabbit-3", "rabbit-2"').replace(
        '"rabbit-1", "rabbit-3"', '"rabbit-3", "rabbit-1"'
    )
    trace = list(cluster(faults, shop="rabbit-1", consumer="rabbit-2").run())
    assert len(of(trace, QuorumLeaderElected)) == 1  # rabbit-1 keeps its majority
    assert [r for r in of(trace, Acked) if 520 < r.at < 5000]


# -- the format --------------------------------------------------------------------------------


def test_the_header_lists_the_nodes_connections_and_members() -> None:
    first = next(iter(cluster()))
    assert isinstance(first, ScenarioStarted)
    settings = first.settings
    assert settings["cluster.nodes"] == "rabbit-1,rabbit-2,rabbit-3"
    assert settings["connection.shop"] == "rabbit-3"
    assert settings["queue.orders.members"] == "rabbit-1,rabbit-2,rabbit-3 (leader rabbit-1)"
    assert "a cluster of 3 nodes" in first.follows


@pytest.mark.parametrize(
    ("change", "where"),
    [
        (('"rabbit-2", "rabbit-3"]', '"rabbit-2", "shop"]'), "$.rabbitmq.cluster.nodes[2]"),
        (('shop = "rabbit-3"', 'shop = "rabbit-9"'), "$.rabbitmq.cluster.connections.shop"),
        (('node = "rabbit-1"', 'node = "rabbit-7"'), "$.groups[0].rabbitmq.node"),
    ],
)
def test_cluster_mistakes_name_their_path(change: tuple[str, str], where: str) -> None:
    body = CLUSTER.format(
        queue_type="quorum", shop="rabbit-3", consumer="rabbit-2", disk=0, processing=1, count=1
    )
    with pytest.raises(InputError) as err:
        scenario_from(body.replace(*change))
    assert err.value.where == where


def test_in_a_cluster_a_fault_names_a_node_not_the_broker() -> None:
    body = CLUSTER.format(
        queue_type="quorum", shop="rabbit-3", consumer="rabbit-2", disk=0, processing=1, count=1
    )
    with pytest.raises(InputError, match="name a node"):
        scenario_from(body + crash("broker", 100))


def test_a_node_is_a_component_a_fault_may_name() -> None:
    body = CLUSTER.format(
        queue_type="quorum", shop="rabbit-3", consumer="rabbit-2", disk=0, processing=1, count=1
    )
    with pytest.raises(InputError, match="unknown component 'rabbit-4'"):
        scenario_from(body + crash("rabbit-4", 100))


def test_a_queue_node_needs_a_cluster() -> None:
    body = """
broker = "rabbitmq"
[[topics]]
name = "orders"
[[groups]]
name = "orders"
topic = "orders"
[groups.rabbitmq]
node = "rabbit-1"
"""
    with pytest.raises(InputError, match=r"needs \[rabbitmq\.cluster\]"):
        scenario_from(body)
