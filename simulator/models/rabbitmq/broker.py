"""The RabbitMQ-style broker: exchanges, queues, publisher confirms and dead-lettering.

The scenario's sections map onto RabbitMQ like this: a *topic* is an exchange
(``fanout`` unless ``[rabbitmq.exchanges]`` says ``direct`` or ``topic``); a
*group* is a queue of the same name bound to its topic's exchange, and the
group's consumers compete for that queue's messages; a group's
``dead_letter_topic`` is the queue's dead-letter exchange (DLX). A message
published to an exchange is routed (one ``Routed`` record), copied into each
matching queue, and — with publisher confirms on — confirmed to the publisher
once every queue has it.

Dead-lettering republishes the message to the DLX with its original routing
key, for four reasons: ``rejected`` (nack/reject without requeue),
``expired`` (TTL), ``maxlen`` (``drop-head`` overflow) and ``delivery_limit``
(a quorum queue). Without a DLX the message is dropped. Queues are durable and
messages persistent: a broker crash closes every channel (unacked deliveries
are requeued) but keeps the queues; publishes during the outage go unanswered.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from simulator.messages import Message
from simulator.models.queues.broker import QueueBroker
from simulator.models.queues.publisher import PublishRequest
from simulator.models.rabbitmq.consumer import RabbitConsumer
from simulator.models.rabbitmq.exchange import Exchange
from simulator.models.rabbitmq.queue import Queue
from simulator.trace import DeadLettered, Routed

if TYPE_CHECKING:
    from simulator.runtime import Runtime

__all__ = ["FOLLOWS", "RabbitBroker"]

FOLLOWS = "RabbitMQ 3.10–3.13 (classic and quorum queues; one node, clustering not modelled)"


class RabbitBroker(QueueBroker[RabbitConsumer]):
    """Exchanges, queues, publishers and consumers of a RabbitMQ-style scenario."""

    def __init__(self, runtime: Runtime) -> None:
        super().__init__(runtime)
        scenario = runtime.scenario
        kinds = scenario.rabbitmq.exchanges
        self.exchanges: dict[str, Exchange] = {
            t.name: Exchange(t.name, kinds.get(t.name, "fanout")) for t in scenario.topics
        }
        self.queues: dict[str, Queue] = {}
        for g in scenario.groups:
            queue = Queue(runtime, self, g)
            self.queues[g.name] = queue
            self.exchanges[g.topic].bind(g.name, g.rabbitmq.bindings)
            for name in g.consumer_names():
                self.consumers[name] = RabbitConsumer(runtime, self, queue, g, name)
        self._expiration = scenario.rabbitmq.message_expiration_ms
        self._add_publishers(self._on_publish, broker_confirms=scenario.rabbitmq.publisher_confirms)
        self._start_consumers()

    # -- what the simulation asks of a broker model --------------------------------------------

    @staticmethod
    def settings_for(runtime: Runtime) -> dict[str, str]:
        """Every setting that shapes behaviour, defaults included, for the trace header."""
        s = runtime.scenario
        out: dict[str, str] = {"network.latency_ms": str(s.network.latency_ms)}
        confirms = s.rabbitmq.publisher_confirms
        for t in s.topics:
            out[f"exchange.{t.name}.type"] = s.rabbitmq.exchanges.get(t.name, "fanout")
        for p in s.producers:
            prefix = f"publisher.{p.name}"
            out[f"{prefix}.exchange"] = p.topic
            out[f"{prefix}.confirms"] = str(confirms and p.acks != 0).lower()
            out[f"{prefix}.confirm_timeout_ms"] = str(p.request_timeout_ms)
            out[f"{prefix}.republish_backoff_ms"] = str(p.retry_backoff_ms)
            out[f"{prefix}.routing_key"] = "the message key"
            if p.name in s.rabbitmq.message_expiration_ms:
                out[f"{prefix}.expiration_ms"] = str(s.rabbitmq.message_expiration_ms[p.name])
        for g in s.groups:
            q = g.rabbitmq
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

    def _broker_down(self, cause_seq: int) -> None:
        """Every connection drops with the broker: channels close, unacked deliveries requeue."""
        for consumer in self.consumers.values():
            consumer.broker_went_down(cause_seq)
        for queue in self.queues.values():
            for channel in list(queue.channels):
                queue.close_channel(channel, cause_seq)

    def _broker_up(self) -> None:
        for consumer in self.consumers.values():
            consumer.broker_came_back()

    # -- publishing and routing ----------------------------------------------------------------

    def _on_publish(self, request: PublishRequest) -> None:
        """A publish arrives at the exchange: route, enqueue, confirm (or refuse)."""
        if not self.up:
            return
        publisher = request.publisher
        msg = request.msg
        routed, refused = self._route(
            publisher.topic, msg, request.cause_seq, self._expiration.get(publisher.name)
        )
        if self._crashed_before_answering():
            return  # stored, but the confirm never leaves: the publisher will republish
        if refused:
            publisher.refuse(
                request, f"basic.nack: queue {refused} is full (reject-publish)", routed
            )
        else:
            publisher.confirm(request, routed)

    def _route(
        self, exchange_name: str, msg: Message, cause_seq: int | None, expiration_ms: int | None
    ) -> tuple[int, str | None]:
        """Route ``msg`` through an exchange into its queues; (Routed seq, a refusing queue)."""
        runtime = self.runtime
        exchange = self.exchanges[exchange_name]
        names = exchange.route(msg.key)
        routed = runtime.record(
            Routed(
                seq=runtime.next_seq,
                at=runtime.kernel.now_ms,
                component=exchange_name,
                cause_seq=cause_seq,
                exchange=exchange_name,
                msg=msg.id,
                key=msg.key,
                queues=names,
            )
        )
        refused = None
        for name in names:
            queue = self.queues[name]
            if queue.enqueue(msg, expiration_ms, routed.seq):
                queue.dispatch()
            else:
                refused = name
        return routed.seq, refused

    def publish_internal(self, exchange_name: str, msg: Message, cause_seq: int | None) -> None:
        """A publish from inside the system (a handler's output), confirmed at once."""
        self._route(exchange_name, msg, cause_seq, None)

    def dead_letter(
        self, queue: Queue, msg: Message, reason: str, cause_seq: int | None, consumer: str | None
    ) -> None:
        """Republish to the queue's DLX, or drop the message if it has none."""
        dlx = queue.spec.dead_letter_topic
        if dlx is None:
            if reason in ("rejected", "delivery_limit"):
                why = (
                    "rejected without requeue"
                    if reason == "rejected"
                    else (
                        f"returned more than x-delivery-limit={queue.settings.delivery_limit} times"
                    )
                )
                queue.drop(
                    msg, f"{why}; no dead-letter exchange: dropped", consumer or "", cause_seq
                )
            return
        dead = self.runtime.emit(
            DeadLettered,
            queue.name,
            cause_seq,
            group=queue.name,
            msg=msg.id,
            key=msg.key,
            destination=dlx,
            reason=reason,
        )
        self._route(dlx, msg, dead.seq, None)
