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
``expired`` (TTL), ``maxlen`` (``drop-head`` or ``reject-publish-dlx``
overflow) and ``delivery_limit`` (a quorum queue). The dead letter carries
RabbitMQ's headers: ``x-death``, one entry per queue and reason with a count
(latest first), and ``x-first-death-reason``/``-queue``/``-exchange``, set the
first time and kept. Without a DLX the message is dropped. Queues are durable and
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
from simulator.models.rabbitmq.queue import Queue, QueuedMessage
from simulator.models.rabbitmq.settings import broker_args, queue_args
from simulator.trace import DeadLettered, DeadLetterHeaders, Routed, XDeath

if TYPE_CHECKING:
    from simulator.runtime import Runtime

__all__ = ["RabbitBroker"]


class RabbitBroker(QueueBroker[RabbitConsumer]):
    """Exchanges, queues, publishers and consumers of a RabbitMQ-style scenario."""

    def __init__(self, runtime: Runtime) -> None:
        super().__init__(runtime)
        scenario = runtime.scenario
        args = broker_args(scenario)
        kinds = args.exchanges
        self.exchanges: dict[str, Exchange] = {
            t.name: Exchange(t.name, kinds.get(t.name, "fanout")) for t in scenario.topics
        }
        self.queues: dict[str, Queue] = {}
        for g in scenario.groups:
            queue = Queue(runtime, self, g)
            self.queues[g.name] = queue
            self.exchanges[g.topic].bind(g.name, queue_args(g).bindings)
            for name in g.consumer_names():
                self.consumers[name] = RabbitConsumer(runtime, self, queue, g, name)
        self._expiration = args.message_expiration_ms
        self._add_publishers(self._on_publish, broker_confirms=args.publisher_confirms)
        self._start_consumers()

    # -- what the simulation asks of a broker model --------------------------------------------

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
        self,
        exchange_name: str,
        msg: Message,
        cause_seq: int | None,
        expiration_ms: int | None,
        headers: DeadLetterHeaders | None = None,
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
            if queue.enqueue(msg, expiration_ms, routed.seq, exchange_name, headers):
                queue.dispatch()
            else:
                refused = name
        return routed.seq, refused

    def publish_internal(self, exchange_name: str, msg: Message, cause_seq: int | None) -> None:
        """A publish from inside the system (a handler's output), confirmed at once."""
        self._route(exchange_name, msg, cause_seq, None)

    def dead_letter(
        self,
        queue: Queue,
        qm: QueuedMessage,
        reason: str,
        cause_seq: int | None,
        consumer: str | None,
    ) -> None:
        """Republish to the queue's DLX with its ``x-death`` headers, or drop it if none."""
        msg = qm.msg
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
        headers = died(qm.headers, reason, queue.name, qm.exchange, msg.key)
        dead = self.runtime.emit(
            DeadLettered,
            queue.name,
            cause_seq,
            group=queue.name,
            msg=msg.id,
            key=msg.key,
            destination=dlx,
            reason=reason,
            headers=headers,
        )
        self._route(dlx, msg, dead.seq, None, headers)


def died(
    headers: DeadLetterHeaders | None, reason: str, queue: str, exchange: str, key: str | None
) -> DeadLetterHeaders:
    """The headers after one more death: its (queue, reason) entry counted up and put first.

    RabbitMQ keeps one ``x-death`` entry per queue and reason; dying there again
    for the same reason adds one to its ``count`` and moves it to the front. The
    ``x-first-death-*`` headers are written once, at the first death.
    """
    entries = list(headers.x_death) if headers is not None else []
    count = 1
    for i, entry in enumerate(entries):
        if entry.queue == queue and entry.reason == reason:
            count = entry.count + 1
            del entries[i]
            break
    routing_keys = [key if key is not None else ""]
    entry = XDeath(
        count=count, reason=reason, queue=queue, exchange=exchange, routing_keys=routing_keys
    )
    if headers is None:
        return DeadLetterHeaders(
            x_death=[entry],
            first_death_reason=reason,
            first_death_queue=queue,
            first_death_exchange=exchange,
        )
    return DeadLetterHeaders(
        x_death=[entry, *entries],
        first_death_reason=headers.first_death_reason,
        first_death_queue=headers.first_death_queue,
        first_death_exchange=headers.first_death_exchange,
    )
