"""The RabbitMQ-style broker as the registry knows it (``broker = "rabbitmq"``)."""

from __future__ import annotations

from typing import TYPE_CHECKING

from simulator.models.rabbitmq.settings import (
    RabbitMQ,
    RabbitQueue,
    cluster_args,
    components,
    settings_for,
    validate,
)
from simulator.models.spec import BrokerModel, Capabilities, Knob, ModelSpec, Sections

if TYPE_CHECKING:
    from simulator.runtime import Runtime
    from simulator.scenario import Scenario

__all__ = ["CLUSTER_FOLLOWS", "FOLLOWS", "RABBITMQ", "SECTIONS"]

FOLLOWS = "RabbitMQ 3.10–3.13 (classic and quorum queues; one node, clustering not modelled)"
"""What a one-node lesson follows (the words every existing trace header carries)."""
CLUSTER_FOLLOWS = (
    "RabbitMQ 3.10–3.13 (classic and quorum queues; a cluster of {n} nodes,"
    " quorum queues as Raft groups)"
)


def follows_for(s: Scenario) -> str:
    """One node, or a cluster of so many nodes."""
    cluster = cluster_args(s)
    return FOLLOWS if cluster is None else CLUSTER_FOLLOWS.format(n=len(cluster.nodes))


SECTIONS = Sections(name="rabbitmq", broker=RabbitMQ, group=RabbitQueue, validate=validate)
"""``[rabbitmq]`` and ``[groups.rabbitmq]``."""


def build(runtime: Runtime) -> BrokerModel:
    """A ``RabbitBroker`` for this run (imported here, so reading the registry stays cheap)."""
    from simulator.models.rabbitmq.broker import RabbitBroker

    return RabbitBroker(runtime)


KNOBS = (
    Knob(
        scope="group",
        field="commit",
        values=("before-process", "after-process"),
        label="ack (before-process: auto-ack)",
    ),
    Knob(scope="group", field="consumers", values=(1, 2, 3, 4, 6, 8)),
    Knob(scope="group", section="rabbitmq", field="prefetch", values=(0, 1, 2, 5, 10, 50)),
    Knob(scope="group", section="rabbitmq", field="ack_multiple", values=(1, 5, 10)),
    Knob(scope="group", section="rabbitmq", field="requeue_on_failure", values=(False, True)),
    Knob(scope="group", section="rabbitmq", field="queue_type", values=("classic", "quorum")),
    Knob(
        scope="group",
        section="rabbitmq",
        field="message_ttl_ms",
        values=(None, 100, 1_000, 10_000),
        label="x-message-ttl",
    ),
    Knob(
        scope="group",
        section="rabbitmq",
        field="max_length",
        values=(None, 1, 5, 20),
        label="x-max-length",
    ),
    Knob(
        scope="group",
        section="rabbitmq",
        field="overflow",
        values=("drop-head", "reject-publish"),
        label="x-overflow",
    ),
    Knob(scope="scenario", section="rabbitmq", field="publisher_confirms", values=(True, False)),
    Knob(scope="group", section="rabbitmq", field="durable", values=(True, False)),
    Knob(
        scope="scenario",
        section="rabbitmq",
        field="memory_high_watermark_messages",
        values=(None, 10, 50, 200),
        label="vm_memory_high_watermark (messages)",
    ),
    Knob(
        scope="scenario",
        section="rabbitmq",
        field="disk_write_ms",
        values=(0, 1, 5, 20),
        label="disk write + fsync (ms)",
    ),
)
"""RabbitMQ's knobs: acks and prefetch, requeue or dead-letter, queue type, TTL, length,
durability, the memory alarm and the disk."""

RABBITMQ = ModelSpec(
    name="rabbitmq",
    bytes_per_message=300,  # measured 176 for a classic queue with the trace on disk
    follows=FOLLOWS,
    build=build,
    settings_for=settings_for,
    capabilities=Capabilities(dead_letter_headers=True),
    sections=SECTIONS,
    template="rabbitmq.toml",
    no_exactly_once="RabbitMQ has no transaction spanning a consumer's ack and its side effects:"
    " use at-least-once with an idempotent consumer",
    view="tui.views.rabbitmq",
    knobs=KNOBS,
    components=components,
    follows_for=follows_for,
)
