"""A node dies in a three-node cluster: on real RabbitMQ nodes of the tests' own and on the model.

The situation: a classic queue and a quorum queue (members on all three nodes)
both live on rabbit-2 — the classic queue entirely, the quorum queue's leader.
A publisher connected to rabbit-1 publishes three persistent messages to each,
with confirms. Then rabbit-2 is killed (``kill -9``), one more message is
published to each queue, a consumer connected to rabbit-3 reads the quorum
queue and looks for the classic one, rabbit-2 comes back, and the consumer
reads the classic queue. Under it is what three real **RabbitMQ 3.10.8**
nodes (Debian 12's ``rabbitmq-server``) showed:

- the quorum queue elects a leader on another node and serves all four
  messages, the one published during the outage included;
- the classic queue is unavailable while its node is down (a passive declare
  gets 404 NOT_FOUND: "home node … is down or inaccessible");
- the publish to it during the outage is *confirmed* (``basic.ack``) and yet
  dropped: RabbitMQ routes nothing to a queue whose node is down (a
  ``mandatory`` publish comes back with ``basic.return``);
- once its node is back the classic queue has its three durable, persistent
  messages — and not the fourth.

The three nodes are started through ``.ci/broker`` with their own
directories, names and ports and one shared cookie, joined with
``rabbitmqctl join_cluster``, and stopped by their own pids at the end.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator

import pytest
from conftest import scenario_from
from own_broker import OwnBroker, can_start, free_ports

from simulator.simulation import Simulation
from simulator.trace import (
    Acked,
    Processed,
    ProduceFailed,
    QueueUnavailable,
    QuorumLeaderElected,
)

pytestmark = [pytest.mark.differential, pytest.mark.xdist_group("own-rabbitmq-cluster")]

REFERENCE: dict[str, object] = {
    "quorum_leader_moved": True,
    "classic_while_down": "unavailable",
    "publish_while_down": {"classic": "ack", "quorum": "ack"},
    "quorum_consumed": ["q1", "q2", "q3", "q4"],
    "classic_after_return": ["c1", "c2", "c3"],
}
"""Observed on a three-node RabbitMQ 3.10.8 cluster (see the module docstring)."""


# -- the model -------------------------------------------------------------------------------

MODEL = """
broker = "rabbitmq"
settle_ms = 1000
[rabbitmq.cluster]
nodes = ["rabbit-1", "rabbit-2", "rabbit-3"]
reconnect_ms = 500
[rabbitmq.cluster.connections]
to-classic = "rabbit-1"
to-quorum = "rabbit-1"
c-orders-0 = "rabbit-3"
q-orders-0 = "rabbit-3"
[[topics]]
name = "classic"
[[topics]]
name = "quorum"
[[producers]]
name = "to-classic"
topic = "classic"
[[producers]]
name = "to-quorum"
topic = "quorum"
[[groups]]
name = "c-orders"
topic = "classic"
start_ms = 5000
[groups.rabbitmq]
node = "rabbit-2"
[[groups]]
name = "q-orders"
topic = "quorum"
start_ms = 2500
[groups.rabbitmq]
queue_type = "quorum"
node = "rabbit-2"
[[workload.messages]]
producer = "to-classic"
value = "c1"
[[workload.messages]]
producer = "to-classic"
value = "c2"
[[workload.messages]]
producer = "to-classic"
value = "c3"
[[workload.messages]]
producer = "to-quorum"
value = "q1"
[[workload.messages]]
producer = "to-quorum"
value = "q2"
[[workload.messages]]
producer = "to-quorum"
value = "q3"
[[workload.messages]]
producer = "to-classic"
at_ms = 2000
value = "c4"
[[workload.messages]]
producer = "to-quorum"
at_ms = 2000
value = "q4"
[[faults]]
kind = "crash"
target = "rabbit-2"
at_ms = 100
restart_after_ms = 3000
"""
"""rabbit-2 dies at 0.1 s and is back at 3.1 s; the quorum queue's election is over well
before the publishes at 2 s; its consumer starts at 2.5 s, the classic one at 5 s."""

VALUES = {i + 1: v for i, v in enumerate(["c1", "c2", "c3", "q1", "q2", "q3", "c4", "q4"])}
"""The workload's messages, m1 to m8, in the order the file lists them."""


def model_outcome() -> dict[str, object]:
    trace = list(Simulation(scenario_from(MODEL)).run())
    elected = [r for r in trace if isinstance(r, QuorumLeaderElected)]
    restarted_at = 3100
    unavailable = [r for r in trace if isinstance(r, QueueUnavailable) and r.group == "c-orders"]
    acked = {VALUES[r.msg] for r in trace if isinstance(r, Acked)}
    failed = {VALUES[r.msg] for r in trace if isinstance(r, ProduceFailed)}

    def answer(value: str) -> str:
        return "ack" if value in acked else "nack" if value in failed else "none"

    def consumed(group: str) -> list[str]:
        return [VALUES[r.msg] for r in trace if isinstance(r, Processed) and r.group == group]

    return {
        "quorum_leader_moved": elected[-1].leader != "rabbit-2" and elected[-1].term > 1,
        "classic_while_down": "unavailable"
        if unavailable and unavailable[0].at < restarted_at
        else "available",
        "publish_while_down": {"classic": answer("c4"), "quorum": answer("q4")},
        "quorum_consumed": consumed("q-orders"),
        "classic_after_return": consumed("c-orders"),
    }


def test_the_model_loses_with_a_dead_node_what_a_real_cluster_loses() -> None:
    assert model_outcome() == REFERENCE


# -- three nodes of our own ------------------------------------------------------------------

COOKIE = "evsimdifferentialclustercookie"
"""One Erlang cookie for the three nodes (written before they start), so they may cluster."""

POLLS = 600
"""How many rounds (0.1 s of a connection's I/O, or one rabbitmqctl call) to wait for a
condition at most: a bound so a broken cluster fails the test, never a timing condition."""


@pytest.fixture(scope="module")
def nodes(tmp_path_factory: pytest.TempPathFactory) -> Iterator[list[OwnBroker]]:
    why = can_start()
    if why is not None:
        pytest.skip(why)
    try:
        ports = free_ports(3)
    except RuntimeError as err:
        pytest.skip(str(err))
    base = tmp_path_factory.mktemp("own-cluster")
    brokers = []
    for i, port in enumerate(ports, start=1):
        directory = base / f"rabbit-{i}"
        directory.mkdir()
        cookie = directory / ".erlang.cookie"
        cookie.write_text(COOKIE)
        cookie.chmod(0o400)
        brokers.append(OwnBroker(directory, port, f"evsim-cluster{i}-{port}@localhost"))
    started: list[OwnBroker] = []
    try:
        for broker in brokers:
            broker.run("start")
            started.append(broker)
        first = brokers[0]
        for broker in brokers[1:]:
            broker.ctl("stop_app")
            broker.ctl("join_cluster", first.name)
            broker.ctl("start_app")
    except RuntimeError as err:
        for broker in started:
            broker.run("stop")
        pytest.skip(f"could not start a cluster of our own: {err}")
    try:
        yield brokers
    finally:
        for broker in brokers:
            broker.run("stop")


def _until(done: Callable[[], bool]) -> None:
    for _ in range(POLLS):
        if done():
            return
        time.sleep(0.1)  # polling for a condition, which is what the test waits on
    raise AssertionError("the cluster never reached the state the test waits for")


def _leader(broker: OwnBroker, queue: str) -> str:
    for line in broker.ctl("-q", "list_queues", "name", "leader").splitlines():
        name, _, leader = line.partition("\t")
        if name == queue:
            return leader.strip()
    return ""


def real_outcome(nodes: list[OwnBroker]) -> dict[str, object]:
    import pika

    rabbit1, rabbit2, rabbit3 = nodes

    def connect(node: OwnBroker) -> pika.BlockingConnection:
        return pika.BlockingConnection(pika.ConnectionParameters("127.0.0.1", node.port))

    persistent = pika.BasicProperties(delivery_mode=2)
    home = connect(rabbit2)  # client-local: both queues (the quorum queue's leader) on rabbit-2
    channel = home.channel()
    channel.queue_declare("c-orders", durable=True)
    channel.queue_declare("q-orders", durable=True, arguments={"x-queue-type": "quorum"})
    home.close()
    assert _leader(rabbit1, "q-orders") == rabbit2.name
    shop = connect(rabbit1)
    publish = shop.channel()
    publish.confirm_delivery()
    for queue, prefix in (("c-orders", "c"), ("q-orders", "q")):
        for n in (1, 2, 3):
            publish.basic_publish("", queue, f"{prefix}{n}".encode(), persistent)
    rabbit2.kill()
    _until(lambda: _leader(rabbit1, "q-orders") not in ("", rabbit2.name))
    answers = {}
    for queue, body in (("c-orders", b"c4"), ("q-orders", b"q4")):
        try:
            publish.basic_publish("", queue, body, persistent)
            answers[queue[0]] = "ack"
        except pika.exceptions.NackError:
            answers[queue[0]] = "nack"
    shop.close()
    reader = connect(rabbit3)
    look = reader.channel()
    try:
        look.queue_declare("c-orders", passive=True)
        classic_while_down = "available"
    except pika.exceptions.ChannelClosedByBroker as err:
        assert err.reply_code == 404
        classic_while_down = "unavailable"

    def drain(queue: str) -> list[str]:
        channel = reader.channel()
        got = []
        while True:
            method, _, body = channel.basic_get(queue, auto_ack=True)
            if method is None:
                return got
            got.append(body.decode())

    quorum = drain("q-orders")
    rabbit2.run("start")
    classic = drain("c-orders")
    reader.close()
    return {
        "quorum_leader_moved": _leader(rabbit1, "q-orders") not in ("", rabbit2.name),
        "classic_while_down": classic_while_down,
        "publish_while_down": {"classic": answers["c"], "quorum": answers["q"]},
        "quorum_consumed": quorum,
        "classic_after_return": classic,
    }


@pytest.mark.slow
def test_a_real_cluster_loses_with_a_dead_node_only_what_its_classic_queue_was_sent(
    nodes: list[OwnBroker],
) -> None:
    assert real_outcome(nodes) == REFERENCE
