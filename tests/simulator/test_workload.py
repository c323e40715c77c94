"""The workload's messages: ids, key sequences and values, whichever way they were built."""

from __future__ import annotations

from conftest import scenario_from

from simulator.messages import DetailedMessage, GeneratedMessage
from simulator.rng import SeedSequence
from simulator.workload import expand_workload

TOPIC = """
[[topics]]
name = "orders"
partitions = 1
[[producers]]
name = "checkout"
topic = "orders"
"""

ONE_GENERATOR = """
[[workload.generators]]
producer = "checkout"
count = 600
keys = 2
key_choice = "round-robin"
value_prefix = "order-"
"""

EXPLICIT_FIRST = """
[[workload.messages]]
producer = "checkout"
at_ms = 0
key = "k0"
value = "hello"
"""


def test_a_lone_generators_messages_read_as_its_prefix_and_their_number() -> None:
    messages = expand_workload(scenario_from(TOPIC + ONE_GENERATOR), SeedSequence(1))
    assert all(isinstance(m, GeneratedMessage) for m in messages)
    assert [m.value for m in messages[:3]] == ["order-0", "order-1", "order-2"]
    assert messages[-1].id == 600 and messages[-1].value == "order-599"


def test_mixed_workloads_give_the_same_values_stored() -> None:
    scenario = scenario_from(TOPIC + EXPLICIT_FIRST + ONE_GENERATOR)
    messages = expand_workload(scenario, SeedSequence(1))
    assert not any(isinstance(m, GeneratedMessage) for m in messages)
    assert messages[0].value == "hello" and messages[1].value == "order-0"
    assert messages[-1].value == "order-599"


def test_every_message_with_one_key_sequence_shares_one_number() -> None:
    messages = expand_workload(scenario_from(TOPIC + ONE_GENERATOR), SeedSequence(1))
    first, second = messages[0].key, messages[1].key
    assert first != second
    assert [m.key_seq for m in messages if m.key == first] == list(range(1, 301))
    one = {m.key_seq: m for m in messages if m.key == first}
    other = {m.key_seq: m for m in messages if m.key == second}
    assert all(one[n].key_seq is other[n].key_seq for n in range(1, 301))


LATE = """
[[workload.generators]]
producer = "checkout"
count = 20
event_time_skew_ms = 50
"""


def test_messages_with_details_keep_them_and_plain_ones_are_small() -> None:
    explicit = EXPLICIT_FIRST.replace('value = "hello"', "event_time_ms = 0\ntombstone = true")
    messages = expand_workload(scenario_from(TOPIC + explicit + ONE_GENERATOR), SeedSequence(1))
    assert isinstance(messages[0], DetailedMessage) and messages[0].tombstone
    assert not any(isinstance(m, DetailedMessage) for m in messages[1:])
    late = expand_workload(scenario_from(TOPIC + LATE), SeedSequence(1))
    assert all(isinstance(m, DetailedMessage) for m in late)
    assert all(m.event_time is not None and m.value == f"v{m.id - 1}" for m in late)
