"""Where quorum queues differ from classic ones, and the headers dead letters carry.

Each claim was measured on a real RabbitMQ 3.10.8 (``tests/differential``); these
tests pin the model's side of it without a broker.
"""

from __future__ import annotations

import pytest
from conftest import scenario_from

from simulator.errors import InputError
from simulator.lessons.summary import summarize
from simulator.simulation import Simulation
from simulator.trace import (
    DeadLettered,
    Delivered,
    ProduceFailed,
    QueueOverflowed,
    Record,
    Requeued,
)

TOPICS = """
broker = "rabbitmq"
[[topics]]
name = "orders"
[[topics]]
name = "orders-dlx"
[[producers]]
name = "shop"
topic = "orders"
"""


def _messages(n: int, every_ms: int = 10, start_ms: int = 0) -> str:
    return "".join(
        f'[[workload.messages]]\nproducer = "shop"\nkey = "k"\nat_ms = {start_ms + i * every_ms}\n'
        for i in range(n)
    )


def _queue(queue_type: str, extra: str = "", group: str = "") -> str:
    return (
        f'[[groups]]\nname = "billing"\ntopic = "orders"\nprocessing_ms = 5\n{group}'
        f'[groups.rabbitmq]\nqueue_type = "{queue_type}"\n{extra}'
    )


def of(trace: list[Record], kind: type[Record]) -> list[Record]:
    return [r for r in trace if isinstance(r, kind)]


def deliveries(trace: list[Record]) -> list[tuple[int, bool, int | None]]:
    return [
        (r.msg, r.redelivered, r.delivery_count)
        for r in trace
        if isinstance(r, Delivered) and r.group == "billing"
    ]


# -- nack with requeue=true: a classic queue puts it back in place, a quorum queue at the tail


LOOP = """prefetch = 1
requeue_on_failure = true
"""
POISON_M1 = '[[faults]]\nkind = "poison"\ngroup = "billing"\nmsgs = [1]\n'


def _requeue_loop(queue_type: str) -> list[Record]:
    body = "until_ms = 100\n" + TOPICS + _queue(queue_type, LOOP, "start_ms = 50\n")
    return list(Simulation(scenario_from(body + POISON_M1 + _messages(5, every_ms=1))).run())


def test_a_nacked_message_goes_back_to_the_head_of_a_classic_queue() -> None:
    order = [m for m, _, _ in deliveries(_requeue_loop("classic"))]
    assert order[:4] == [1, 1, 1, 1]  # m1 starves everything behind it


def test_a_nacked_message_goes_to_the_tail_of_a_quorum_queue_with_its_delivery_count() -> None:
    trace = _requeue_loop("quorum")
    got = deliveries(trace)[:8]
    assert got == [
        (1, False, None),
        (2, False, None),
        (3, False, None),
        (4, False, None),
        (5, False, None),
        (1, True, 1),
        (1, True, 2),
        (1, True, 3),
    ]
    first = next(r for r in of(trace, Requeued) if isinstance(r, Requeued))
    assert first.reason == "nack" and first.position == 4  # behind m2…m5


def test_a_closed_channel_returns_deliveries_in_place_on_a_quorum_queue_too() -> None:
    body = TOPICS + _queue("quorum", "prefetch = 5\n", "start_ms = 100\nprocessing_ms = 50\n")
    body = body.replace("processing_ms = 5\n", "", 1)
    body += '[[faults]]\nkind = "crash"\ntarget = "billing-0"\nat_ms = 120\nrestart_after_ms = 50\n'
    trace = list(Simulation(scenario_from(body + _messages(8, every_ms=1))).run())
    returned = [r for r in of(trace, Requeued) if isinstance(r, Requeued)]
    assert [r.position for r in returned] == [0, 1, 2, 3, 4]
    assert all(r.reason == "channel closed" for r in returned)
    again = [(m, n) for m, red, n in deliveries(trace) if red]
    assert again == [(1, 1), (2, 1), (3, 1), (4, 1), (5, 1)]


def test_a_classic_queue_sends_no_delivery_count() -> None:
    assert all(n is None for _, _, n in deliveries(_requeue_loop("classic")))


# -- reject-publish: classic refuses at max-length, a 3.10 quorum queue one later -------------


@pytest.mark.parametrize(("queue_type", "stored"), [("classic", 3), ("quorum", 4)])
def test_reject_publish_refuses_from_the_limit_on_classic_and_one_later_on_quorum(
    queue_type: str, stored: int
) -> None:
    body = TOPICS + _queue(
        queue_type, 'max_length = 3\noverflow = "reject-publish"\n', "start_ms = 1000\n"
    )
    sim = Simulation(scenario_from(body + _messages(6)))
    summary = summarize(sim)
    refused = [r.msg for r in sim.trace if isinstance(r, ProduceFailed)]
    assert refused == list(range(stored + 1, 7))
    assert summary.processed == stored and summary.lost == 0


def test_a_quorum_queue_drops_what_it_refuses_from_a_publisher_without_confirms() -> None:
    body = TOPICS + "[rabbitmq]\npublisher_confirms = false\n"
    body += _queue("quorum", 'max_length = 3\noverflow = "reject-publish"\n', "start_ms = 1000\n")
    sim = Simulation(scenario_from(body + _messages(6, every_ms=50)))
    summary = summarize(sim)
    assert summary.processed == 4
    assert summary.dropped_unacknowledged == 2 and summary.lost == 0


def test_reject_publish_dlx_nacks_and_dead_letters_what_it_refuses() -> None:
    body = TOPICS + _queue(
        "classic",
        'max_length = 3\noverflow = "reject-publish-dlx"\n',
        'start_ms = 1000\ndead_letter_topic = "orders-dlx"\n',
    )
    body += '[[groups]]\nname = "dead"\ntopic = "orders-dlx"\nconsumers = 0\n'
    sim = Simulation(scenario_from(body + _messages(5)))
    summary = summarize(sim)
    assert [r.msg for r in sim.trace if isinstance(r, ProduceFailed)] == [4, 5]
    overflowed = [r for r in sim.trace if isinstance(r, QueueOverflowed)]
    assert [r.overflow for r in overflowed] == ["reject-publish-dlx"] * 2
    dead = [r for r in sim.trace if isinstance(r, DeadLettered)]
    assert [(r.msg, r.reason) for r in dead] == [(4, "maxlen"), (5, "maxlen")]
    assert summary.processed == 3 and summary.lost == 0


def test_reject_publish_dlx_on_a_quorum_queue_is_refused_naming_the_path() -> None:
    with pytest.raises(InputError) as err:
        scenario_from(TOPICS + _queue("quorum", 'overflow = "reject-publish-dlx"\n'))
    assert err.value.where == "$.groups[0].rabbitmq.overflow"


# -- x-death -------------------------------------------------------------------------------

CYCLE = """
[[topics]]
name = "retry"
[[groups]]
name = "work"
topic = "orders"
dead_letter_topic = "retry"
processing_ms = 5
[[groups]]
name = "parked"
topic = "retry"
dead_letter_topic = "orders"
consumers = 0
[groups.rabbitmq]
message_ttl_ms = 100
[[faults]]
kind = "poison"
group = "work"
msgs = [1]
"""


def test_a_dead_letter_carries_x_death_and_each_cycle_counts_it_up() -> None:
    # work rejects m1 to "retry"; parked holds it 100 ms (TTL) and dead-letters it back to
    # "orders": a retry loop with a delay, the way RabbitMQ users build one.
    sim = Simulation(scenario_from("until_ms = 1000\n" + TOPICS + CYCLE + _messages(1)))
    sim.run()
    dead = [r for r in sim.trace if isinstance(r, DeadLettered)]
    assert [r.group for r in dead[:4]] == ["work", "parked", "work", "parked"]
    h1, h2, h3 = dead[0].headers, dead[1].headers, dead[2].headers
    assert h1 is not None and h2 is not None and h3 is not None
    first = h1.x_death[0]
    assert (first.count, first.reason, first.queue, first.exchange) == (
        1,
        "rejected",
        "work",
        "orders",
    )
    assert first.routing_keys == ["k"]
    assert [(d.queue, d.reason, d.count) for d in h2.x_death] == [
        ("parked", "expired", 1),
        ("work", "rejected", 1),
    ]
    assert h2.x_death[0].exchange == "retry"
    assert [(d.queue, d.reason, d.count) for d in h3.x_death] == [
        ("work", "rejected", 2),
        ("parked", "expired", 1),
    ]
    assert (h3.first_death_reason, h3.first_death_queue, h3.first_death_exchange) == (
        "rejected",
        "work",
        "orders",
    )


def test_dead_letters_elsewhere_carry_no_rabbitmq_headers() -> None:
    body = TOPICS.replace('broker = "rabbitmq"', 'broker = "sqs"') + (
        '[[groups]]\nname = "billing"\ntopic = "orders"\ndead_letter_topic = "orders-dlx"\n'
        "[groups.sqs]\nmax_receive_count = 1\nvisibility_timeout_ms = 100\n"
    )
    body += '[[faults]]\nkind = "poison"\ngroup = "billing"\nmsgs = [1]\n'
    sim = Simulation(scenario_from(body + _messages(1)))
    sim.run()
    dead = [r for r in sim.trace if isinstance(r, DeadLettered)]
    assert dead and all(r.headers is None for r in dead)


# -- the header metrics ------------------------------------------------------------------------


def test_expectations_read_the_delivery_count_and_the_dead_letter_reasons() -> None:
    expect = (
        'expect = ["max_delivery_count[billing] == 2", "dead_lettered_delivery_limit == 1",'
        ' "dead_lettered_rejected[billing] == 0"]\n'
    )
    body = (
        expect
        + TOPICS
        + _queue(
            "quorum",
            "requeue_on_failure = true\ndelivery_limit = 2\n",
            'dead_letter_topic = "orders-dlx"\n',
        )
    )
    summary = summarize(Simulation(scenario_from(body + POISON_M1 + _messages(1))))
    assert [(e.name, e.ok, e.detail) for e in summary.expectations] == [
        ("max_delivery_count[billing] == 2", True, "max_delivery_count[billing] = 2"),
        ("dead_lettered_delivery_limit == 1", True, "dead_lettered_delivery_limit = 1"),
        ("dead_lettered_rejected[billing] == 0", True, "dead_lettered_rejected[billing] = 0"),
    ]


@pytest.mark.parametrize("broker", ["log", "sqs", "sqs-fifo"])
def test_a_header_metric_on_a_model_without_those_headers_is_refused(broker: str) -> None:
    text = f'broker = "{broker}"\nexpect = ["max_delivery_count >= 1"]\n' + TOPICS.replace(
        'broker = "rabbitmq"\n', ""
    )
    with pytest.raises(InputError) as err:
        scenario_from(text)
    assert err.value.where == "$.expect[0]"
    assert 'broker = "rabbitmq"' in err.value.message
