"""The Kafka-style log as the registry knows it (``broker = "log"``, the default)."""

from __future__ import annotations

from typing import TYPE_CHECKING

from simulator.models.log.settings import settings_for
from simulator.models.spec import BrokerModel, Capabilities, Knob, ModelSpec

if TYPE_CHECKING:
    from simulator.runtime import Runtime

__all__ = ["FOLLOWS", "KNOBS", "LOG"]

FOLLOWS = "Apache Kafka 3.x (one broker; replication not modelled)"


def build(runtime: Runtime) -> BrokerModel:
    """A ``LogBroker`` for this run (imported here, so reading the registry stays cheap)."""
    from simulator.models.log.broker import LogBroker

    return LogBroker(runtime)


KNOBS = (
    Knob(
        scope="group",
        field="commit",
        values=("auto", "before-process", "after-process", "transactional"),
    ),
    Knob(scope="group", field="commit_every", values=("batch", "message"), label="commit every"),
    Knob(scope="group", field="consumers", values=(1, 2, 3, 4, 6, 8)),
    Knob(
        scope="group",
        field="assignor",
        values=("range", "round-robin", "sticky"),
        label="partition.assignment.strategy",
    ),
    Knob(
        scope="group",
        field="auto_commit_interval_ms",
        values=(100, 1_000, 5_000),
        label="auto.commit.interval.ms",
    ),
    Knob(
        scope="group",
        field="session_timeout_ms",
        values=(1_000, 10_000, 45_000),
        label="session.timeout.ms",
    ),
    Knob(
        scope="group",
        field="max_poll_interval_ms",
        values=(500, 5_000, 300_000),
        label="max.poll.interval.ms",
    ),
    Knob(scope="topic", field="partitions", values=(1, 2, 3, 4, 6, 8, 12)),
    Knob(scope="producer", field="idempotent", values=(True, False), label="enable.idempotence"),
    Knob(scope="producer", field="acks", values=(0, 1, "all")),
    Knob(
        scope="producer",
        field="max_in_flight",
        values=(1, 5, 10),
        label="max.in.flight.requests.per.connection",
    ),
)
"""Kafka's knobs a lesson turns: the commit strategy, the group, partitions, the producer."""

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
    knobs=KNOBS,
)
