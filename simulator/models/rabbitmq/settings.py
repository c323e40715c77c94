"""The RabbitMQ model's scenario sections, their checks and the settings it reports.

``[rabbitmq]`` holds the broker-wide settings (publisher confirms, exchange
types, per-message TTLs) and ``[groups.rabbitmq]`` the arguments of each group's
queue (``x-queue-type``, prefetch, TTL, length limit, binding keys). A file
may hold them under any ``broker`` (one lesson runs on every model); this
model reads them through ``broker_args`` and ``queue_args``. ``settings_for``
lists every setting in force, defaults included, for the trace header.
"""

from __future__ import annotations

import re
from typing import Annotated, Literal

import msgspec

from simulator.errors import InputError
from simulator.scenario.schema import Group, NonNegative, Positive, Scenario, Table
from simulator.scenario.validation import ref

__all__ = [
    "RabbitMQ",
    "RabbitQueue",
    "broker_args",
    "queue_args",
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


class RabbitMQ(Table, frozen=True):
    """``[rabbitmq]``: broker-wide RabbitMQ settings (topics are exchanges here)."""

    publisher_confirms: bool = True
    """Producers wait for ``basic.ack`` from the broker and republish on a timeout."""
    exchanges: dict[str, Literal["fanout", "direct", "topic"]] = msgspec.field(default_factory=dict)
    """Exchange type per topic name (default ``fanout``)."""
    message_expiration_ms: dict[str, Positive] = msgspec.field(default_factory=dict)
    """Per-message TTL (the ``expiration`` property) of everything a producer publishes."""


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
    for i, g in enumerate(s.groups):
        _validate_queue(file, f"$.groups[{i}].rabbitmq", queue_args(g), args, g.topic)


def _validate_queue(file: str, at: str, q: RabbitQueue, args: RabbitMQ, topic: str) -> None:
    if q.delivery_limit is not None and q.queue_type != "quorum":
        raise InputError(file, f"{at}.delivery_limit", 'delivery_limit needs queue_type = "quorum"')
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
    return out
