"""The RabbitMQ-style broker as the registry knows it (``broker = "rabbitmq"``)."""

from __future__ import annotations

from typing import TYPE_CHECKING

from simulator.models.rabbitmq.settings import RabbitMQ, RabbitQueue, settings_for, validate
from simulator.models.spec import BrokerModel, Capabilities, ModelSpec, Sections

if TYPE_CHECKING:
    from simulator.runtime import Runtime

__all__ = ["FOLLOWS", "RABBITMQ", "SECTIONS"]

FOLLOWS = "RabbitMQ 3.10–3.13 (classic and quorum queues; one node, clustering not modelled)"

SECTIONS = Sections(name="rabbitmq", broker=RabbitMQ, group=RabbitQueue, validate=validate)
"""``[rabbitmq]`` and ``[groups.rabbitmq]``."""


def build(runtime: Runtime) -> BrokerModel:
    """A ``RabbitBroker`` for this run (imported here, so reading the registry stays cheap)."""
    from simulator.models.rabbitmq.broker import RabbitBroker

    return RabbitBroker(runtime)


RABBITMQ = ModelSpec(
    name="rabbitmq",
    follows=FOLLOWS,
    build=build,
    settings_for=settings_for,
    capabilities=Capabilities(dead_letter_headers=True),
    sections=SECTIONS,
    template="rabbitmq.toml",
    no_exactly_once="RabbitMQ has no transaction spanning a consumer's ack and its side effects:"
    " use at-least-once with an idempotent consumer",
    view="tui.views.rabbitmq",
)
