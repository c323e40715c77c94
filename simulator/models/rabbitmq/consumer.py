"""A RabbitMQ consumer: deliveries pushed to it, processed one by one, then acked.

Unlike a Kafka consumer, nobody polls: the queue *pushes* deliveries to the
channel as long as the consumer has prefetch room, and the consumer settles each
one. When it settles is the delivery guarantee:

- ``commit = "before-process"`` is **auto-ack** (``basic.consume(no_ack=true)``):
  the broker forgets a message as soon as it is sent, so a crash loses every
  delivery the consumer was holding (at-most-once). Prefetch does not apply.
- ``"after-process"`` or ``"auto"`` is **manual ack**: ``basic.ack`` after the
  handler finished (at-least-once); a crash before the ack gets the message
  requeued and delivered again. ``ack_multiple = n`` acks once per ``n``
  deliveries with ``multiple=true`` (and whenever the consumer runs dry) —
  fewer acks, more redelivered on a crash.

A handler failure goes through the group's retry policy in place; then the
consumer rejects the message: with ``requeue_on_failure`` it goes back to the
queue (a poison message then loops for ever unless a quorum queue's
``delivery_limit`` stops it), otherwise to the DLX, or nowhere.

In a cluster the consumer is connected to one node. If that node dies, its
connection dies with it (what it held unacked goes back to the queue) and it
connects to another node after ``reconnect_ms``. If the queue's own node dies
or moves out of reach, the broker cancels the consumer (``basic.cancel``) and
it consumes again once the queue is back; a quorum queue's consumers stay
attached through a change of leader.
"""

from __future__ import annotations

from collections import deque
from typing import TYPE_CHECKING

from simulator.models.queues.consumer import QueueConsumer
from simulator.models.rabbitmq.settings import queue_args
from simulator.scenario import Group as GroupSpec
from simulator.trace import Delivered, Nacked, RetryScheduled

if TYPE_CHECKING:
    from simulator.models.rabbitmq.broker import RabbitBroker
    from simulator.models.rabbitmq.queue import Channel, Queue, QueuedMessage
    from simulator.runtime import Runtime

__all__ = ["RabbitConsumer"]

Delivery = tuple["Channel", int, "QueuedMessage", int]
"""(channel, delivery tag, the queued message, seq of its Delivered record)."""


class RabbitConsumer(QueueConsumer):
    """One consumer on one queue, with its own channel."""

    def __init__(
        self, runtime: Runtime, broker: RabbitBroker, queue: Queue, spec: GroupSpec, name: str
    ) -> None:
        super().__init__(runtime, broker, spec, name)
        self.broker = broker
        self.queue = queue
        self.auto_ack = spec.commit == "before-process"
        self.args = queue_args(spec)
        self.ack_multiple = self.args.ack_multiple
        self._quorum = self.args.queue_type == "quorum"
        self.channel: Channel | None = None
        self.node = "broker"
        """The node its connection goes to (a cluster's node name, else ``broker``)."""
        self.connected = True
        self._buffer: deque[Delivery] = deque()
        self._busy = False
        self._unacked_done = 0
        """Processed deliveries not acked yet (with ``ack_multiple > 1``)."""
        self._last_done: tuple[Channel, int, int] | None = None
        self._attempt = 1
        """Tries of the message in hand in this round (the retry policy counts them)."""

    # -- lifecycle -----------------------------------------------------------------------------

    def start(self) -> None:
        self.runtime.kernel.schedule(self.spec.start_ms, self._consume)

    def _consume(self, _: object = None) -> None:
        """Open a channel, set ``basic.qos`` and ``basic.consume`` on the queue."""
        if self.crashed or not self.connected or not self.broker.node_up(self.node):
            return
        if self.channel is not None:
            return  # consuming already
        if not self.broker.can_consume(self.queue, self.node):
            # The queue's node is down or out of reach: try again later, as a client
            # whose consumer was cancelled does.
            self.runtime.kernel.after(
                self.broker.reconnect_ms, self._consume, None, background=True
            )
            return
        from simulator.models.rabbitmq.queue import Channel

        self.channel = Channel(self, self.args.prefetch, self.auto_ack)
        self.queue.subscribe(self.channel)

    def _forget_deliveries(self) -> None:
        self._buffer.clear()
        self._busy = False
        self._unacked_done = 0
        self._last_done = None

    def _stop(self, cause_seq: int) -> None:
        """Crashed: the broker notices the closed connection and requeues the unacked."""
        self._forget_deliveries()
        channel = self.channel
        self.channel = None
        if channel is not None:
            self.runtime.network.send(
                self.name,
                channel.node,
                "connection closed",
                None,
                self._closed_at_broker,
                (channel, cause_seq),
            )

    def _closed_at_broker(self, arg: tuple[Channel, int | None]) -> None:
        channel, cause_seq = arg
        self.queue.close_channel(channel, cause_seq)

    def _resume(self) -> None:
        self._consume()

    def broker_went_down(self, cause_seq: int) -> None:
        """The connection dropped with the broker: buffered deliveries are void."""
        self._token += 1
        self._forget_deliveries()
        self.channel = None

    def broker_came_back(self) -> None:
        if not self.crashed:
            self._consume()

    def disconnected(self, cause_seq: int) -> None:
        """Its node died: the connection is gone, and with it the channel."""
        self.broker_went_down(cause_seq)
        self.connected = False

    def reconnected(self, node: str) -> None:
        """Connected again, to another node: consume from there."""
        self.node = node
        self.connected = True
        if not self.crashed:
            self._consume()

    def retry_consume(self, _: object = None) -> None:
        """Try ``basic.consume`` again (its queue may be back)."""
        self._consume()

    def cancelled(self, channel: Channel) -> None:
        """``basic.cancel``: the queue went away under this channel; consume again later.

        Deliveries already in hand are still processed, but their acks reach a
        closed channel and do nothing: the queue gives those messages out again.
        """
        if channel is not self.channel:
            return
        self.channel = None
        self.runtime.kernel.after(self.broker.reconnect_ms, self._consume, None, background=True)

    # -- deliveries ----------------------------------------------------------------------------

    def on_deliveries(self, arg: tuple[Channel, list[tuple[int, QueuedMessage, bool]]]) -> None:
        """Deliveries pushed by the queue arrive (several, if sent in the same millisecond)."""
        channel, batch = arg
        if channel.batch is batch:
            channel.batch = None
        for tag, qm, redelivered in batch:
            self._on_delivery(channel, tag, qm, redelivered)

    def _on_delivery(
        self, channel: Channel, tag: int, qm: QueuedMessage, redelivered: bool
    ) -> None:
        if self.crashed or channel is not self.channel:
            return
        runtime = self.runtime
        msg = qm.msg
        delivered = runtime.record(
            Delivered(
                seq=runtime.next_seq,
                at=runtime.kernel.now_ms,
                component=self.name,
                cause_seq=qm.cause_seq,
                group=self.spec.name,
                consumer=self.name,
                msg=msg.id,
                key=msg.key,
                topic=self.spec.topic,
                partition=None,
                offset=None,
                redelivered=redelivered,
                # x-delivery-count: a quorum queue's count of earlier returns, absent at first.
                delivery_count=qm.returns if self._quorum and qm.returns else None,
            )
        )
        if self._crash_point("after_poll"):
            return
        if self.auto_ack and self._crash_point("after_commit_before_process"):
            return
        self._buffer.append((channel, tag, qm, delivered.seq))
        if not self._busy:
            self._next()

    def _next(self) -> None:
        if not self._buffer:
            self._busy = False
            self._flush_acks()
            return
        self._busy = True
        self._attempt = 1
        self._start_item(self._token)

    def _start_item(self, token: int) -> None:
        duration = self.runtime.faults.processing_ms(self.name, self._processing_ms)
        self._timers.after(duration, self._finish_item, token)

    def _finish_item(self, token: int) -> None:
        if self.crashed or token != self._token:
            return
        channel, tag, qm, delivered_seq = self._buffer[0]
        msg = qm.msg
        qm.tries += 1
        error = self._handler_error(self.spec.name, self.name, msg.id, msg.key, msg.value)
        if error is not None:
            self._failed(channel, tag, qm, delivered_seq, error, token)
            return
        processed_seq = self._processed(msg, delivered_seq)
        self._buffer.popleft()
        if not self.auto_ack:
            if self._crash_point("after_process_before_commit"):
                return
            self._unacked_done += 1
            self._last_done = (channel, tag, processed_seq)
            if self._unacked_done >= self.ack_multiple:
                self._flush_acks()
        self._next()

    def _flush_acks(self) -> None:
        """Send ``basic.ack`` for the processed deliveries not acked yet."""
        if self._last_done is None:
            return
        channel, tag, cause_seq = self._last_done
        multiple = self.ack_multiple > 1
        self._last_done = None
        self._unacked_done = 0
        self.runtime.network.send(
            self.name,
            channel.node,
            "ack",
            None,
            self._ack_at_broker,
            (channel, tag, multiple, cause_seq),
        )

    def _ack_at_broker(self, arg: tuple[Channel, int, bool, int]) -> None:
        channel, tag, multiple, cause_seq = arg
        if self.broker.node_up(channel.node):
            self.queue.ack(channel, tag, multiple, cause_seq)

    def _failed(
        self,
        channel: Channel,
        tag: int,
        qm: QueuedMessage,
        delivered_seq: int,
        error: str,
        token: int,
    ) -> None:
        msg = qm.msg
        failed_seq, delay = self._failure(
            msg, delivered_seq, error, attempt=self._attempt, tries=qm.tries
        )
        if delay is not None:
            self._attempt += 1
            self._timers.after(delay, self._start_item, token)
            return  # tried again after the backoff
        self._buffer.popleft()
        if self.auto_ack:
            why = f"{error} error after {qm.tries} attempt(s); auto-ack: already gone"
            self._skipped(msg, failed_seq, why)
            self._next()
            return
        runtime = self.runtime
        spec = self.spec
        requeue = self.args.requeue_on_failure
        cause = failed_seq
        if requeue:
            cause = runtime.emit(
                RetryScheduled,
                self.name,
                failed_seq,
                group=spec.name,
                consumer=self.name,
                msg=msg.id,
                attempt=qm.tries + 1,
                delay_ms=0,
                via="requeue",
            ).seq
        nacked = runtime.emit(
            Nacked,
            self.name,
            cause,
            group=spec.name,
            consumer=self.name,
            msg=msg.id,
            delivery_tag=tag,
            requeue=requeue,
        )
        runtime.network.send(
            self.name,
            channel.node,
            "nack",
            msg.id,
            self._nack_at_broker,
            (channel, tag, requeue, nacked.seq),
        )
        self._next()

    def _nack_at_broker(self, arg: tuple[Channel, int, bool, int]) -> None:
        channel, tag, requeue, cause_seq = arg
        if self.broker.node_up(channel.node):
            self.queue.nack(channel, tag, requeue, cause_seq)
