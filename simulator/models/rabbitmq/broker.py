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
first time and kept. Without a DLX the message is dropped.

A broker crash closes every channel (unacked deliveries are requeued) and
publishes during the outage go unanswered; what the restart keeps is the
durable queues' persistent messages that had reached the disk
(``simulator.models.rabbitmq.confirms`` says when a confirm may go out). With
``[rabbitmq.cluster]`` the broker is several nodes (``cluster``), each quorum
queue a Raft group over some of them (``quorum``); with a memory high
watermark, publishers are blocked while the alarm is on (``memory``).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from simulator.messages import Message
from simulator.models.queues.broker import QueueBroker
from simulator.models.queues.publisher import PublishRequest
from simulator.models.rabbitmq.cluster import Cluster
from simulator.models.rabbitmq.confirms import ConfirmWait
from simulator.models.rabbitmq.consumer import RabbitConsumer
from simulator.models.rabbitmq.exchange import Exchange
from simulator.models.rabbitmq.memory import MemoryAlarm
from simulator.models.rabbitmq.queue import Queue, QueuedMessage
from simulator.models.rabbitmq.quorum import QuorumGroup, Write
from simulator.models.rabbitmq.settings import (
    broker_args,
    connection_nodes,
    delivery_mode,
    queue_args,
    queue_members,
    queue_node,
)
from simulator.trace import (
    ClientReconnected,
    Crashed,
    DeadLettered,
    DeadLetterHeaders,
    PublishDropped,
    QueueAvailable,
    QueueUnavailable,
    Restarted,
    Routed,
    XDeath,
)

if TYPE_CHECKING:
    from collections.abc import Callable

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
        settings = args.cluster
        self.cluster: Cluster | None = (
            Cluster(runtime, settings, self._connectivity_changed) if settings is not None else None
        )
        self.reconnect_ms = settings.reconnect_ms if settings is not None else 0
        """How long a client waits before connecting again (or consuming again)."""
        connections = connection_nodes(scenario)
        self.queues: dict[str, Queue] = {}
        for g in scenario.groups:
            queue = Queue(runtime, self, g, queue_node(scenario, g))
            self.queues[g.name] = queue
            self.exchanges[g.topic].bind(g.name, queue_args(g).bindings)
            for name in g.consumer_names():
                consumer = RabbitConsumer(runtime, self, queue, g, name)
                consumer.node = connections.get(name, "broker")
                self.consumers[name] = consumer
        self._expiration = args.message_expiration_ms
        self._persistent = {
            p.name: delivery_mode(scenario, p.name) == 2 for p in scenario.producers
        }
        self._disk_write_ms = args.disk_write_ms
        self._simple = settings is None and args.disk_write_ms == 0
        """One node, writes at once: every confirm can go out the moment the publish arrives."""
        self._epoch = 0
        """The one-node broker's life, counted up at each crash: older writes are void."""
        self._down_seq: int | None = None
        self._add_publishers(self._on_publish, broker_confirms=args.publisher_confirms)
        for name, publisher in self.publishers.items():
            publisher.node = connections.get(name, "broker")
        self.quorum: dict[str, QuorumGroup] = {}
        if self.cluster is not None:
            for g in scenario.groups:
                if queue_args(g).queue_type == "quorum":
                    queue = self.queues[g.name]
                    self.quorum[g.name] = QuorumGroup(
                        runtime,
                        self.cluster,
                        queue,
                        queue_members(scenario, g),
                        args.disk_write_ms,
                        self._applied_to(queue),
                    )
        watermark = args.memory_high_watermark_messages
        self.alarm: MemoryAlarm | None = None
        if watermark is not None:
            self.alarm = MemoryAlarm(runtime, watermark, self._held_per_node, self._on_publish)
        self._start_consumers()

    # -- nodes ---------------------------------------------------------------------------------

    def node_up(self, node: str) -> bool:
        """Whether ``node`` is up (on one node: whether the broker is)."""
        cluster = self.cluster
        return self.up if cluster is None else cluster.up(node)

    def can_consume(self, queue: Queue, node: str) -> bool:
        """Whether a consumer connected to ``node`` can subscribe to ``queue`` now."""
        cluster = self.cluster
        if cluster is None:
            return True
        if queue.quorum and not queue.available:
            return True  # it stays attached through the election and is served after it
        return queue.available and cluster.can_reach(node, queue.node)

    def _epoch_of(self, node: str) -> int:
        cluster = self.cluster
        return self._epoch if cluster is None else cluster.epoch(node)

    def crash(self, target: str, point: str | None) -> int:
        """Crash a component by name: in a cluster, a node too."""
        cluster = self.cluster
        if cluster is not None and target in cluster.nodes:
            return self._crash_node(target, point)
        return super().crash(target, point)

    def restart(self, target: str, cause_seq: int | None) -> None:
        cluster = self.cluster
        if cluster is not None and target in cluster.nodes:
            self._restart_node(target, cause_seq)
            return
        super().restart(target, cause_seq)

    def _crash_node(self, node: str, point: str | None) -> int:
        """A node dies: its connections close, its classic queues stop, its replicas fall silent."""
        cluster = self.cluster
        assert cluster is not None
        crashed = self.runtime.emit(Crashed, node, None, point=point)
        seq = crashed.seq
        if not cluster.up(node):
            return seq
        cluster.went_down(node, seq)
        for publisher in self.publishers.values():
            if publisher.node == node and publisher.connected:
                publisher.disconnect(seq, self.reconnect_ms)
                self._reconnect_later(publisher.name)
        for consumer in self.consumers.values():
            if consumer.node == node and consumer.connected:
                channel = consumer.channel
                if channel is not None:
                    consumer.queue.close_channel(channel, seq)
                consumer.disconnected(seq)
                self._reconnect_later(consumer.name)
        for queue in self.queues.values():
            if not queue.quorum and queue.node == node:
                queue.available = False
                self.runtime.emit(
                    QueueUnavailable,
                    queue.name,
                    seq,
                    group=queue.name,
                    reason=f"its node {node} is down: a classic queue lives on one node",
                )
                queue.close_channels(seq, cancel=True)
        for group in self.quorum.values():
            group.node_crashed(node, seq)
        return seq

    def _restart_node(self, node: str, cause_seq: int | None) -> None:
        """A node is back with what it had on disk; its classic queues serve again."""
        cluster = self.cluster
        assert cluster is not None
        if cluster.up(node):
            return
        restarted = self.runtime.emit(Restarted, node, cause_seq)
        cluster.came_up(node)
        crash_seq = cluster.crash_seq.get(node)
        for queue in self.queues.values():
            if not queue.quorum and queue.node == node:
                queue.lose_memory(crash_seq)
                queue.available = True
                self.runtime.emit(
                    QueueAvailable, queue.name, restarted.seq, group=queue.name, node=node
                )
                # Its cancelled consumers retry within one interval and find it back.
                for consumer in self.consumers.values():
                    if consumer.queue is queue and consumer.channel is None:
                        self.runtime.kernel.after(self.reconnect_ms, consumer.retry_consume)
        for group in self.quorum.values():
            group.node_restarted(node, restarted.seq)

    def _reconnect_later(self, client: str, *, again: bool = False) -> None:
        # The first try is work the lesson waits for; retries while no node is up are not.
        self.runtime.kernel.after(self.reconnect_ms, self._reconnect, client, background=again)

    def _reconnect(self, client: str) -> None:
        """A client whose node died connects to the next node that is up."""
        cluster = self.cluster
        assert cluster is not None
        publisher = self.publishers.get(client)
        consumer = self.consumers.get(client)
        old = publisher.node if publisher is not None else consumer.node if consumer else ""
        node = cluster.next_live(old)
        if node is None:
            self._reconnect_later(client, again=True)
            return
        self.runtime.emit(
            ClientReconnected, client, cluster.crash_seq.get(old), client=client, node=node
        )
        if publisher is not None:
            publisher.reconnect(node)
        elif consumer is not None:
            consumer.reconnected(node)

    def _connectivity_changed(self, cause_seq: int | None) -> None:
        """A partition between nodes was noticed, or healed: who serves whom now?"""
        for group in self.quorum.values():
            group.connectivity_changed(cause_seq)
        for queue in self.queues.values():
            self.serving_changed(queue, cause_seq)

    def serving_changed(self, queue: Queue, cause_seq: int | None) -> None:
        """The queue's serving node changed or moved out of reach of some consumers.

        Consumers that cannot reach it are cancelled (their unacked deliveries
        return), and consume again when they can; the rest are served from here on.
        """
        cluster = self.cluster
        if cluster is None or not queue.available:
            return
        for channel in list(queue.channels):
            if not cluster.can_reach(channel.node, queue.node):
                queue.close_channel(channel, cause_seq)
                channel.consumer.cancelled(channel)
        queue.dispatch()

    # -- what the simulation asks of a broker model --------------------------------------------

    def _broker_down(self, cause_seq: int) -> None:
        """Every connection drops with the broker: channels close, unacked deliveries requeue."""
        self._epoch += 1
        self._down_seq = cause_seq
        for consumer in self.consumers.values():
            consumer.broker_went_down(cause_seq)
        for queue in self.queues.values():
            for channel in list(queue.channels):
                queue.close_channel(channel, cause_seq)

    def _broker_up(self) -> None:
        for queue in self.queues.values():
            queue.lose_memory(self._down_seq)
        for consumer in self.consumers.values():
            consumer.broker_came_back()

    # -- memory --------------------------------------------------------------------------------

    def _held_per_node(self) -> dict[str, int]:
        held: dict[str, int] = {}
        for queue in self.queues.values():
            held[queue.node] = held.get(queue.node, 0) + queue.held()
        return held

    # -- publishing and routing ----------------------------------------------------------------

    def _on_publish(self, request: PublishRequest) -> None:
        """A publish arrives at the exchange: route, enqueue, confirm (or refuse)."""
        entry = request.sent_to
        if not self.node_up(entry):
            return
        alarm = self.alarm
        if alarm is not None and alarm.park(request):
            return  # the broker stops reading a blocked connection: it waits unread
        if not self._simple:
            self._publish_safely(request, entry)
            return
        publisher = request.publisher
        msg = request.msg
        routed, refused = self._route(
            publisher.topic,
            msg,
            request.cause_seq,
            self._expiration.get(publisher.name),
            persistent=self._persistent[publisher.name],
        )
        if self._crashed_before_answering():
            return  # stored, but the confirm never leaves: the publisher will republish
        if refused:
            publisher.refuse(
                request, f"basic.nack: queue {refused} is full (reject-publish)", routed
            )
        else:
            publisher.confirm(request, routed)

    def _publish_safely(self, request: PublishRequest, entry: str) -> None:
        """Route a publish whose confirm waits for disks or for quorum commits."""
        publisher = request.publisher
        msg = request.msg
        topic = publisher.topic
        expiration = self._expiration.get(publisher.name)
        persistent = self._persistent[publisher.name]
        routed = self._routed(topic, msg, request.cause_seq)
        wait = ConfirmWait(request, routed.seq)
        cluster = self.cluster
        refused: str | None = None
        homes: list[str] = []
        for name in routed.queues:
            queue = self.queues[name]
            group = self.quorum.get(name)
            if group is not None:
                wait.expect()
                group.submit(Write(msg, expiration, routed.seq, topic, entry, wait))
                continue
            if cluster is not None and not cluster.up(queue.node):
                # RabbitMQ routes nothing to a queue whose node is down: for this queue
                # the message is unroutable, dropped, and the confirm is still an ack.
                self.runtime.emit(
                    PublishDropped,
                    name,
                    routed.seq,
                    group=name,
                    msg=msg.id,
                    key=msg.key,
                    reason=f"its node {queue.node} is down: unroutable there, yet confirmed",
                )
                continue
            if cluster is not None and not cluster.can_reach(entry, queue.node):
                refused = f"basic.nack: queue {name} lives on {queue.node}, which is out of reach"
                continue
            qm = queue.enqueue(msg, expiration, routed.seq, topic, None, persistent)
            if qm is None:
                refused = f"basic.nack: queue {name} is full (reject-publish)"
                continue
            homes.append(queue.node)
            if qm.persistent and queue.durable and self._disk_write_ms:
                qm.on_disk = False
                wait.expect()
                arg = (qm, wait, queue.node, self._epoch_of(queue.node))
                self.runtime.kernel.after(self._disk_write_ms, self._on_disk, arg)
            queue.dispatch()
        if cluster is None:
            if self._crashed_before_answering():
                return
        else:
            for node in dict.fromkeys(homes):
                if self.runtime.faults.crashes_at(node, "after_append_before_ack"):
                    return  # stored, but the confirm never leaves
        wait.arm(refused)

    def _on_disk(self, arg: tuple[QueuedMessage, ConfirmWait, str, int]) -> None:
        """A persistent message's disk write finished: it survives a restart from now on."""
        qm, wait, node, epoch = arg
        if self._epoch_of(node) != epoch:
            return  # the node died first: the message was in memory only, and no confirm
        qm.on_disk = True
        wait.done(wait.cause_seq)

    def _applied_to(self, queue: Queue) -> Callable[[Write, int], None]:
        """What ``queue`` does with a committed quorum write: enqueue it and confirm it."""

        def applied(write: Write, committed_seq: int) -> None:
            qm = queue.enqueue(
                write.msg, write.expiration_ms, committed_seq, write.exchange, None, True
            )
            wait = write.wait
            if qm is None:
                if wait is not None:
                    reason = f"basic.nack: queue {queue.name} is full (reject-publish)"
                    wait.refuse(reason, committed_seq)
                return
            queue.dispatch()
            if wait is not None:
                wait.done(committed_seq)

        return applied

    def _routed(self, exchange_name: str, msg: Message, cause_seq: int | None) -> Routed:
        """The exchange picks the queues whose bindings match: one ``Routed`` record."""
        runtime = self.runtime
        exchange = self.exchanges[exchange_name]
        return runtime.record(
            Routed(
                seq=runtime.next_seq,
                at=runtime.kernel.now_ms,
                component=exchange_name,
                cause_seq=cause_seq,
                exchange=exchange_name,
                msg=msg.id,
                key=msg.key,
                queues=exchange.route(msg.key),
            )
        )

    def _route(
        self,
        exchange_name: str,
        msg: Message,
        cause_seq: int | None,
        expiration_ms: int | None,
        headers: DeadLetterHeaders | None = None,
        *,
        persistent: bool = True,
    ) -> tuple[int, str | None]:
        """Route ``msg`` through an exchange into its queues; (Routed seq, a refusing queue)."""
        routed = self._routed(exchange_name, msg, cause_seq)
        refused = None
        for name in routed.queues:
            queue = self.queues[name]
            if queue.enqueue(msg, expiration_ms, routed.seq, exchange_name, headers, persistent):
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
        self._route(dlx, msg, dead.seq, None, headers, persistent=qm.persistent)


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
