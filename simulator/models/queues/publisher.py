"""A queue-broker client that publishes and waits for the broker's answer.

RabbitMQ's *publisher confirms* and SQS's *SendMessage response* work alike: the
client sends, the broker takes responsibility and answers, and only then does
the message count as sent (the common ``Acked`` record). No answer within
``request_timeout_ms`` means "send it again" — and if only the *answer* was
lost, the broker now holds the message twice: neither RabbitMQ nor a standard
SQS queue recognises a republished message (an SQS FIFO queue does, by its
deduplication id). A refused publish (a full queue with ``reject-publish``)
fails without a retry. Without confirms (``publisher_confirms = false``, or
``acks = 0``) a message counts as sent the moment it leaves
(``SentUnacknowledged``): nobody will ever say whether it arrived.

A publisher may also have to *hold* its sends: while the broker says its
connection is blocked (``connection.blocked``, a memory alarm: back-pressure),
or while its node is down and it has not reconnected yet. Held publishes go
out, in order, once it is unblocked or connected again; the unconfirmed
publishes of a lost connection are republished on the new one, since no
confirm can arrive on a closed channel.

Both queue models share this client; the Kafka-style producer has its own,
because partitions, sequence numbers and idempotence are Kafka's alone.
"""

from __future__ import annotations

from collections import deque
from collections.abc import Callable
from typing import TYPE_CHECKING

from simulator.messages import Message
from simulator.scenario import Producer as ProducerSpec
from simulator.trace import (
    Acked,
    Produced,
    ProduceFailed,
    ProduceRetried,
    PublisherBlocked,
    PublisherUnblocked,
    SentUnacknowledged,
)

if TYPE_CHECKING:
    from simulator.kernel import Timer
    from simulator.runtime import Runtime

__all__ = ["PublishRequest", "Publisher"]


class PublishRequest:
    """One message on its way to the broker; a republish reuses it with ``attempt + 1``."""

    __slots__ = (
        "attempt",
        "cause_seq",
        "conn",
        "deadline_ms",
        "done",
        "epoch",
        "first_sent_ms",
        "msg",
        "publisher",
        "sent_to",
        "waiting",
    )

    def __init__(self, publisher: Publisher, msg: Message, cause_seq: int) -> None:
        self.publisher = publisher
        self.epoch = publisher.epoch
        self.msg = msg
        self.attempt = 1
        self.cause_seq = cause_seq
        """The record that led to this attempt: Produced, or ProduceRetried for a republish."""
        self.first_sent_ms = 0
        self.deadline_ms = 0
        self.done = False
        self.waiting = False
        """Sent and not yet answered or timed out."""
        self.conn = publisher.conn
        """The connection it was last sent on: a confirm on an older one never arrives."""
        self.sent_to = publisher.node
        """The node it was last sent to (``broker`` on one node)."""


class Publisher:
    """Publishes one producer's messages to ``topic`` through ``arrive`` on the broker."""

    def __init__(
        self,
        runtime: Runtime,
        spec: ProducerSpec,
        *,
        confirms: bool,
        arrive: Callable[[PublishRequest], None],
    ) -> None:
        self.runtime = runtime
        self.spec = spec
        self.name = spec.name
        self.topic = spec.topic
        self.confirms = confirms
        self._arrive = arrive
        self.epoch = 1
        self.crashed = False
        self._in_flight: deque[PublishRequest] = deque()
        self._pending = 0
        """Requests waiting for an answer; the timeout timer is called off when none is left."""
        self._timer: Timer | None = None
        self._confirm_batch: list[tuple[PublishRequest, int]] | None = None
        self._confirm_batch_at = -1
        self.node = "broker"
        """The node its connection goes to (``broker`` on one node; a cluster's node name)."""
        self.conn = 1
        """Which connection it is on: counted up each time it reconnects."""
        self.connected = True
        self.blocked = False
        """The broker blocked its connection (``connection.blocked``): it holds its sends."""
        self._holding = False
        """Blocked or disconnected: new sends and republishes wait in ``held``."""
        self.held: deque[PublishRequest] = deque()
        self._blocked_since = 0

    # -- the application's side ----------------------------------------------------------------

    def send(self, msg: Message) -> None:
        """The application publishes ``msg`` (scheduled by the workload)."""
        if self.crashed:
            return
        runtime = self.runtime
        produced = runtime.record(
            Produced(
                seq=runtime.next_seq,
                at=runtime.kernel.now_ms,
                component=self.name,
                producer=self.name,
                msg=msg.id,
                key=msg.key,
                key_seq=msg.key_seq,
                topic=self.topic,
            )
        )
        request = PublishRequest(self, msg, produced.seq)
        request.first_sent_ms = runtime.kernel.now_ms
        self._transmit(request)

    def _transmit(self, request: PublishRequest) -> None:
        if self.crashed or request.done or request.epoch != self.epoch:
            return
        if self._holding:
            self.held.append(request)  # sent once unblocked or connected again
            return
        runtime = self.runtime
        request.conn = self.conn
        request.sent_to = self.node
        runtime.network.send(
            self.name,
            self.node,
            "publish",
            request.msg.id,
            self._arrive,
            request,
            cause_seq=request.cause_seq,
        )
        if not self.confirms:
            # Fire and forget: it counts as sent as soon as it leaves, unconfirmed.
            self._settled(request)
            runtime.record(
                SentUnacknowledged(
                    seq=runtime.next_seq,
                    at=runtime.kernel.now_ms,
                    component=self.name,
                    cause_seq=request.cause_seq,
                    producer=self.name,
                    msg=request.msg.id,
                    topic=self.topic,
                )
            )
            return
        request.deadline_ms = runtime.kernel.now_ms + self.spec.request_timeout_ms
        self._in_flight.append(request)
        request.waiting = True
        self._pending += 1
        if self._timer is None:
            self._timer = runtime.kernel.timer(request.deadline_ms, self._check_timeouts)

    # -- the broker's answers ------------------------------------------------------------------

    def confirm(self, request: PublishRequest, cause_seq: int) -> None:
        """Broker side: send the confirm (or SendMessage response) back over the network."""
        if not self.confirms:
            return
        runtime = self.runtime
        network = runtime.network
        now = runtime.kernel.now_ms
        batch = self._confirm_batch
        if batch is not None and self._confirm_batch_at == now:
            # Confirms for publishes that arrived in the same millisecond travel together,
            # as RabbitMQ's ``basic.ack(multiple=true)`` does.
            batch.append((request, cause_seq))
            return
        batch = [(request, cause_seq)]
        if not network.faulty and network.latency_ms > 0:
            self._confirm_batch = batch
            self._confirm_batch_at = now
        network.send(self.node, self.name, "confirm", request.msg.id, self._on_confirms, batch)

    def refuse(self, request: PublishRequest, reason: str, cause_seq: int) -> None:
        """Broker side: a negative confirm (``basic.nack``): the message was not taken."""
        if not self.confirms:
            return
        self.runtime.network.send(
            self.node,
            self.name,
            "nack",
            request.msg.id,
            self._on_refused,
            (request, reason, cause_seq),
        )

    def _on_confirms(self, batch: list[tuple[PublishRequest, int]]) -> None:
        if self._confirm_batch is batch:
            self._confirm_batch = None
        if self.crashed:
            return
        epoch = self.epoch
        conn = self.conn
        for request, cause_seq in batch:
            if not request.done and request.epoch == epoch and request.conn == conn:
                self._acked(request, cause_seq)

    def _on_refused(self, answer: tuple[PublishRequest, str, int]) -> None:
        request, reason, cause_seq = answer
        if self.crashed or request.done or request.epoch != self.epoch:
            return
        if request.conn != self.conn:
            return  # answered on a connection that is gone: it never arrives
        self._settled(request)
        self.runtime.emit(
            ProduceFailed,
            self.name,
            cause_seq,
            producer=self.name,
            msg=request.msg.id,
            reason=reason,
        )

    def _settled(self, request: PublishRequest) -> None:
        request.done = True
        self._stop_waiting(request)
        # Answered requests at the head have nothing left to time out: let them go now rather
        # than at the next timeout check (the deque would keep a request timeout's worth of
        # every message). The check pops the same ones, so it behaves the same.
        in_flight = self._in_flight
        while in_flight and in_flight[0].done:
            in_flight.popleft()

    def _stop_waiting(self, request: PublishRequest) -> None:
        if not request.waiting:
            return
        request.waiting = False
        self._pending -= 1
        if self._pending == 0 and self._timer is not None:
            self._timer.cancel()
            self._timer = None

    def _acked(self, request: PublishRequest, cause_seq: int) -> None:
        self._settled(request)
        runtime = self.runtime
        runtime.record(
            Acked(
                seq=runtime.next_seq,
                at=runtime.kernel.now_ms,
                component=self.name,
                cause_seq=cause_seq,
                producer=self.name,
                msg=request.msg.id,
                topic=self.topic,
                partition=None,
                offset=None,
            )
        )

    # -- timeouts and republishing -------------------------------------------------------------

    def _check_timeouts(self, _: object = None) -> None:
        self._timer = None
        now = self.runtime.kernel.now_ms
        in_flight = self._in_flight
        while in_flight and (in_flight[0].done or in_flight[0].deadline_ms <= now):
            request = in_flight.popleft()
            if not request.done and not self.crashed:
                self._retry(request)
        if in_flight and not self.crashed and self._timer is None:
            self._timer = self.runtime.kernel.timer(in_flight[0].deadline_ms, self._check_timeouts)

    def _retry(self, request: PublishRequest) -> None:
        runtime = self.runtime
        spec = self.spec
        now = runtime.kernel.now_ms
        out_of_time = now + spec.retry_backoff_ms - request.first_sent_ms > spec.delivery_timeout_ms
        request.waiting = False
        self._pending -= 1
        if request.attempt > spec.retries or out_of_time:
            request.done = True
            why = "delivery timeout" if out_of_time else "retries exhausted"
            runtime.emit(
                ProduceFailed,
                self.name,
                request.cause_seq,
                producer=self.name,
                msg=request.msg.id,
                reason=f"no confirm in time; {why}",
            )
            return
        request.attempt += 1
        dropped = runtime.network.last_drop(request.msg.id)
        retried = runtime.emit(
            ProduceRetried,
            self.name,
            dropped if dropped is not None else request.cause_seq,
            producer=self.name,
            msg=request.msg.id,
            attempt=request.attempt,
            backoff_ms=spec.retry_backoff_ms,
        )
        request.cause_seq = retried.seq
        runtime.kernel.after(spec.retry_backoff_ms, self._transmit, request)

    # -- faults --------------------------------------------------------------------------------

    def crash(self) -> None:
        """Everything not yet confirmed is gone with the process."""
        self.crashed = True
        for request in self._in_flight:
            request.done = True
        self._in_flight.clear()
        for request in self.held:
            request.done = True
        self.held.clear()
        self._pending = 0
        if self._timer is not None:
            self._timer.cancel()
            self._timer = None

    def restart(self) -> None:
        self.crashed = False
        self.epoch += 1
        self.blocked = False  # a new connection starts unblocked
        self._holding = not self.connected

    # -- back-pressure and lost connections ------------------------------------------------------

    def block(self, reason: str, cause_seq: int | None) -> None:
        """``connection.blocked`` arrived: hold every send until ``unblock``."""
        if self.blocked or self.crashed:
            return
        self.blocked = True
        self._holding = True
        self._blocked_since = self.runtime.kernel.now_ms
        self.runtime.emit(PublisherBlocked, self.name, cause_seq, producer=self.name, reason=reason)

    def unblock(self, cause_seq: int | None) -> None:
        """``connection.unblocked`` arrived: send what was held, in order."""
        if not self.blocked:
            return
        self.blocked = False
        runtime = self.runtime
        runtime.emit(
            PublisherUnblocked,
            self.name,
            cause_seq,
            producer=self.name,
            held=len(self.held),
            blocked_ms=runtime.kernel.now_ms - self._blocked_since,
        )
        self._release()

    def disconnect(self, cause_seq: int | None, reconnect_ms: int) -> None:
        """Its node went down: the connection is gone, and no confirm will come on it.

        What was sent and not confirmed is republished on the next connection
        (held until then), as a publisher that tracks its outstanding confirms does.
        """
        if not self.connected or self.crashed:
            return
        self.connected = False
        self.conn += 1  # whatever the old connection still carries never arrives
        self._holding = True
        runtime = self.runtime
        waiting = [r for r in self._in_flight if not r.done and r.waiting]
        self._in_flight.clear()
        self._pending = 0
        if self._timer is not None:
            self._timer.cancel()
            self._timer = None
        for request in waiting:
            request.waiting = False
            request.attempt += 1
            retried = runtime.emit(
                ProduceRetried,
                self.name,
                cause_seq,
                producer=self.name,
                msg=request.msg.id,
                attempt=request.attempt,
                backoff_ms=reconnect_ms,
                reason=f"connection to {self.node} lost before the confirm",
            )
            request.cause_seq = retried.seq
            self.held.append(request)

    def reconnect(self, node: str) -> None:
        """Connected again, to ``node``: send what was held."""
        self.node = node
        self.connected = True
        self._release()

    def _release(self) -> None:
        self._holding = self.blocked or not self.connected
        if self._holding or self.crashed:
            return
        held = list(self.held)
        self.held.clear()
        for request in held:
            self._transmit(request)
