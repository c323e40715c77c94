"""Exchanges route by type: fanout to all, direct by exact key, topic by ``*``/``#`` patterns."""

from __future__ import annotations

import pytest
from conftest import scenario_from

from simulator.errors import InputError
from simulator.models.rabbitmq.exchange import Exchange, topic_matches
from simulator.simulation import Simulation
from simulator.trace import Delivered, Routed


@pytest.mark.parametrize(
    ("pattern", "key", "matches"),
    [
        ("order.*", "order.created", True),
        ("order.*", "order.created.eu", False),
        ("order.#", "order", True),
        ("order.#", "order.created.eu", True),
        ("#.eu", "order.created.eu", True),
        ("*.created.*", "order.created.eu", True),
        ("*.created.*", "order.created", False),
        ("#", "anything.at.all", True),
        ("order.created", "order.created", True),
        ("order.created", "order.cancelled", False),
    ],
)
def test_topic_binding_patterns(pattern: str, key: str, matches: bool) -> None:
    assert topic_matches(pattern, key) is matches


def test_fanout_ignores_keys_and_direct_matches_exactly() -> None:
    fanout = Exchange("x", "fanout")
    fanout.bind("a", [])
    fanout.bind("b", ["whatever"])
    assert fanout.route("k") == ["a", "b"]
    direct = Exchange("y", "direct")
    direct.bind("a", ["eu"])
    direct.bind("b", ["us", "eu.*"])
    assert direct.route("eu") == ["a"]
    assert direct.route("eu.west") == []


def test_topic_exchange_routes_each_message_to_matching_queues_only() -> None:
    sim = Simulation(
        scenario_from(
            """
            broker = "rabbitmq"
            [rabbitmq.exchanges]
            orders = "topic"
            [[topics]]
            name = "orders"
            [[producers]]
            name = "shop"
            topic = "orders"
            [[groups]]
            name = "eu-billing"
            topic = "orders"
            [groups.rabbitmq]
            bindings = ["order.eu.*"]
            [[groups]]
            name = "audit"
            topic = "orders"
            [groups.rabbitmq]
            bindings = ["order.#"]
            [[workload.messages]]
            producer = "shop"
            key = "order.eu.created"
            [[workload.messages]]
            producer = "shop"
            key = "order.us.created"
            at_ms = 10
            """
        )
    )
    trace = sim.run()
    routed = [r for r in trace if isinstance(r, Routed)]
    assert [r.queues for r in routed] == [["eu-billing", "audit"], ["audit"]]
    delivered = {(r.group, r.msg) for r in trace if isinstance(r, Delivered)}
    assert delivered == {("eu-billing", 1), ("audit", 1), ("audit", 2)}


def test_direct_exchange_refuses_wildcard_bindings_naming_the_path() -> None:
    with pytest.raises(InputError) as err:
        scenario_from(
            """
            broker = "rabbitmq"
            [rabbitmq.exchanges]
            orders = "direct"
            [[topics]]
            name = "orders"
            [[groups]]
            name = "billing"
            topic = "orders"
            [groups.rabbitmq]
            bindings = ["order.*"]
            """
        )
    assert err.value.where == "$.groups[0].rabbitmq.bindings[0]"


def test_keyed_exchange_needs_bindings() -> None:
    with pytest.raises(InputError) as err:
        scenario_from(
            """
            broker = "rabbitmq"
            [rabbitmq.exchanges]
            orders = "topic"
            [[topics]]
            name = "orders"
            [[groups]]
            name = "billing"
            topic = "orders"
            """
        )
    assert err.value.where == "$.groups[0].rabbitmq.bindings"


def test_a_message_no_binding_matched_is_not_lost_for_that_queue() -> None:
    from simulator.lessons.summary import summarize

    summary = summarize(
        Simulation(
            scenario_from(
                """
                broker = "rabbitmq"
                [rabbitmq.exchanges]
                orders = "direct"
                [[topics]]
                name = "orders"
                [[producers]]
                name = "shop"
                topic = "orders"
                [[groups]]
                name = "eu"
                topic = "orders"
                [groups.rabbitmq]
                bindings = ["eu"]
                [[workload.messages]]
                producer = "shop"
                key = "us"
                """
            )
        )
    )
    assert summary.lost == 0
