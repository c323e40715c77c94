"""A restart and a memory alarm, on a real RabbitMQ of the tests' own and on the model.

Two situations need a broker the tests may disturb. **A restart**: a durable
queue receives one persistent and one transient message, a non-durable queue
one persistent message and a quorum queue one transient message, all
confirmed; then the broker restarts, and a client looks at what is left.
**The memory alarm**: a publisher has one message queued when the alarm goes
off; another connection published before it and publishes nothing during it;
the publisher sends two more, a consumer comes, then the alarm clears. Under
each is what a real **RabbitMQ 3.10.8** (Debian 12's ``rabbitmq-server``, one
node) showed.

Restarting a broker, or setting its memory watermark to 0, must never touch
one somebody else is using, so the real side starts a node of its own — its
own directory under ``tmp_path``, its own node name, a free port and
distribution port, all on 127.0.0.1, through ``.ci/broker`` — and stops it at
the end, by the pid in its own directory. Without ``rabbitmq-server``
installed the broker tests skip; the model tests still run against the
references below.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any

import pytest
from conftest import scenario_from
from own_broker import OwnBroker, can_start, free_ports

from simulator.simulation import Simulation
from simulator.trace import Processed, PublisherBlocked, PublisherUnblocked, Routed

# one worker runs every test here, so they share one broker of their own
pytestmark = [pytest.mark.differential, pytest.mark.xdist_group("own-rabbitmq")]

REFERENCE = {"durable": ["persistent"], "non-durable": None, "quorum": ["transient"]}
"""Observed on RabbitMQ 3.10.8: the durable queue keeps only the persistent message; the
non-durable queue is gone (a passive declare gets 404 NOT_FOUND); a quorum queue keeps
even a transient message (it writes everything to its log)."""


# -- a restart: the model -------------------------------------------------------------------

MODEL = """
broker = "rabbitmq"
settle_ms = 500
[rabbitmq.delivery_mode]
keeper = 2
fleeting = 1
scratch = 2
casual = 1
[[topics]]
name = "to-durable"
[[topics]]
name = "to-non-durable"
[[topics]]
name = "to-quorum"
[[producers]]
name = "keeper"
topic = "to-durable"
[[producers]]
name = "fleeting"
topic = "to-durable"
[[producers]]
name = "scratch"
topic = "to-non-durable"
[[producers]]
name = "casual"
topic = "to-quorum"
[[groups]]
name = "durable"
topic = "to-durable"
start_ms = 2000
[[groups]]
name = "non-durable"
topic = "to-non-durable"
start_ms = 2000
[groups.rabbitmq]
durable = false
[[groups]]
name = "quorum"
topic = "to-quorum"
start_ms = 2000
[groups.rabbitmq]
queue_type = "quorum"
[[workload.messages]]
producer = "keeper"
value = "persistent"
[[workload.messages]]
producer = "fleeting"
at_ms = 1
value = "transient"
[[workload.messages]]
producer = "scratch"
at_ms = 2
value = "persistent"
[[workload.messages]]
producer = "casual"
at_ms = 3
value = "transient"
[[faults]]
kind = "crash"
target = "broker"
at_ms = 100
restart_after_ms = 500
"""


VALUES = {1: "persistent", 2: "transient", 3: "persistent", 4: "transient"}
"""The workload's messages, m1 to m4, in the order the file lists them."""


def model_outcome() -> dict[str, list[str] | None]:
    seen: dict[str, list[str]] = {"durable": [], "non-durable": [], "quorum": []}
    for r in Simulation(scenario_from(MODEL)).run():
        if isinstance(r, Processed):
            seen[r.group].append(VALUES[r.msg])
    # a non-durable queue that came back empty is one declared anew: it was gone
    return {
        "durable": seen["durable"],
        "non-durable": seen["non-durable"] or None,
        "quorum": seen["quorum"],
    }


def test_the_model_keeps_what_a_restarted_rabbitmq_keeps() -> None:
    assert model_outcome() == REFERENCE


# -- the memory alarm: the model --------------------------------------------------------------

ALARM_REFERENCE = {
    "blocked": ["publisher"],
    "unblocked": ["publisher"],
    "queued_when_blocked": 1,
    "consumed_while_blocked": ["m1"],
    "consumed": ["m1", "m2", "m3"],
}
"""Observed on RabbitMQ 3.10.8 (``rabbitmqctl set_vm_memory_high_watermark 0``, then 0.4):
only the connection that publishes during the alarm is blocked (``connection.blocked``
came when it published m2, not when the alarm went off) and later unblocked; the idle
one hears neither. m2 and m3 wait unread — the queue holds m1 alone when the publisher
hears it is blocked — while a consumer
on another connection still takes m1; once the alarm clears, m2 and m3 arrive in order."""

ALARM_MODEL = """
broker = "rabbitmq"
settle_ms = 500
[rabbitmq]
memory_high_watermark_messages = 1
[[topics]]
name = "to-work"
[[topics]]
name = "to-idle"
[[producers]]
name = "publisher"
topic = "to-work"
[[producers]]
name = "idle"
topic = "to-idle"
[[groups]]
name = "work"
topic = "to-work"
start_ms = 1500
[[groups]]
name = "idle-queue"
topic = "to-idle"
[[workload.messages]]
producer = "publisher"
value = "m1"
[[workload.messages]]
producer = "idle"
value = "i1"
[[workload.messages]]
producer = "publisher"
at_ms = 1200
value = "m2"
[[workload.messages]]
producer = "publisher"
at_ms = 1210
value = "m3"
"""
"""m1 alone reaches the watermark (1 message): the alarm goes off at the first check
(1 s), before m2 is sent; the consumer comes at 1.5 s and takes m1, and the check at
2 s clears the alarm."""

ALARM_VALUES = {1: "m1", 2: "i1", 3: "m2", 4: "m3"}


def alarm_model_outcome() -> dict[str, object]:
    trace = list(Simulation(scenario_from(ALARM_MODEL)).run())
    blocked = [r for r in trace if isinstance(r, PublisherBlocked)]
    unblocked = [r for r in trace if isinstance(r, PublisherUnblocked)]
    start, end = blocked[0].at, unblocked[-1].at
    work = [r for r in trace if isinstance(r, Processed) and r.group == "work"]
    return {
        "blocked": sorted(r.producer for r in blocked),
        "unblocked": sorted(r.producer for r in unblocked),
        "queued_when_blocked": sum(
            1 for r in trace if isinstance(r, Routed) and "work" in r.queues and r.at <= start
        ),
        "consumed_while_blocked": [ALARM_VALUES[r.msg] for r in work if start < r.at < end],
        "consumed": [ALARM_VALUES[r.msg] for r in work],
    }


def test_the_models_memory_alarm_blocks_what_a_real_rabbitmqs_blocks() -> None:
    assert alarm_model_outcome() == ALARM_REFERENCE


# -- a broker of our own ---------------------------------------------------------------------


@pytest.fixture(scope="module")
def own_broker(tmp_path_factory: pytest.TempPathFactory) -> Iterator[OwnBroker]:
    why = can_start()
    if why is not None:
        pytest.skip(why)
    try:
        (port,) = free_ports(1)
    except RuntimeError as err:
        pytest.skip(str(err))
    broker = OwnBroker(
        tmp_path_factory.mktemp("own-broker"), port, f"evsim-restart-{port}@localhost"
    )
    try:
        broker.run("start")
    except RuntimeError as err:
        pytest.skip(f"could not start a broker of our own: {err}")
    try:
        yield broker
    finally:
        broker.run("stop")


def real_outcome(broker: OwnBroker) -> dict[str, list[str] | None]:
    import pika

    params = pika.ConnectionParameters(host="127.0.0.1", port=broker.port)
    conn = pika.BlockingConnection(params)
    channel = conn.channel()
    channel.confirm_delivery()  # a publish returns once the broker has confirmed it
    channel.queue_declare("durable", durable=True)
    channel.queue_declare("non-durable", durable=False)
    channel.queue_declare("quorum", durable=True, arguments={"x-queue-type": "quorum"})
    publish = [
        ("durable", b"persistent", 2),
        ("durable", b"transient", 1),
        ("non-durable", b"persistent", 2),
        ("quorum", b"transient", 1),
    ]
    for queue, body, mode in publish:
        channel.basic_publish("", queue, body, pika.BasicProperties(delivery_mode=mode))
    conn.close()
    broker.restart()
    conn = pika.BlockingConnection(params)
    channel = conn.channel()

    def kept(queue: str) -> list[str]:
        got: list[str] = []
        while True:
            method, _, body = channel.basic_get(queue, auto_ack=True)
            if method is None:
                return got
            got.append(body.decode())

    outcome: dict[str, list[str] | None] = {"durable": kept("durable"), "quorum": kept("quorum")}
    try:
        channel.queue_declare("non-durable", passive=True)
        outcome["non-durable"] = []
    except pika.exceptions.ChannelClosedByBroker as err:
        assert err.reply_code == 404
        outcome["non-durable"] = None
    if conn.is_open:
        conn.close()
    return outcome


@pytest.mark.slow
def test_a_restarted_rabbitmq_keeps_durable_queues_persistent_messages_and_a_quorum_queues(
    own_broker: OwnBroker,
) -> None:
    assert real_outcome(own_broker) == REFERENCE


POLLS = 600
"""How many 0.1 s rounds of a connection's I/O to wait for an awaited frame at most: a
bound so a broken broker fails the test instead of hanging it, never a timing condition."""


def real_alarm_outcome(broker: OwnBroker) -> dict[str, object]:
    import pika

    params = pika.ConnectionParameters(host="127.0.0.1", port=broker.port)
    told: dict[str, list[str]] = {"publisher": [], "idle": []}
    conns = {}
    for name in told:
        conn = pika.BlockingConnection(params)
        conn.add_on_connection_blocked_callback(lambda _c, _f, n=name: told[n].append("blocked"))
        conn.add_on_connection_unblocked_callback(
            lambda _c, _f, n=name: told[n].append("unblocked")
        )
        conns[name] = conn
    publisher, idle = conns["publisher"].channel(), conns["idle"].channel()
    for channel, queue in ((publisher, "alarm-work"), (idle, "alarm-idle")):
        channel.queue_declare(queue)
        channel.queue_purge(queue)
    publisher.confirm_delivery()
    publisher.basic_publish("", "alarm-work", b"m1")
    idle.basic_publish("", "alarm-idle", b"i1")
    idle.queue_purge("alarm-idle")  # consumed, as the model's idle-queue group does at once

    def until(conn: pika.BlockingConnection, done: Callable[[], bool]) -> None:
        for _ in range(POLLS):
            if done():
                return
            conn.process_data_events(time_limit=0.1)
        raise AssertionError("the broker never sent what the test waits for")

    broker.ctl("set_vm_memory_high_watermark", "0")
    consumer_conn = pika.BlockingConnection(params)
    try:
        until(consumer_conn, lambda: "memory" in broker.ctl("eval", "rabbit_alarm:get_alarms()."))
        # a publisher without confirms now: a confirm would never come while it is blocked
        plain = conns["publisher"].channel()
        plain.basic_publish("", "alarm-work", b"m2")
        plain.basic_publish("", "alarm-work", b"m3")
        until(conns["publisher"], lambda: told["publisher"] == ["blocked"])
        consumer = consumer_conn.channel()
        queued = consumer.queue_declare("alarm-work", passive=True).method.message_count
        got: list[str] = []

        def on_message(ch: Any, method: Any, _props: Any, body: bytes) -> None:
            got.append(body.decode())
            ch.basic_ack(method.delivery_tag)

        consumer.basic_consume("alarm-work", on_message)
        until(consumer_conn, lambda: got == ["m1"])
        consumed_while_blocked = list(got)
        idle.queue_declare(
            "alarm-idle", passive=True
        )  # a round trip: a blocked frame would precede it
        broker.ctl("set_vm_memory_high_watermark", "0.4")
        until(conns["publisher"], lambda: told["publisher"] == ["blocked", "unblocked"])
        until(consumer_conn, lambda: len(got) >= 3)
        idle.queue_declare("alarm-idle", passive=True)
    finally:
        broker.ctl("set_vm_memory_high_watermark", "0.4")
        for conn in (*conns.values(), consumer_conn):
            if conn.is_open:
                conn.close()
    return {
        "blocked": sorted(n for n, heard in told.items() if "blocked" in heard),
        "unblocked": sorted(n for n, heard in told.items() if "unblocked" in heard),
        "queued_when_blocked": queued,
        "consumed_while_blocked": consumed_while_blocked,
        "consumed": got,
    }


@pytest.mark.slow
def test_a_real_rabbitmqs_memory_alarm_blocks_only_the_connection_that_publishes(
    own_broker: OwnBroker,
) -> None:
    assert real_alarm_outcome(own_broker) == ALARM_REFERENCE
