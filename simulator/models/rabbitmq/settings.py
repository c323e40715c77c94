"""The RabbitMQ model's scenario sections, their checks and the settings it reports.

``[rabbitmq]`` holds the broker-wide settings (publisher confirms, exchange
types, per-message TTLs, delivery modes, the disk, the memory alarm) and
``[rabbitmq.cluster]`` the nodes of a cluster, when the lesson has one;
``[groups.rabbitmq]`` holds the arguments of each group's queue
(``x-queue-type``, durability, prefetch, TTL, length limit, binding keys, its
node). A file may hold them under any ``broker`` (one lesson runs on every
model); this model reads them through ``broker_args``, ``cluster_args`` and
``queue_args``. ``settings_for`` lists every setting in force, defaults
included, for the trace header — the durability and cluster settings only when
the lesson asks for any of them, so a lesson about prefetch keeps the header
it always had.
"""

from __future__ import annotations

import re
from typing import Annotated, Literal

import msgspec

from simulator.errors import InputError
from simulator.scenario.schema import Group, NonNegative, Positive, Scenario, Table
from simulator.scenario.validation import ref

__all__ = [
    "RabbitCluster",
    "RabbitMQ",
    "RabbitQueue",
    "broker_args",
    "cluster_args",
    "components",
    "connection_nodes",
    "delivery_mode",
    "durability_asked",
    "queue_args",
    "queue_members",
    "queue_node",
    "settings_for",
    "validate",
]


class RabbitQueue(Table, frozen=True):
    """Queue arguments and consumer options of a group under ``broker = "rabbitmq"``.

    ``[groups.rabbitmq]``; the group's name is the queue's name. Defaults are
    RabbitMQ 3.x's: a classic queue, no prefetch limit, no TTL, no length limit.
    """

    queue_type: Literal["classic", "quorum"] = "classic"
    """``x-queue-type``."""
    prefetch: NonNegative = 0
    """``basic.qos`` prefetch count per consumer: unacked deliveries it may hold (0 = unlimited)."""
    ack_multiple: Annotated[int, msgspec.Meta(ge=1, le=10_000)] = 1
    """Ack with ``multiple=true`` once per this many deliveries (1: ack each one)."""
    requeue_on_failure: bool = False
    """After the retry policy gives up: ``basic.nack(requeue=true)`` instead of a reject."""
    delivery_limit: Positive | None = None
    """``x-delivery-limit`` (quorum queues only): returns allowed before dead-lettering."""
    message_ttl_ms: Positive | None = None
    """``x-message-ttl``: a message older than this expires (dead-lettered if a DLX is set)."""
    max_length: Positive | None = None
    """``x-max-length``: ready messages the queue holds at most."""
    overflow: Literal["drop-head", "reject-publish", "reject-publish-dlx"] = "drop-head"
    """``x-overflow``: what a full queue does with one more message (``reject-publish-dlx``
    refuses it and dead-letters it too; classic queues only)."""
    bindings: list[str] = msgspec.field(default_factory=list)
    """Binding keys to the group's exchange (direct: exact keys; topic: ``*``/``#`` patterns)."""
    durable: bool = True
    """``durable`` at declaration: a non-durable queue is deleted, with every message in it,
    when its node restarts (quorum queues are always durable)."""
    node: str | None = None
    """In a cluster: the node that hosts this classic queue, or a quorum queue's first leader
    (default: the node its first consumer is connected to, as ``client-local`` places it)."""


class RabbitCluster(Table, frozen=True):
    """``[rabbitmq.cluster]``: the nodes of a RabbitMQ cluster and how clients reach them.

    Without this table the broker is one node called ``broker``. With it, each
    node is a component a fault may crash (``target = "rabbit-2"``) or cut off
    (``kind = "partition"``, ``between = ["rabbit-1", "rabbit-3"]``).
    """

    nodes: Annotated[list[str], msgspec.Meta(min_length=1, max_length=9)]
    """The nodes' names, in order (quorum queue members are taken from here in turn)."""
    quorum_initial_group_size: Annotated[int, msgspec.Meta(ge=1, le=9)] = 3
    """``x-quorum-initial-group-size`` (``rabbit.quorum_cluster_size``, 3): members of each
    quorum queue, at most one per node (capped at the number of nodes, as RabbitMQ does)."""
    connections: dict[str, str] = msgspec.field(default_factory=dict)
    """Client (producer or consumer) → the node it connects to (default: the nodes in turn,
    producers first, as a load balancer would spread them)."""
    election_timeout_ms: Positive = 500
    """How long a follower waits, once it knows its leader is gone, before it asks for votes;
    each follower draws its own wait between this and twice this (Ra's short, randomised
    election timeout)."""
    failure_detection_ms: Positive = 5_000
    """How long it takes to suspect a node that went silent behind a network partition
    (RabbitMQ's Aten detector takes a few seconds; a crashed node is noticed at once,
    because its connections close)."""
    reconnect_ms: NonNegative = 5_000
    """How long a client whose node went down waits before connecting to another one
    (the Java client's automatic recovery interval, 5 s)."""


class RabbitMQ(Table, frozen=True):
    """``[rabbitmq]``: broker-wide RabbitMQ settings (topics are exchanges here)."""

    publisher_confirms: bool = True
    """Producers wait for ``basic.ack`` from the broker and republish on a timeout."""
    exchanges: dict[str, Literal["fanout", "direct", "topic"]] = msgspec.field(default_factory=dict)
    """Exchange type per topic name (default ``fanout``)."""
    message_expiration_ms: dict[str, Positive] = msgspec.field(default_factory=dict)
    """Per-message TTL (the ``expiration`` property) of everything a producer publishes."""
    delivery_mode: dict[str, Literal[1, 2]] = msgspec.field(default_factory=dict)
    """Per producer: ``delivery_mode`` 2 (persistent, the default here) or 1 (transient: kept
    in memory only, gone when its node restarts). A bare AMQP publish is transient."""
    disk_write_ms: Annotated[int, msgspec.Meta(ge=0, le=60_000)] = 0
    """How long writing a persistent message to disk takes (the write and its ``fsync``): the
    confirm of a persistent message on a durable queue waits for it, and so does each quorum
    queue member's write. 0: at once."""
    memory_high_watermark_messages: Positive | None = None
    """The memory alarm (``vm_memory_high_watermark``, counted here in messages held): at this
    many messages in the broker's queues each connection that publishes is blocked
    (``connection.blocked``) until the count falls below it again. None: never reached."""
    cluster: RabbitCluster | None = None
    """``[rabbitmq.cluster]``: several nodes, quorum queues as Raft groups (None: one node)."""


_DEFAULT_QUEUE = RabbitQueue()
_DEFAULT_BROKER = RabbitMQ()


def queue_args(group: Group) -> RabbitQueue:
    """The group's ``[groups.rabbitmq]`` (its defaults if the file has none)."""
    args = getattr(group, "rabbitmq", None)
    return args if isinstance(args, RabbitQueue) else _DEFAULT_QUEUE


def broker_args(s: Scenario) -> RabbitMQ:
    """The scenario's ``[rabbitmq]`` (its defaults if the file has none)."""
    args = getattr(s, "rabbitmq", None)
    return args if isinstance(args, RabbitMQ) else _DEFAULT_BROKER


def cluster_args(s: Scenario) -> RabbitCluster | None:
    """The scenario's ``[rabbitmq.cluster]``, or None for a single node."""
    return broker_args(s).cluster


def delivery_mode(s: Scenario, producer: str) -> int:
    """The ``delivery_mode`` a producer publishes with: 2 (persistent) unless the file says 1."""
    return broker_args(s).delivery_mode.get(producer, 2)


def components(s: Scenario) -> list[str]:
    """The cluster's nodes: components a fault may crash or cut off (none on one node)."""
    cluster = cluster_args(s)
    return list(cluster.nodes) if cluster is not None else []


def connection_nodes(s: Scenario) -> dict[str, str]:
    """Client → the node it is connected to: the file's choice, else the nodes in turn."""
    cluster = cluster_args(s)
    if cluster is None:
        return {}
    clients = [p.name for p in s.producers] + [c for g in s.groups for c in g.consumer_names()]
    nodes = cluster.nodes
    return {c: cluster.connections.get(c, nodes[i % len(nodes)]) for i, c in enumerate(clients)}


def queue_node(s: Scenario, group: Group) -> str:
    """The node of a group's queue: the file's choice, else its first consumer's node."""
    cluster = cluster_args(s)
    if cluster is None:
        return "broker"
    chosen = queue_args(group).node
    if chosen is not None:
        return chosen
    consumers = group.consumer_names()
    if consumers:
        return connection_nodes(s)[consumers[0]]
    return cluster.nodes[0]


def queue_members(s: Scenario, group: Group) -> list[str]:
    """A queue's replicas: its node, then the next nodes in turn (a quorum queue's group).

    A classic queue has one, its node. A quorum queue has
    ``quorum_initial_group_size`` members, capped at the number of nodes.
    """
    cluster = cluster_args(s)
    first = queue_node(s, group)
    if cluster is None or queue_args(group).queue_type != "quorum":
        return [first]
    nodes = cluster.nodes
    size = min(cluster.quorum_initial_group_size, len(nodes))
    start = nodes.index(first)
    return [nodes[(start + i) % len(nodes)] for i in range(size)]


def durability_asked(s: Scenario) -> bool:
    """Whether the lesson sets anything about durability, the disk, memory or a cluster.

    Only then does the trace header list those settings: a lesson that never asks
    keeps the header (and the digest) it had before they existed.
    """
    args = broker_args(s)
    if args.cluster is not None or args.delivery_mode or args.disk_write_ms:
        return True
    if args.memory_high_watermark_messages is not None:
        return True
    return any(not queue_args(g).durable or queue_args(g).node is not None for g in s.groups)


# -- checks ----------------------------------------------------------------------------------

_BINDING_RE = re.compile(r"^(?:[^.]+)(?:\.[^.]+)*$")


def validate(s: Scenario, file: str) -> None:
    """Exchanges and TTLs name real topics and producers; queues bind as their exchange routes."""
    args = broker_args(s)
    topics = [t.name for t in s.topics]
    producers = [p.name for p in s.producers]
    for name in args.exchanges:
        ref(file, f"$.rabbitmq.exchanges.{name}", name, topics, "topic")
    for name in args.message_expiration_ms:
        ref(file, f"$.rabbitmq.message_expiration_ms.{name}", name, producers, "producer")
    for name in args.delivery_mode:
        ref(file, f"$.rabbitmq.delivery_mode.{name}", name, producers, "producer")
    for i, g in enumerate(s.groups):
        _validate_queue(file, f"$.groups[{i}].rabbitmq", queue_args(g), args, g.topic)
    _validate_cluster(s, file, args)


def _validate_cluster(s: Scenario, file: str, args: RabbitMQ) -> None:
    """Node names are new and unique, clients connect to nodes, queues live on them."""
    cluster = args.cluster
    if cluster is None:
        for i, g in enumerate(s.groups):
            if queue_args(g).node is not None:
                raise InputError(
                    file, f"$.groups[{i}].rabbitmq.node", "a queue's node needs [rabbitmq.cluster]"
                )
        return
    at = "$.rabbitmq.cluster"
    nodes = cluster.nodes
    taken = {p.name for p in s.producers} | {t.name for t in s.topics}
    for g in s.groups:
        taken |= {g.name, *g.consumer_names()}
    for j, node in enumerate(nodes):
        if node in nodes[:j]:
            raise InputError(file, f"{at}.nodes[{j}]", f"node {node!r} is listed twice")
        if node in taken or node == "broker":
            raise InputError(
                file, f"{at}.nodes[{j}]", f"node {node!r} has the name of another component"
            )
    clients = [p.name for p in s.producers] + [c for g in s.groups for c in g.consumer_names()]
    for client, node in cluster.connections.items():
        ref(file, f"{at}.connections.{client}", client, clients, "producer or consumer")
        ref(file, f"{at}.connections.{client}", node, list(nodes), "node")
    for i, g in enumerate(s.groups):
        home = queue_args(g).node
        if home is not None:
            ref(file, f"$.groups[{i}].rabbitmq.node", home, list(nodes), "node")
    for i, f in enumerate(s.faults if s.broker == "rabbitmq" else []):
        named = [getattr(f, "target", None), *getattr(f, "between", [])]
        named += [getattr(f, "source", None), getattr(f, "destination", None)]
        if "broker" in named:
            raise InputError(
                file,
                f"$.faults[{i}]",
                f"in a cluster there is no single broker: name a node ({', '.join(nodes)})",
            )


def _validate_queue(file: str, at: str, q: RabbitQueue, args: RabbitMQ, topic: str) -> None:
    if q.delivery_limit is not None and q.queue_type != "quorum":
        raise InputError(file, f"{at}.delivery_limit", 'delivery_limit needs queue_type = "quorum"')
    if not q.durable and q.queue_type == "quorum":
        raise InputError(file, f"{at}.durable", "quorum queues are always durable")
    if q.overflow == "reject-publish-dlx" and q.queue_type == "quorum":
        raise InputError(
            file,
            f"{at}.overflow",
            'quorum queues have no reject-publish-dlx (use "reject-publish" or "drop-head")',
        )
    exchange = args.exchanges.get(topic, "fanout")
    if exchange != "fanout" and not q.bindings:
        raise InputError(
            file,
            f"{at}.bindings",
            f"the {exchange} exchange {topic!r} routes by key: give this queue binding keys",
        )
    for j, key in enumerate(q.bindings):
        if not _BINDING_RE.match(key):
            raise InputError(
                file, f"{at}.bindings[{j}]", f"bad binding key {key!r} (words joined by '.')"
            )
        if exchange == "direct" and ("*" in key.split(".") or "#" in key.split(".")):
            raise InputError(
                file,
                f"{at}.bindings[{j}]",
                "wildcards * and # work on topic exchanges only; this exchange is direct",
            )


# -- the trace header ------------------------------------------------------------------------


def settings_for(s: Scenario) -> dict[str, str]:
    """Every setting that shapes behaviour, defaults included, for the trace header."""
    args = broker_args(s)
    out: dict[str, str] = {"network.latency_ms": str(s.network.latency_ms)}
    confirms = args.publisher_confirms
    for t in s.topics:
        out[f"exchange.{t.name}.type"] = args.exchanges.get(t.name, "fanout")
    for p in s.producers:
        prefix = f"publisher.{p.name}"
        out[f"{prefix}.exchange"] = p.topic
        out[f"{prefix}.confirms"] = str(confirms and p.acks != 0).lower()
        out[f"{prefix}.confirm_timeout_ms"] = str(p.request_timeout_ms)
        out[f"{prefix}.republish_backoff_ms"] = str(p.retry_backoff_ms)
        out[f"{prefix}.routing_key"] = "the message key"
        if p.name in args.message_expiration_ms:
            out[f"{prefix}.expiration_ms"] = str(args.message_expiration_ms[p.name])
    for g in s.groups:
        q = queue_args(g)
        prefix = f"queue.{g.name}"
        out[f"{prefix}.bound_to"] = g.topic
        if q.bindings:
            out[f"{prefix}.binding_keys"] = ",".join(q.bindings)
        out[f"{prefix}.x-queue-type"] = q.queue_type
        out[f"{prefix}.consumers"] = str(len(g.consumer_names()))
        auto_ack = g.commit == "before-process"
        out[f"{prefix}.ack"] = "auto (no_ack=true)" if auto_ack else "manual, after processing"
        out[f"{prefix}.prefetch"] = (
            "n/a (auto-ack)"
            if auto_ack
            else (f"{q.prefetch}" + (" (unlimited)" if q.prefetch == 0 else ""))
        )
        if not auto_ack:
            out[f"{prefix}.ack_multiple"] = str(q.ack_multiple)
        out[f"{prefix}.on_failure"] = (
            "nack requeue=true" if q.requeue_on_failure else ("reject requeue=false")
        )
        out[f"{prefix}.x-dead-letter-exchange"] = g.dead_letter_topic or "none"
        out[f"{prefix}.x-message-ttl"] = str(q.message_ttl_ms) if q.message_ttl_ms else "none"
        out[f"{prefix}.x-max-length"] = str(q.max_length) if q.max_length else "none"
        if q.max_length:
            out[f"{prefix}.x-overflow"] = q.overflow
        if q.queue_type == "quorum":
            limit = q.delivery_limit
            out[f"{prefix}.x-delivery-limit"] = str(limit) if limit else "none (3.x default)"
        out[f"{prefix}.processing_ms"] = str(g.processing_ms)
        if g.retry.policy != "none":
            out[f"{prefix}.retry"] = f"{g.retry.policy} x{g.retry.attempts} (in place)"
        if g.retry_topics:
            out[f"{prefix}.retry_topics"] = "ignored (Kafka-only)"
    if durability_asked(s):
        out.update(_durability_settings(s, args))
    return out


def _durability_settings(s: Scenario, args: RabbitMQ) -> dict[str, str]:
    """Delivery modes, durable queues, the disk, the memory alarm and the cluster."""
    out: dict[str, str] = {}
    for p in s.producers:
        mode = delivery_mode(s, p.name)
        out[f"publisher.{p.name}.delivery_mode"] = (
            "2 (persistent)" if mode == 2 else "1 (transient)"
        )
    for g in s.groups:
        q = queue_args(g)
        out[f"queue.{g.name}.durable"] = str(q.durable or q.queue_type == "quorum").lower()
    out["disk.write_ms"] = str(args.disk_write_ms)
    watermark = args.memory_high_watermark_messages
    out["memory.high_watermark"] = f"{watermark} messages" if watermark else "never reached"
    cluster = args.cluster
    if cluster is None:
        out["cluster.nodes"] = "broker (one node)"
        return out
    out["cluster.nodes"] = ",".join(cluster.nodes)
    out["cluster.quorum_initial_group_size"] = str(cluster.quorum_initial_group_size)
    out["cluster.election_timeout_ms"] = (
        f"{cluster.election_timeout_ms}–{2 * cluster.election_timeout_ms} (randomised)"
    )
    out["cluster.failure_detection_ms"] = str(cluster.failure_detection_ms)
    out["cluster.reconnect_ms"] = str(cluster.reconnect_ms)
    for client, node in connection_nodes(s).items():
        out[f"connection.{client}"] = node
    for g in s.groups:
        members = queue_members(s, g)
        if queue_args(g).queue_type == "quorum":
            out[f"queue.{g.name}.members"] = ",".join(members) + f" (leader {members[0]})"
        else:
            out[f"queue.{g.name}.node"] = members[0]
    return out
