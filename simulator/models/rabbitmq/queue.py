"""A RabbitMQ queue: ready messages, consumers that compete for them, and unacked deliveries.

A queue pushes each ready message to one of its consumers, taking turns
(round-robin) among those with *prefetch room*: ``basic.qos(prefetch_count)``
bounds how many unacknowledged deliveries a consumer may hold (0 = no limit).
Every delivery on a channel gets a *delivery tag* (1, 2, 3 …); the consumer
settles it with ``basic.ack`` (``multiple=true`` settles every tag up to it) or
``basic.nack``/``basic.reject``. A message nacked with ``requeue=true`` goes
back flagged ``redelivered`` — on a classic queue at its original position, on a
quorum queue at the **tail** (RabbitMQ 3.10.8: ``m1 m2 m3 m4 m5 m1(r)``). When a
consumer's channel closes — it crashed, its connection dropped — every delivery
it had not acked goes back at its original position (both queue types), flagged
redelivered, and may go to another consumer: the point where per-key order
breaks. A quorum queue counts every return in the ``x-delivery-count`` header
of the next delivery.

A queue can also drop messages on its own: a message older than its TTL
expires when it reaches the head; a queue at ``x-max-length`` drops its oldest
ready message (``drop-head``) or refuses the new one (``reject-publish``, and
``reject-publish-dlx``, which dead-letters it too); a quorum queue dead-letters
a message returned more than ``x-delivery-limit`` times. Each of these
dead-letters to the queue's DLX if it has one, adding to the message's
``x-death`` header.

Durability decides what a restart of the queue's node leaves: a *durable*
queue survives it, and in it the *persistent* messages (``delivery_mode`` 2)
that had reached the disk; a transient message lived in memory only, and a
non-durable queue goes away with everything in it (its consumers declare it
again, empty). Deliveries not acked when the node died come back as if
requeued — if they survive at all.
"""

from __future__ import annotations

import heapq
from collections import deque
from typing import TYPE_CHECKING

from simulator.messages import Message
from simulator.models.rabbitmq.settings import queue_args
from simulator.scenario import Group as GroupSpec
from simulator.trace import (
    DeadLetterHeaders,
    DeliveryAcked,
    MessageExpired,
    MessageLostOnRestart,
    QueueOverflowed,
    Requeued,
    Skipped,
)

if TYPE_CHECKING:
    from simulator.models.rabbitmq.broker import RabbitBroker
    from simulator.models.rabbitmq.consumer import RabbitConsumer
    from simulator.runtime import Runtime

__all__ = ["Channel", "Queue", "QueuedMessage"]


class QueuedMessage:
    """A message in one queue (each queue a message is routed to holds its own copy)."""

    __slots__ = (
        "cause_seq",
        "exchange",
        "expires_at",
        "headers",
        "msg",
        "on_disk",
        "persistent",
        "position",
        "redelivered",
        "returns",
        "tries",
    )

    def __init__(
        self,
        msg: Message,
        position: int,
        expires_at: int | None,
        cause_seq: int,
        exchange: str,
        headers: DeadLetterHeaders | None,
    ) -> None:
        self.msg = msg
        self.exchange = exchange
        """The exchange it was published to (a dead letter's: the DLX)."""
        self.headers = headers
        """Its ``x-death`` headers, if it died somewhere before."""
        self.position = position
        """Order of arrival in the queue; a requeued message goes back to this place."""
        self.expires_at = expires_at
        self.redelivered = False
        self.returns = 0
        """Times it came back unacked (a quorum queue's ``x-delivery-count``)."""
        self.tries = 0
        """Times a handler ran on it, over every delivery (the attempt numbers in the trace)."""
        self.cause_seq = cause_seq
        """The record that made it ready: Routed, or Requeued."""
        self.persistent = True
        """``delivery_mode`` 2 (every message of a quorum queue is kept on disk)."""
        self.on_disk = True
        """Written to disk: a restart of its node keeps it (if its queue is durable)."""

    def __lt__(self, other: QueuedMessage) -> bool:
        return self.position < other.position


class Channel:
    """The broker's side of one consumer's channel: its prefetch and unacked deliveries."""

    __slots__ = (
        "auto_ack",
        "batch",
        "batch_at",
        "consumer",
        "name",
        "next_tag",
        "node",
        "open",
        "prefetch",
        "unacked",
    )

    def __init__(self, consumer: RabbitConsumer, prefetch: int, auto_ack: bool) -> None:
        self.consumer = consumer
        self.name = consumer.name
        self.node = consumer.node
        """The node the consumer is connected to: deliveries reach it from there."""
        self.prefetch = prefetch
        self.auto_ack = auto_ack
        self.next_tag = 0
        self.unacked: dict[int, QueuedMessage] = {}
        """Delivery tag → message, in tag order."""
        self.open = True
        self.batch: list[tuple[int, QueuedMessage, bool]] | None = None
        """Deliveries on their way in one network hop (filled while it is still ``batch_at``)."""
        self.batch_at = -1

    def has_room(self) -> bool:
        return self.auto_ack or self.prefetch == 0 or len(self.unacked) < self.prefetch


class Queue:
    """One queue bound to its group's exchange; the group's consumers compete for it."""

    def __init__(
        self, runtime: Runtime, broker: RabbitBroker, spec: GroupSpec, node: str = "broker"
    ) -> None:
        self.runtime = runtime
        self.broker = broker
        self.spec = spec
        self.name = spec.name
        self.node = node
        """Its node: a classic queue's home, a quorum queue's first leader."""
        self.settings = queue_args(spec)
        self.durable = self.settings.durable
        self.available = True
        """False while its node is down (classic) or it has no leader (quorum)."""
        self.ready: deque[QueuedMessage] = deque()
        self.channels: list[Channel] = []
        self._rr = 0
        self._next_position = 0
        self._ttl_timer_at: int | None = None
        self._ttl = self.settings.message_ttl_ms
        self.quorum = self.settings.queue_type == "quorum"
        self._limit = self.settings.delivery_limit if self.quorum else None
        self._over_limit = 1 if self.quorum and self.settings.overflow == "reject-publish" else 0
        """A 3.10 quorum queue learns it is full only after the write that filled it: with
        ``reject-publish`` it stores one message over ``max-length`` before refusing."""

    # -- arrivals ------------------------------------------------------------------------------

    def enqueue(
        self,
        msg: Message,
        expiration_ms: int | None,
        cause_seq: int,
        exchange: str,
        headers: DeadLetterHeaders | None = None,
        persistent: bool = True,
    ) -> QueuedMessage | None:
        """Add a routed message at the tail; None if ``reject-publish`` refused it."""
        runtime = self.runtime
        now = runtime.kernel.now_ms
        max_length = self.settings.max_length
        overflow = self.settings.overflow
        if max_length is not None and len(self.ready) >= max_length + self._over_limit:
            if overflow != "drop-head":
                refused = runtime.emit(
                    QueueOverflowed,
                    self.name,
                    cause_seq,
                    group=self.name,
                    msg=msg.id,
                    key=msg.key,
                    overflow=overflow,
                )
                if overflow == "reject-publish-dlx":
                    qm = QueuedMessage(msg, 0, None, refused.seq, exchange, headers)
                    self.broker.dead_letter(self, qm, "maxlen", refused.seq, None)
                return None
            head = self.ready.popleft()
            dropped = runtime.emit(
                QueueOverflowed,
                self.name,
                cause_seq,
                group=self.name,
                msg=head.msg.id,
                key=head.msg.key,
                overflow="drop-head",
            )
            self.broker.dead_letter(self, head, "maxlen", dropped.seq, None)
        expires_at = None
        if self._ttl is not None:
            expires_at = now + self._ttl
        if expiration_ms is not None:
            own = now + expiration_ms
            expires_at = own if expires_at is None else min(expires_at, own)
        self._next_position += 1
        qm = QueuedMessage(msg, self._next_position, expires_at, cause_seq, exchange, headers)
        if not persistent and not self.quorum:
            qm.persistent = qm.on_disk = False
        self.ready.append(qm)
        return qm

    # -- consumers -----------------------------------------------------------------------------

    def subscribe(self, channel: Channel) -> None:
        """``basic.consume``: a consumer joins the competition for this queue."""
        self.channels.append(channel)
        self.dispatch()

    def close_channel(self, channel: Channel, cause_seq: int | None) -> None:
        """The channel went away: requeue everything it had not acked, flagged redelivered."""
        if not channel.open:
            return
        channel.open = False
        if channel in self.channels:
            self.channels.remove(channel)
        returned = list(channel.unacked.values())
        channel.unacked.clear()
        if returned:
            self._requeue(returned, "channel closed", channel.name, cause_seq)
        self.dispatch()

    def dispatch(self) -> None:
        """Push ready messages to consumers with prefetch room, taking turns."""
        ready = self.ready
        channels = self.channels
        if not ready or not channels or not self.available:
            self._arm_ttl()
            return
        runtime = self.runtime
        now = runtime.kernel.now_ms
        send = runtime.network.send
        batchable = not runtime.network.faulty and runtime.network.latency_ms > 0
        n = len(channels)
        while ready:
            head = ready[0]
            if head.expires_at is not None and head.expires_at <= now:
                self._expire(ready.popleft())
                continue
            channel = None
            for i in range(n):
                candidate = channels[(self._rr + i) % n]
                if candidate.has_room():
                    channel = candidate
                    self._rr = (self._rr + i + 1) % n
                    break
            if channel is None:
                break
            ready.popleft()
            channel.next_tag += 1
            tag = channel.next_tag
            if not channel.auto_ack:
                channel.unacked[tag] = head
            delivery = (tag, head, head.redelivered)
            if channel.batch is not None and channel.batch_at == now:
                # Deliveries to one channel in the same millisecond travel together.
                channel.batch.append(delivery)
                continue
            batch = [delivery]
            if batchable:
                channel.batch = batch
                channel.batch_at = now
            send(
                channel.node,
                channel.name,
                "deliver",
                head.msg.id,
                channel.consumer.on_deliveries,
                (channel, batch),
                cause_seq=head.cause_seq,
            )
        self._arm_ttl()

    def close_channels(self, cause_seq: int | None, *, cancel: bool) -> None:
        """Its node went down (or out of reach): every channel closes, unacked back in place.

        With ``cancel`` the consumers are told (``basic.cancel``) and consume
        again once the queue is back; a consumer whose own connection died
        learns that from its connection instead.
        """
        for channel in list(self.channels):
            self.close_channel(channel, cause_seq)
            if cancel:
                channel.consumer.cancelled(channel)

    def held(self) -> int:
        """Messages it holds: ready and delivered but not acked (what the memory alarm counts)."""
        return len(self.ready) + sum(len(c.unacked) for c in self.channels)

    def lose_memory(self, cause_seq: int | None) -> None:
        """Its node restarted: only what was on disk, in a durable queue, is still here."""
        lost = [qm for qm in self.ready if not (self.durable and qm.on_disk)]
        if not lost:
            return
        kept = [qm for qm in self.ready if self.durable and qm.on_disk]
        self.ready.clear()
        self.ready.extend(kept)
        if self.durable:
            why = "a transient message (delivery_mode 1) lives in memory only"
        else:
            why = "the queue was not durable: it did not survive the restart, nor its messages"
        runtime = self.runtime
        for qm in lost:
            reason = why
            if qm.persistent and self.durable:
                reason = "persistent, but its disk write had not finished"
            runtime.emit(
                MessageLostOnRestart,
                self.name,
                cause_seq,
                group=self.name,
                msg=qm.msg.id,
                key=qm.msg.key,
                reason=reason,
            )

    # -- settling deliveries -------------------------------------------------------------------

    def ack(self, channel: Channel, tag: int, multiple: bool, cause_seq: int | None) -> None:
        """``basic.ack``: forget the delivery (or every one up to ``tag``)."""
        if not channel.open:
            return  # the channel is gone; its deliveries were requeued already
        unacked = channel.unacked
        tags = [t for t in unacked if t <= tag] if multiple else [tag] if tag in unacked else []
        if not tags:
            return
        last = unacked[tags[-1]]
        for t in tags:
            del unacked[t]
        runtime = self.runtime
        runtime.record(
            DeliveryAcked(
                seq=runtime.next_seq,
                at=runtime.kernel.now_ms,
                component=self.name,
                cause_seq=cause_seq,
                group=self.name,
                consumer=channel.name,
                msg=last.msg.id,
                delivery_tag=tags[-1],
                multiple=multiple,
                count=len(tags),
            )
        )
        self.dispatch()

    def nack(self, channel: Channel, tag: int, requeue: bool, cause_seq: int | None) -> None:
        """``basic.nack``/``basic.reject``: requeue it, or dead-letter (or drop) it."""
        if not channel.open:
            return
        qm = channel.unacked.pop(tag, None)
        if qm is None:
            return
        if requeue:
            self._requeue([qm], "nack", channel.name, cause_seq)
        else:
            self.broker.dead_letter(self, qm, "rejected", cause_seq, channel.name)
        self.dispatch()

    def _requeue(
        self, returned: list[QueuedMessage], reason: str, consumer: str, cause_seq: int | None
    ) -> None:
        """Put messages back: at their original positions, or a quorum queue's nack at the tail.

        A classic queue requeues in place, whatever the reason. A quorum queue
        puts a message returned by a closed channel back in place too, but one
        nacked with ``requeue=true`` is appended again, behind everything ready.
        """
        back: list[QueuedMessage] = []
        for qm in returned:
            qm.returns += 1
            qm.redelivered = True
            if self._limit is not None and qm.returns > self._limit:
                self.broker.dead_letter(self, qm, "delivery_limit", cause_seq, consumer)
                continue
            back.append(qm)
        if not back:
            return
        if self.quorum and reason == "nack":
            for qm in back:
                self._next_position += 1
                qm.position = self._next_position
                self.ready.append(qm)
                self._requeued(qm, reason, len(self.ready) - 1, cause_seq)
            return
        back.sort()
        ready = self.ready
        if len(back) == 1:
            qm = back[0]
            i = 0
            for other in ready:
                if other.position > qm.position:
                    break
                i += 1
            ready.insert(i, qm)
            positions = {id(qm): i}
        else:
            merged = list(heapq.merge(back, ready))
            ready.clear()
            ready.extend(merged)
            positions = {id(m): i for i, m in enumerate(merged)}
        for qm in back:
            self._requeued(qm, reason, positions[id(qm)], cause_seq)

    def _requeued(self, qm: QueuedMessage, reason: str, position: int, cause: int | None) -> None:
        rec = self.runtime.emit(
            Requeued,
            self.name,
            cause,
            group=self.name,
            msg=qm.msg.id,
            reason=reason,
            position=position,
        )
        qm.cause_seq = rec.seq

    # -- expiry --------------------------------------------------------------------------------

    def _expire(self, qm: QueuedMessage) -> None:
        expired = self.runtime.emit(
            MessageExpired,
            self.name,
            qm.cause_seq,
            group=self.name,
            msg=qm.msg.id,
            key=qm.msg.key,
            reason="TTL reached at the head of the queue",
        )
        self.broker.dead_letter(self, qm, "expired", expired.seq, None)

    def _arm_ttl(self) -> None:
        """Expiry happens at the head: wake up when the head's TTL runs out."""
        if not self.ready:
            return
        at = self.ready[0].expires_at
        if at is None or (self._ttl_timer_at is not None and self._ttl_timer_at <= at):
            return
        self._ttl_timer_at = at
        self.runtime.kernel.schedule(at, self._ttl_due)

    def _ttl_due(self, _: object = None) -> None:
        self._ttl_timer_at = None
        now = self.runtime.kernel.now_ms
        ready = self.ready
        while ready and ready[0].expires_at is not None and ready[0].expires_at <= now:
            self._expire(ready.popleft())
        self.dispatch()

    def drop(self, msg: Message, reason: str, consumer: str, cause_seq: int | None) -> None:
        """No DLX: a rejected message is simply gone (recorded as skipped for the checker)."""
        self.runtime.emit(
            Skipped,
            consumer or self.name,
            cause_seq,
            group=self.name,
            consumer=consumer,
            msg=msg.id,
            reason=reason,
        )
