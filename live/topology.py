"""A lesson's topology as real broker objects: exchanges, queues and their bindings.

The scenario maps onto RabbitMQ as the model reads it
(``simulator.models.rabbitmq``): a *topic* is an exchange (``fanout`` unless
``[rabbitmq.exchanges]`` says ``direct`` or ``topic``); a *group* is a queue of
the same name, bound to its topic's exchange with the group's binding keys,
declared with the arguments its ``[groups.rabbitmq]`` table gives
(``x-queue-type``, ``x-message-ttl``, ``x-max-length`` with ``x-overflow``,
``x-delivery-limit``) and, with a ``dead_letter_topic``, that exchange as its
``x-dead-letter-exchange``. Queues are durable and messages persistent, as in
the model.

Every run declares its objects under a prefix of its own
(``evsim-live-3f9c…-orders``) and deletes them afterwards, so two runs — or a
run and the differential tests — never see each other's messages; the trace
speaks the lesson's names, without the prefix.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from simulator.models.rabbitmq.settings import broker_args, queue_args
from simulator.scenario import Scenario

if TYPE_CHECKING:
    from pika import BlockingConnection
    from pika.adapters.blocking_connection import BlockingChannel

__all__ = [
    "ExchangeSpec",
    "QueueSpec",
    "Topology",
    "new_prefix",
    "queue_arguments",
    "wall_ms",
]


ABANDONED_MS = 10 * 60 * 1000
"""A run's queue left unused this long is deleted by the broker (``x-expires``)."""


def wall_ms(virtual_ms: int, speed: float) -> int:
    """A virtual duration in wall-clock milliseconds at ``speed`` (at least 1 if it was)."""
    return max(1 if virtual_ms else 0, round(virtual_ms / speed))


def new_prefix(kind: str = "live") -> str:
    """A fresh name prefix for one run's broker objects: ``evsim-live-<12 hex>-``."""
    return f"evsim-{kind}-{uuid.uuid4().hex[:12]}-"


def queue_arguments(
    *,
    queue_type: str = "classic",
    message_ttl_ms: int | None = None,
    max_length: int | None = None,
    overflow: str | None = None,
    delivery_limit: int | None = None,
    dead_letter_exchange: str | None = None,
) -> dict[str, object]:
    """The ``queue.declare`` arguments that say these settings (RabbitMQ's own names)."""
    args: dict[str, object] = {"x-queue-type": queue_type}
    if message_ttl_ms is not None:
        args["x-message-ttl"] = message_ttl_ms
    if max_length is not None:
        args["x-max-length"] = max_length
    if overflow is not None:
        args["x-overflow"] = overflow
    if delivery_limit is not None:
        args["x-delivery-limit"] = delivery_limit
    if dead_letter_exchange is not None:
        args["x-dead-letter-exchange"] = dead_letter_exchange
    return args


@dataclass(frozen=True)
class ExchangeSpec:
    name: str
    """The lesson's name (the scenario's topic)."""
    kind: str
    """``fanout``, ``direct`` or ``topic``."""


@dataclass(frozen=True)
class QueueSpec:
    name: str
    """The lesson's name (the scenario's group)."""
    exchange: str
    binding_keys: tuple[str, ...]
    arguments: dict[str, object]
    """Declare arguments, with broker names (the DLX carries the run's prefix)."""
    dead_letter_exchange: str | None
    """The lesson's name of the queue's DLX, if it has one."""
    message_ttl_ms: int | None
    consumers: tuple[str, ...]


@dataclass(frozen=True)
class Topology:
    """A lesson's exchanges and queues, under one run's prefix."""

    prefix: str
    exchanges: tuple[ExchangeSpec, ...]
    queues: tuple[QueueSpec, ...]
    keys: tuple[str, ...] = field(default=())
    """Every routing key the workload uses (a tap on a direct exchange binds each)."""

    @classmethod
    def of(
        cls,
        scenario: Scenario,
        prefix: str,
        keys: Iterable[str | None] = (),
        speed: float = 1.0,
    ) -> Topology:
        """The lesson's topology; its TTLs divided by ``speed``, like every other duration."""
        kinds = broker_args(scenario).exchanges
        exchanges = tuple(
            ExchangeSpec(t.name, kinds.get(t.name, "fanout")) for t in scenario.topics
        )
        kind_of = {x.name: x.kind for x in exchanges}
        queues = []
        for g in scenario.groups:
            q = queue_args(g)
            dlx = g.dead_letter_topic
            ttl_ms = None if q.message_ttl_ms is None else wall_ms(q.message_ttl_ms, speed)
            arguments = queue_arguments(
                queue_type=q.queue_type,
                message_ttl_ms=ttl_ms,
                max_length=q.max_length,
                overflow=q.overflow if q.max_length is not None else None,
                delivery_limit=q.delivery_limit if q.queue_type == "quorum" else None,
                dead_letter_exchange=None if dlx is None else prefix + dlx,
            )
            bindings = ("",) if kind_of[g.topic] == "fanout" else tuple(q.bindings)
            queues.append(
                QueueSpec(
                    g.name,
                    g.topic,
                    bindings,
                    arguments,
                    dlx,
                    q.message_ttl_ms,
                    tuple(g.consumer_names()),
                )
            )
        routing = tuple(sorted({k or "" for k in keys}))
        return cls(prefix, exchanges, tuple(queues), routing)

    # -- names ------------------------------------------------------------------------------

    def broker_name(self, name: str) -> str:
        """The broker's name for one of the lesson's exchanges or queues."""
        return self.prefix + name

    def lesson_name(self, broker_name: str) -> str:
        """The lesson's name for a broker object of this run (others stay as they are)."""
        return broker_name.removeprefix(self.prefix)

    def kind(self, exchange: str) -> str:
        return next(x.kind for x in self.exchanges if x.name == exchange)

    def queue(self, name: str) -> QueueSpec:
        return next(q for q in self.queues if q.name == name)

    def dead_letter_exchanges(self) -> list[str]:
        """Exchanges some queue dead-letters to, in the order the lesson names them."""
        used = {q.dead_letter_exchange for q in self.queues}
        return [x.name for x in self.exchanges if x.name in used]

    def tap_keys(self, exchange: str) -> tuple[str, ...]:
        """Binding keys that make a tap queue see everything ``exchange`` routes."""
        kind = self.kind(exchange)
        if kind == "fanout":
            return ("",)
        if kind == "topic":
            return ("#",)
        return self.keys or ("",)

    def object_names(self) -> tuple[list[str], list[str]]:
        """Broker names of every exchange and queue the run declares (taps excluded)."""
        return (
            [self.broker_name(x.name) for x in self.exchanges],
            [self.broker_name(q.name) for q in self.queues],
        )

    # -- on the broker ----------------------------------------------------------------------

    def declare(self, channel: BlockingChannel) -> None:
        """Declare every exchange, queue and binding (durable, as the model assumes).

        A run deletes what it declared; one killed outright cannot. So each queue
        also expires after ``ABANDONED_MS`` without a consumer (``x-expires``), and
        each exchange deletes itself once its last queue is gone (``auto_delete``):
        neither changes anything while the run uses them.
        """
        for x in self.exchanges:
            channel.exchange_declare(
                self.broker_name(x.name), x.kind, durable=True, auto_delete=True
            )
        for q in self.queues:
            name = self.broker_name(q.name)
            arguments = {**q.arguments, "x-expires": ABANDONED_MS}
            channel.queue_declare(name, durable=True, arguments=arguments)
            for key in q.binding_keys:
                channel.queue_bind(name, self.broker_name(q.exchange), routing_key=key)

    def delete(self, conn: BlockingConnection) -> None:
        """Delete every queue, then every exchange; a failed delete does not stop the rest."""
        import pika

        exchanges, queues = self.object_names()
        channel = conn.channel()
        for kind, name in [("queue", q) for q in queues] + [("exchange", x) for x in exchanges]:
            try:
                if kind == "queue":
                    channel.queue_delete(name)
                else:
                    channel.exchange_delete(name)
            except pika.exceptions.ChannelClosed:
                channel = conn.channel()  # already gone (NOT_FOUND closes the channel)
        if channel.is_open:
            channel.close()

    def leftovers(self, conn: BlockingConnection) -> list[str]:
        """Objects of this run still on the broker (a passive declare finds them)."""
        import pika

        exchanges, queues = self.object_names()
        found: list[str] = []
        for kind, name in [("queue", q) for q in queues] + [("exchange", x) for x in exchanges]:
            channel = conn.channel()
            try:
                if kind == "queue":
                    channel.queue_declare(name, passive=True)
                else:
                    channel.exchange_declare(name, passive=True)
            except pika.exceptions.ChannelClosedByBroker:
                continue
            found.append(f"{kind} {name}")
            channel.close()
        return found
