"""The trace header shows RabbitMQ's defaults; Kafka-only settings are refused or marked."""

from __future__ import annotations

import pytest
from conftest import scenario_from

from simulator.errors import InputError
from simulator.models.registry import models
from simulator.simulation import Simulation
from simulator.trace import ScenarioStarted

BODY = """
broker = "rabbitmq"
[[topics]]
name = "orders"
[[producers]]
name = "shop"
topic = "orders"
[[groups]]
name = "billing"
topic = "orders"
retry_topics = [100]
"""


def test_header_shows_rabbitmq_defaults() -> None:
    header = next(
        r for r in Simulation(scenario_from(BODY)).run() if isinstance(r, ScenarioStarted)
    )
    s = header.settings
    assert "RabbitMQ 3.10" in header.follows
    assert s["exchange.orders.type"] == "fanout"
    assert s["publisher.shop.confirms"] == "true"
    assert s["queue.billing.x-queue-type"] == "classic"
    assert s["queue.billing.prefetch"] == "0 (unlimited)"
    assert s["queue.billing.ack"] == "manual, after processing"
    assert s["queue.billing.x-dead-letter-exchange"] == "none"
    assert s["queue.billing.retry_topics"] == "ignored (Kafka-only)"


def test_transactions_are_refused_on_queue_brokers_naming_the_path() -> None:
    for broker in [m.name for m in models() if not m.capabilities.transactions]:
        with pytest.raises(InputError) as err:
            scenario_from(
                BODY.replace('broker = "rabbitmq"', f'broker = "{broker}"').replace(
                    "retry_topics = [100]", 'commit = "transactional"'
                )
            )
        assert err.value.where == "$.groups[0].commit"
        assert "no consume-and-produce transactions" in err.value.message
