"""The Kafka-style log as the registry knows it (``broker = "log"``, the default)."""

from __future__ import annotations

from typing import TYPE_CHECKING

from simulator.models.log.settings import settings_for
from simulator.models.spec import BrokerModel, Capabilities, ModelSpec

if TYPE_CHECKING:
    from simulator.runtime import Runtime

__all__ = ["FOLLOWS", "LOG"]

FOLLOWS = "Apache Kafka 3.x (one broker; replication not modelled)"


def build(runtime: Runtime) -> BrokerModel:
    """A ``LogBroker`` for this run (imported here, so reading the registry stays cheap)."""
    from simulator.models.log.broker import LogBroker

    return LogBroker(runtime)


LOG = ModelSpec(
    name="log",
    follows=FOLLOWS,
    build=build,
    settings_for=settings_for,
    capabilities=Capabilities(
        transactions=True,
        processors=True,
        partitions=True,
        key_order="per-partition",
        idempotent_producer=True,
    ),
    template="log.toml",
    view="tui.views.log",
)
