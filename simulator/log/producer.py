"""A Kafka-style producer: acks, retries, in-flight requests and idempotence.

The producer sends each record to its partition and waits for the broker's
acknowledgement. ``acks=0`` does not wait at all: the record counts as sent the
moment it leaves, even if the network loses it. Otherwise, no acknowledgement
within ``request_timeout_ms`` means "send it again" — and if only the *ack* was
lost, the broker now has the record twice. With ``max_in_flight > 1`` another
request can overtake the retried one, so records of one key can land out of
order in their partition.

An idempotent producer (the default since Kafka 3.0) stamps each record with a
producer id and a per-partition sequence number. The broker appends sequence
``n`` only after ``n - 1``, returns the original offset for a repeat, and
rejects a gap with ``OUT_OF_ORDER_SEQUENCE`` so the producer resends in order:
no duplicates, no reordering.
"""

from __future__ import annotations

from collections import deque
from typing import TYPE_CHECKING

from simulator.log.partitioner import Partitioner
from simulator.messages import Message
from simulator.scenario import Producer as ProducerSpec
from simulator.trace import Acked, ProduceFailed, Produced, ProduceRetried

if TYPE_CHECKING:
    from simulator.log.broker import LogBroker
    from simulator.simulation import Simulation

__all__ = ["ProduceRequest", "Producer"]


class ProduceRequest:
    """One record on its way to the broker; retries reuse it with ``attempt + 1``."""

    __slots__ = (
        "attempt",
        "cause_seq",
        "deadline_ms",
        "done",
        "first_sent_ms",
        "msg",
        "partition",
        "producer",
        "producer_id",
        "producer_seq",
    )

    def __init__(
        self, producer: Producer, msg: Message, partition: int, producer_seq: int | None, cause_seq: int
    ) -> None:
        self.producer = producer
        self.producer_id = producer.producer_id
        self.msg = msg
        self.partition = partition
        self.producer_seq = producer_seq
        self.attempt = 1
        self.cause_seq = cause_seq
        """The record that led to this attempt: Produced, or ProduceRetried for a retry."""
        self.first_sent_ms = 0
        self.deadline_ms = 0
        self.done = False


class Producer:
    """A producer client writing the workload's messages to one topic."""

    def __init__(self, sim: Simulation, broker: LogBroker, spec: ProducerSpec) -> None:
        self.sim = sim
        self.broker = broker
        self.spec = spec
        self.name = spec.name
        self.topic = spec.topic
        self.partitioner = Partitioner(
            broker.partition_count(spec.topic), spec.partitioner, spec.sticky_batch
        )
        self.epoch = 1
        self.producer_id = f"{self.name}#1"
        self.crashed = False
        self._next_seq: dict[int, int] = {}
        self._queue: deque[ProduceRequest] = deque()
        self._in_flight: deque[ProduceRequest] = deque()
        self._in_flight_count = 0
        self._timer_armed = False

    # -- the application's side -------------------------------------------------

    def send(self, msg: Message) -> None:
        """The application hands over a message (scheduled by the workload)."""
        if self.crashed:
            return
        sim = self.sim
        produced = sim.emit(
            Produced,
            self.name,
            None,
            producer=self.name,
            msg=msg.id,
            key=msg.key,
            key_seq=msg.key_seq,
            topic=self.topic,
        )
        key = msg.key if self.spec.use_key else None
        partition = self.partitioner.choose(key)
        producer_seq = None
        if self.spec.idempotent:
            producer_seq = self._next_seq.get(partition, 0)
            self._next_seq[partition] = producer_seq + 1
        self._queue.append(ProduceRequest(self, msg, partition, producer_seq, produced.seq))
        self._dispatch()

    def _dispatch(self) -> None:
        while self._queue and self._in_flight_count < self.spec.max_in_flight:
            request = self._queue.popleft()
            self._in_flight_count += 1
            request.first_sent_ms = self.sim.kernel.now_ms
            self._transmit(request)

    def _transmit(self, request: ProduceRequest) -> None:
        if self.crashed or request.done:
            return
        sim = self.sim
        sim.network.send(
            self.name,
            "broker",
            "produce",
            request.msg.id,
            self.broker.on_produce,
            request,
            cause_seq=request.cause_seq,
        )
        if self.spec.acks == 0:
            # Fire and forget: the send "succeeds" as soon as the request leaves.
            self._complete(request, None, None, request.cause_seq)
            return
        request.deadline_ms = sim.kernel.now_ms + self.spec.request_timeout_ms
        self._in_flight.append(request)
        if not self._timer_armed:
            self._timer_armed = True
            sim.kernel.schedule(request.deadline_ms, self._check_timeouts)

    # -- the broker's answers ------------------------------------------------------

    def on_ack(self, answer: tuple[ProduceRequest, int, int]) -> None:
        """The broker appended (or recognised) the record at ``offset``."""
        request, offset, cause_seq = answer
        if self.crashed or request.done or request.producer_id != self.producer_id:
            return
        self._complete(request, request.partition, offset, cause_seq)

    def on_out_of_order(self, request: ProduceRequest) -> None:
        """The broker refused a sequence gap: an earlier record has not arrived yet."""
        if self.crashed or request.done or request.producer_id != self.producer_id:
            return
        self._retry(request, "out of order sequence")

    def _complete(
        self, request: ProduceRequest, partition: int | None, offset: int | None, cause_seq: int
    ) -> None:
        request.done = True
        self._in_flight_count -= 1
        self.sim.emit(
            Acked,
            self.name,
            cause_seq,
            producer=self.name,
            msg=request.msg.id,
            topic=self.topic,
            partition=partition,
            offset=offset,
        )
        if self._queue:
            self._dispatch()

    # -- timeouts and retries ---------------------------------------------------------

    def _check_timeouts(self, _: object = None) -> None:
        self._timer_armed = False
        now = self.sim.kernel.now_ms
        in_flight = self._in_flight
        while in_flight and (in_flight[0].done or in_flight[0].deadline_ms <= now):
            request = in_flight.popleft()
            if not request.done and not self.crashed:
                self._retry(request, "request timed out")
        if in_flight and not self.crashed:
            self._timer_armed = True
            self.sim.kernel.schedule(in_flight[0].deadline_ms, self._check_timeouts)

    def _retry(self, request: ProduceRequest, reason: str) -> None:
        sim = self.sim
        spec = self.spec
        now = sim.kernel.now_ms
        out_of_time = now + spec.retry_backoff_ms - request.first_sent_ms > spec.delivery_timeout_ms
        if request.attempt > spec.retries or out_of_time:
            request.done = True
            self._in_flight_count -= 1
            why = "retries exhausted" if not out_of_time else "delivery timeout"
            sim.emit(
                ProduceFailed,
                self.name,
                request.cause_seq,
                producer=self.name,
                msg=request.msg.id,
                reason=f"{reason}; {why}",
            )
            self._dispatch()
            return
        request.attempt += 1
        dropped = sim.network.last_drop(request.msg.id)
        retried = sim.emit(
            ProduceRetried,
            self.name,
            dropped if dropped is not None else request.cause_seq,
            producer=self.name,
            msg=request.msg.id,
            attempt=request.attempt,
            backoff_ms=spec.retry_backoff_ms,
        )
        request.cause_seq = retried.seq
        sim.kernel.after(spec.retry_backoff_ms, self._transmit, request)

    # -- faults ------------------------------------------------------------------------

    def crash(self) -> None:
        """Everything not yet acknowledged is gone with the process."""
        self.crashed = True
        for request in (*self._in_flight, *self._queue):
            request.done = True
        self._in_flight.clear()
        self._queue.clear()
        self._in_flight_count = 0

    def restart(self) -> None:
        """A new incarnation: a new producer id, sequence numbers from zero."""
        self.crashed = False
        self.epoch += 1
        self.producer_id = f"{self.name}#{self.epoch}"
        self._next_seq.clear()
