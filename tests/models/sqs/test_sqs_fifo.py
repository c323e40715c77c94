"""FIFO queues: strict order per message group, one in-flight batch per group, dedup, delay."""

from __future__ import annotations

import pytest
from conftest import scenario_from

from simulator.errors import InputError
from simulator.lessons.summary import summarize
from simulator.simulation import Simulation
from simulator.trace import DedupDropped, Delivered, MessageDeleted, ProduceRetried

HEAD = """
broker = "{broker}"
[[topics]]
name = "orders"
[[producers]]
name = "shop"
topic = "orders"
"""


def _sim(body: str, broker: str = "sqs-fifo") -> Simulation:
    return Simulation(scenario_from(HEAD.format(broker=broker) + body))


def test_order_holds_per_group_with_competing_consumers() -> None:
    sim = _sim("""
[[groups]]
name = "billing"
topic = "orders"
consumers = 4
processing_ms = 7
[groups.sqs]
batch_size = 3
[[workload.generators]]
producer = "shop"
count = 120
keys = 5
rate_per_s = 2000
key_choice = "random"
""")
    summary = summarize(sim)
    assert summary.out_of_order == 0 and summary.duplicates == 0 and summary.lost == 0
    consumers_of_key: dict[str, set[str]] = {}
    for r in sim.trace:
        if isinstance(r, Delivered) and r.key is not None:
            consumers_of_key.setdefault(r.key, set()).add(r.consumer)
    assert any(len(c) > 1 for c in consumers_of_key.values())  # groups move between consumers


def test_one_in_flight_batch_per_message_group() -> None:
    sim = _sim("""
[[groups]]
name = "billing"
topic = "orders"
consumers = 3
processing_ms = 20
[[workload.generators]]
producer = "shop"
count = 30
keys = 2
rate_per_s = 10000
""")
    in_flight: dict[str, int] = {}
    for r in sim.run():
        if isinstance(r, Delivered) and r.key is not None:
            in_flight[r.key] = in_flight.get(r.key, 0) + 1
            assert in_flight[r.key] == 1, f"two messages of {r.key} in flight at {r.at}"
        elif isinstance(r, MessageDeleted):
            key = f"key-{(r.msg - 1) % 2}"
            in_flight[key] -= 1


def test_a_resent_message_is_deduplicated_in_fifo_but_duplicated_in_standard() -> None:
    body = """
[sqs]
duplicate_probability = 0.0
reorder_probability = 0.0
[[groups]]
name = "billing"
topic = "orders"
[[faults]]
kind = "network"
source = "broker"
destination = "shop"
drop_probability = 1.0
to_ms = 1000
msgs = [1]
[[workload.messages]]
producer = "shop"
key = "a"
"""
    fifo = _sim(body)
    fifo_summary = summarize(fifo)
    assert any(isinstance(r, ProduceRetried) for r in fifo.trace)
    dropped = [r for r in fifo.trace if isinstance(r, DedupDropped)]
    assert [(r.msg, r.first_msg) for r in dropped] == [(1, 1)]
    assert fifo_summary.duplicates == 0 and fifo_summary.acked == 1
    assert summarize(_sim(body, broker="sqs")).duplicates == 1


def _same_body_at(second_ms: int) -> str:
    return f"""
[[groups]]
name = "billing"
topic = "orders"
[groups.sqs]
content_based_dedup = true
[[workload.messages]]
producer = "shop"
key = "a"
value = "order 42: 2 books"
[[workload.messages]]
producer = "shop"
key = "a"
value = "order 42: 2 books"
at_ms = {second_ms}
"""


@pytest.mark.parametrize(("second_ms", "dropped"), [(299_999, True), (300_000, False)])
def test_content_based_dedup_window_is_five_minutes(second_ms: int, dropped: bool) -> None:
    sim = _sim(_same_body_at(second_ms))
    summary = summarize(sim)
    drops = [r for r in sim.trace if isinstance(r, DedupDropped)]
    assert bool(drops) is dropped
    # Accepted but not delivered: by its deduplication id the second order is the same
    # logical message as the first, so the checker books it deduplicated, not lost.
    assert summary.processed == (1 if dropped else 2)
    assert summary.lost == 0
    assert summary.deduplicated == (1 if dropped else 0)


def test_delay_seconds_hides_new_messages() -> None:
    sim = _sim("""
[[groups]]
name = "billing"
topic = "orders"
[groups.sqs]
delay_seconds = 2
[[workload.messages]]
producer = "shop"
key = "a"
""")
    delivered = next(r for r in sim.run() if isinstance(r, Delivered))
    assert delivered.at == 2_002


def test_delay_over_900_seconds_is_refused_naming_the_path() -> None:
    with pytest.raises(InputError) as err:
        scenario_from(
            HEAD.format(broker="sqs-fifo")
            + """
[[groups]]
name = "billing"
topic = "orders"
[groups.sqs]
delay_seconds = 901
"""
        )
    assert err.value.where == "$.groups[0].sqs.delay_seconds"


def test_a_dlq_breaks_the_order_of_a_group_once_redriven() -> None:
    sim = _sim("""
[[topics]]
name = "orders-dlq"
[[groups]]
name = "billing"
topic = "orders"
dead_letter_topic = "orders-dlq"
[groups.sqs]
visibility_timeout_ms = 100
max_receive_count = 2
redrive_back_at_ms = 5000
[[faults]]
kind = "handler-error"
group = "billing"
probability = 1.0
to_ms = 150
[[workload.messages]]
producer = "shop"
key = "a"
[[workload.messages]]
producer = "shop"
key = "a"
at_ms = 1
""")
    summary = summarize(sim)
    assert summary.lost == 0
    assert summary.out_of_order == 1  # m1 came back from the DLQ after m2
