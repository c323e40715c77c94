"""A Kafka-style producer: batches, acks, retries, in-flight requests, idempotence.

``send()`` does not put a record on the wire: it appends it to a *batch* for its
partition in the record accumulator. The sender drains the accumulator into a
produce request — one batch per partition — whenever fewer than
``max_in_flight`` requests are awaiting an answer, so under load batches fill
up by themselves (``linger.ms=0``, Kafka 3.x's default).

``acks=0`` does not wait: the records count as sent the moment they leave
(``SentUnacknowledged``), even if the network loses them. Otherwise no answer within
``request_timeout_ms`` means "send the batch again" — and if only the *answer*
was lost, the broker now has the records twice. With ``max_in_flight > 1`` a
later batch can overtake the retried one, so records of one key land out of
order in their partition.

An idempotent producer (the default since Kafka 3.0) numbers the records of
each partition. The broker appends a batch only if its first sequence number
is the next one expected, answers a repeat with the original offsets, and
refuses a gap (``OUT_OF_ORDER_SEQUENCE``) so the producer resends in order: no
duplicates, no reordering.
"""

from __future__ import annotations

from collections import deque
from collections.abc import Sequence
from typing import TYPE_CHECKING

from simulator.kernel import Timer
from simulator.messages import Message
from simulator.models.log.partitioner import Partitioner
from simulator.scenario import Producer as ProducerSpec
from simulator.trace import (
    Acked,
    Appended,
    Produced,
    ProduceDeduplicated,
    ProduceFailed,
    ProduceRetried,
    SentUnacknowledged,
)

if TYPE_CHECKING:
    from simulator.models.log.broker import LogBroker
    from simulator.runtime import Runtime

__all__ = ["Batch", "BatchResult", "ProduceRequest", "Producer"]

BATCH_RECORDS = 500
"""Records per batch at most (Kafka bounds batches by ``batch.size`` bytes, 16 KiB)."""


class Batch:
    """Records for one partition that travel, succeed and fail together."""

    __slots__ = ("attempt", "base_seq", "causes", "first_sent_ms", "msgs", "partition")

    def __init__(self, partition: int) -> None:
        self.partition = partition
        self.msgs: list[Message] = []
        self.causes: list[int] = []
        """Per record, what led to this attempt: its Produced record, or ProduceRetried."""
        self.base_seq: int | None = None
        self.attempt = 1
        self.first_sent_ms = -1


class ProduceRequest:
    """One request on the wire: at most one batch per partition."""

    __slots__ = ("answered", "batches", "deadline_ms", "producer", "producer_id")

    def __init__(self, producer: Producer, batches: list[Batch]) -> None:
        self.producer = producer
        self.producer_id = producer.producer_id
        self.batches = batches
        self.deadline_ms = 0
        self.answered = False


BatchResult = tuple[Batch, str, Sequence[Appended | ProduceDeduplicated]]
"""(batch, outcome, per record the trace record that placed it); outcome is ``appended``
(its ``Appended`` records), ``duplicate`` (``ProduceDeduplicated``: the original offsets)
or ``out_of_order`` (then the list is empty). The ack cites each record and its offset."""


class Producer:
    """A producer client writing the workload's messages to one topic."""

    def __init__(self, runtime: Runtime, broker: LogBroker, spec: ProducerSpec) -> None:
        self.runtime = runtime
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
        self._accumulator: dict[int, deque[Batch]] = {}
        self._ready = 0
        """Batches waiting in the accumulator."""
        self._in_flight: deque[ProduceRequest] = deque()
        self._in_flight_count = 0
        self._timer: Timer | None = None
        """The request-timeout timer, armed while a request awaits its answer."""
        # Read once per message: kept at hand rather than looked up through the runtime.
        self._records = runtime.records
        self._record = runtime.record
        self._kernel = runtime.kernel
        self._choose = self.partitioner.choose
        self._use_key = spec.use_key
        self._max_in_flight = spec.max_in_flight

    # -- the application's side ------------------------------------------------------------

    def send(self, msg: Message) -> None:
        """The application hands over a message (scheduled by the workload)."""
        if self.crashed:
            return
        records = self._records
        seq = len(records)
        name = self.name
        self._record(
            Produced(
                seq=seq,
                at=self._kernel.now_ms,
                component=name,
                producer=name,
                msg=msg.id,
                key=msg.key,
                key_seq=msg.key_seq,
                topic=self.topic,
            )
        )
        partition = self._choose(msg.key if self._use_key else None)
        queue = self._accumulator.get(partition)
        if queue is None:
            queue = self._accumulator[partition] = deque()
        if not queue or len(queue[-1].msgs) >= BATCH_RECORDS or queue[-1].attempt > 1:
            queue.append(Batch(partition))
            self._ready += 1
        batch = queue[-1]
        batch.msgs.append(msg)
        batch.causes.append(seq)
        if self._in_flight_count < self._max_in_flight:
            self._drain()

    def _drain(self) -> None:
        """Sender loop: turn waiting batches into requests while in-flight room remains."""
        while self._ready and self._in_flight_count < self.spec.max_in_flight:
            batches: list[Batch] = []
            for queue in self._accumulator.values():
                if queue:
                    batches.append(queue.popleft())
            self._ready -= len(batches)
            now = self.runtime.kernel.now_ms
            for batch in batches:
                if batch.base_seq is None and self.spec.idempotent:
                    base = self._next_seq.get(batch.partition, 0)
                    batch.base_seq = base
                    self._next_seq[batch.partition] = base + len(batch.msgs)
                if batch.first_sent_ms < 0:
                    batch.first_sent_ms = now
            self._in_flight_count += 1
            self._transmit(ProduceRequest(self, batches))

    def _transmit(self, request: ProduceRequest) -> None:
        runtime = self.runtime
        batches = request.batches
        network = runtime.network
        network.send(
            self.name,
            "broker",
            "produce",
            [m.id for b in batches for m in b.msgs] if network.faulty else None,
            self.broker.on_produce,
            request,
            cause_seq=batches[0].causes[0],
        )
        if self.spec.acks == 0:
            # Fire and forget: the send "succeeds" as soon as the request leaves.
            request.answered = True
            self._in_flight_count -= 1
            for batch in batches:
                self._sent_unacknowledged(batch)
            return
        request.deadline_ms = runtime.kernel.now_ms + self.spec.request_timeout_ms
        self._in_flight.append(request)
        if self._timer is None:
            self._timer = runtime.kernel.timer(request.deadline_ms, self._check_timeouts)

    # -- the broker's answers --------------------------------------------------------------------

    def on_response(self, answer: tuple[ProduceRequest, list[BatchResult]]) -> None:
        """The broker's answer to a request, one result per batch."""
        request, results = answer
        if self.crashed or request.answered or request.producer_id != self.producer_id:
            return  # too late: the request already timed out (or the process is gone)
        request.answered = True
        self._in_flight_count -= 1
        if self._in_flight_count == 0 and self._timer is not None:
            # Nothing left to time out: call the timer off rather than keep the run alive.
            self._timer.cancel()
            self._timer = None
            self._in_flight.clear()
        for batch, outcome, placed in results:
            if outcome == "out_of_order":
                self._retry(batch, "out of order sequence")
            else:
                self._acknowledge(batch, placed)
        self._drain()

    def _acknowledge(self, batch: Batch, placed: Sequence[Appended | ProduceDeduplicated]) -> None:
        runtime = self.runtime
        now = runtime.kernel.now_ms
        name = self.name
        topic = self.topic
        partition = batch.partition
        seq = runtime.next_seq
        acked: list[Acked] = []
        for msg, place in zip(batch.msgs, placed, strict=True):
            acked.append(
                Acked(
                    seq=seq,
                    at=now,
                    component=name,
                    cause_seq=place.seq,
                    producer=name,
                    msg=msg.id,
                    topic=topic,
                    partition=partition,
                    offset=place.offset,
                )
            )
            seq += 1
        runtime.record_all(acked)

    def _sent_unacknowledged(self, batch: Batch) -> None:
        """``acks=0``: the send "succeeds" as it leaves; the producer never learns more."""
        runtime = self.runtime
        for i, msg in enumerate(batch.msgs):
            runtime.record(
                SentUnacknowledged(
                    seq=runtime.next_seq,
                    at=runtime.kernel.now_ms,
                    component=self.name,
                    cause_seq=batch.causes[i],
                    producer=self.name,
                    msg=msg.id,
                    topic=self.topic,
                )
            )

    # -- timeouts and retries ----------------------------------------------------------

    def _check_timeouts(self, _: object = None) -> None:
        self._timer = None
        now = self.runtime.kernel.now_ms
        in_flight = self._in_flight
        while in_flight and (in_flight[0].answered or in_flight[0].deadline_ms <= now):
            request = in_flight.popleft()
            if not request.answered and not self.crashed:
                request.answered = True
                self._in_flight_count -= 1
                for batch in request.batches:
                    self._retry(batch, "request timed out")
        if in_flight and not self.crashed:
            self._timer = self.runtime.kernel.timer(in_flight[0].deadline_ms, self._check_timeouts)
        self._drain()

    def _retry(self, batch: Batch, reason: str) -> None:
        runtime = self.runtime
        spec = self.spec
        now = runtime.kernel.now_ms
        out_of_time = now + spec.retry_backoff_ms - batch.first_sent_ms > spec.delivery_timeout_ms
        if batch.attempt > spec.retries or out_of_time:
            why = "delivery timeout" if out_of_time else "retries exhausted"
            for i, msg in enumerate(batch.msgs):
                runtime.emit(
                    ProduceFailed,
                    self.name,
                    batch.causes[i],
                    producer=self.name,
                    msg=msg.id,
                    reason=f"{reason}; {why}",
                )
            return
        batch.attempt += 1
        for i, msg in enumerate(batch.msgs):
            dropped = runtime.network.last_drop(msg.id)
            retried = runtime.emit(
                ProduceRetried,
                self.name,
                dropped if dropped is not None else batch.causes[i],
                producer=self.name,
                msg=msg.id,
                attempt=batch.attempt,
                backoff_ms=spec.retry_backoff_ms,
                reason=reason,
            )
            batch.causes[i] = retried.seq
        runtime.kernel.after(spec.retry_backoff_ms, self._requeue, (self.producer_id, batch))

    def _requeue(self, arg: tuple[str, Batch]) -> None:
        """After the backoff a failed batch goes back to the head of its partition's queue."""
        producer_id, batch = arg
        if self.crashed or producer_id != self.producer_id:
            return
        self._accumulator.setdefault(batch.partition, deque()).appendleft(batch)
        self._ready += 1
        self._drain()

    # -- faults ------------------------------------------------------------------------

    def crash(self) -> None:
        """Everything not yet acknowledged is gone with the process."""
        self.crashed = True
        if self._timer is not None:
            self._timer.cancel()
            self._timer = None
        self._in_flight.clear()
        self._accumulator.clear()
        self._ready = 0
        self._in_flight_count = 0

    def restart(self) -> None:
        """A new incarnation: a new producer id, sequence numbers from zero."""
        self.crashed = False
        self.epoch += 1
        self.producer_id = f"{self.name}#{self.epoch}"
        self._next_seq.clear()
