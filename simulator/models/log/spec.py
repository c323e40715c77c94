"""The Kafka-style log as the registry knows it (``broker = "log"``, the default)."""

from __future__ import annotations

from typing import TYPE_CHECKING

from simulator.models.log.settings import (
    Log,
    LogGroup,
    clustered,
    log_args,
    machines,
    settings_for,
    validate,
)
from simulator.models.spec import BrokerModel, Capabilities, Knob, ModelSpec, Sections

if TYPE_CHECKING:
    from simulator.runtime import Runtime
    from simulator.scenario import Scenario

__all__ = ["FOLLOWS", "KNOBS", "LOG", "ONE_BROKER_FOLLOWS", "SECTIONS"]

FOLLOWS = (
    "Apache Kafka 3.x (KRaft; one broker, or a cluster with replication: ISR,"
    " high watermark, leader epochs)"
)
ONE_BROKER_FOLLOWS = "Apache Kafka 3.x (one broker; replication not modelled)"
"""The header of a one-broker run: nothing is replicated there, and every lesson written
before clusters existed keeps its trace byte for byte."""


def follows_for(scenario: Scenario) -> str:
    """What a run follows: one broker, or a cluster of N."""
    if not clustered(scenario):
        return ONE_BROKER_FOLLOWS
    brokers = log_args(scenario).brokers
    return (
        f"Apache Kafka 3.x (KRaft cluster of {brokers} brokers: replication with ISR,"
        " high watermark and leader epochs)"
    )


def build(runtime: Runtime) -> BrokerModel:
    """The broker model for this run (imported here, so reading the registry stays cheap).

    One broker: ``LogBroker``. A cluster: ``ReplicatedLogBroker``, the same broker
    with replicas, leaders and a controller — the one-broker path never pays for them.
    """
    if clustered(runtime.scenario):
        from simulator.models.log.cluster import ReplicatedLogBroker

        return ReplicatedLogBroker(runtime)
    from simulator.models.log.broker import LogBroker

    return LogBroker(runtime)


SECTIONS = Sections(name="log", broker=Log, group=LogGroup, validate=validate, machines=machines)


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
    # Measured 193 with one group, 8 partitions and the trace on disk; a replicated
    # topic keeps a copy of each record per replica (32 bytes each).
    bytes_per_message=300,
    follows=FOLLOWS,
    follows_for=follows_for,
    build=build,
    settings_for=settings_for,
    capabilities=Capabilities(
        transactions=True,
        processors=True,
        partitions=True,
        key_order="per-partition",
        idempotent_producer=True,
    ),
    sections=SECTIONS,
    template="log.toml",
    view="tui.views.log",
    knobs=KNOBS,
)
