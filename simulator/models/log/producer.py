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
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from msgspec.structs import replace

from simulator.kernel import Timer
from simulator.messages import Message
from simulator.models.log.partitioner import Partitioner
from simulator.scenario import Producer as ProducerSpec
from simulator.trace import (
    Acked,
    MetadataRefreshed,
    Produced,
    ProduceFailed,
    ProduceRefused,
    ProduceRetried,
    SentUnacknowledged,
)

if TYPE_CHECKING:
    from simulator.models.log.broker import LogBroker
    from simulator.models.log.cluster import ReplicatedLogBroker
    from simulator.runtime import Runtime

__all__ = [
    "NOT_ENOUGH_REPLICAS",
    "NOT_ENOUGH_REPLICAS_AFTER_APPEND",
    "NOT_LEADER_OR_FOLLOWER",
    "NOT_PLACED",
    "Batch",
    "BatchResult",
    "ClusterProducer",
    "ProduceRequest",
    "Producer",
]

BATCH_RECORDS = 500
"""Records per batch at most (Kafka bounds batches by ``batch.size`` bytes, 16 KiB)."""


class Batch:
    """Records for one partition that travel, succeed and fail together."""

    __slots__ = ("attempt", "base_seq", "causes", "first_sent_ms", "msgs", "partition", "pid")

    def __init__(self, partition: int) -> None:
        self.partition = partition
        self.msgs: list[Message] = []
        self.causes: list[int] = []
        """Per record, what led to this attempt: its Produced record, or ProduceRetried."""
        self.base_seq: int | None = None
        self.pid = ""
        """Idempotence: the producer id (and epoch) its sequence numbers belong to."""
        self.attempt = 1
        self.first_sent_ms = -1


class ProduceRequest:
    """One request on the wire: at most one batch per partition."""

    __slots__ = ("answered", "batches", "deadline_ms", "destination", "producer", "producer_id")

    def __init__(self, producer: Producer, batches: list[Batch]) -> None:
        self.destination = "broker"
        """The broker it was sent to (in a cluster, the leader the producer believes in)."""
        self.producer = producer
        self.producer_id = producer.producer_id
        self.batches = batches
        self.deadline_ms = 0
        self.answered = False


NOT_LEADER_OR_FOLLOWER = "NOT_LEADER_OR_FOLLOWER"
"""The broker asked does not lead the partition: refresh metadata and send to the leader."""
NOT_ENOUGH_REPLICAS = "NOT_ENOUGH_REPLICAS"
"""``acks=all`` and fewer ISR members than ``min.insync.replicas``: nothing was written."""
NOT_ENOUGH_REPLICAS_AFTER_APPEND = "NOT_ENOUGH_REPLICAS_AFTER_APPEND"
"""Written, but the ISR shrank below ``min.insync.replicas`` before it was copied enough."""

BatchResult = tuple[Batch, str, tuple[int, int]]
"""(batch, outcome, (offset, record seq) of its first record); outcome is ``appended``,
``duplicate`` or ``out_of_order`` (then ``NOT_PLACED``) — or, in a cluster, the
broker's error code (``NOT_LEADER_OR_FOLLOWER``, ``NOT_ENOUGH_REPLICAS`` …). The
records of a batch are placed together: record ``i`` is at ``offset + i``, and the
record that placed it (its ``Appended``, or ``ProduceDeduplicated``) has seq ``seq + i``."""

NOT_PLACED = (-1, -1)
"""The placement of a batch the broker did not take."""


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
        self._acked_next: dict[int, int] = {}
        """Partition → the sequence after the last acknowledged one (under the current epoch)."""
        self._bumped: dict[int, int] = {}
        """Partition → how often its epoch was bumped after a batch was given up (KIP-360)."""
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
        self._keyed = self.partitioner.keyed if spec.use_key else None
        """The partitioner's partition of each key seen so far (None: keys are not used)."""
        self._max_in_flight = spec.max_in_flight

    # -- the application's side ------------------------------------------------------------

    def send(self, msg: Message) -> None:
        """The application hands over a message (scheduled by the workload)."""
        if self.crashed:
            return
        seq = len(self._records)
        name = self.name
        key = msg.key
        self._record(
            Produced(
                seq=seq,
                at=self._kernel.now_ms,
                component=name,
                producer=name,
                msg=msg.id,
                key=key,
                key_seq=msg.key_seq,
                topic=self.topic,
            )
        )
        keyed = self._keyed
        if keyed is None:
            partition = self.partitioner.choose(None)
        elif key is None or (known := keyed.get(key)) is None:
            partition = self.partitioner.choose(key)
        else:
            partition = known  # a key seen before: the partitioner's answer, without the call
        queue = self._accumulator.get(partition)
        if not queue:
            if queue is None:
                queue = self._accumulator[partition] = deque()
            batch = Batch(partition)
            queue.append(batch)
            self._ready += 1
        else:
            batch = queue[-1]
            if len(batch.msgs) >= BATCH_RECORDS or batch.attempt > 1:
                batch = Batch(partition)
                queue.append(batch)
                self._ready += 1
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
                if self.spec.idempotent:
                    pid = self._pid(batch.partition) if self._bumped else self.producer_id
                    if batch.base_seq is None or batch.pid != pid:
                        base = self._next_seq.get(batch.partition, 0)
                        batch.base_seq = base
                        batch.pid = pid
                        self._next_seq[batch.partition] = base + len(batch.msgs)
                if batch.first_sent_ms < 0:
                    batch.first_sent_ms = now
            self._in_flight_count += 1
            self._transmit(ProduceRequest(self, batches))

    def _transmit(self, request: ProduceRequest) -> None:
        self._send(request, "broker", self.broker.on_produce, request)

    def _send(
        self, request: ProduceRequest, broker: str, deliver: Callable[[Any], None], arg: object
    ) -> None:
        """Put ``request`` on the wire to ``broker``, and await its answer (unless ``acks=0``)."""
        runtime = self.runtime
        batches = request.batches
        network = runtime.network
        request.destination = broker
        network.send(
            self.name,
            broker,
            "produce",
            # the ids matter only to a network fault that picks messages
            [m.id for b in batches for m in b.msgs] if network.faulty else None,
            deliver,
            arg,
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
        in_flight = self._in_flight
        while in_flight and in_flight[0].answered:
            # Let answered requests go now, not at the next timeout check: under steady
            # load that is request.timeout.ms away, and each holds its batches' messages.
            in_flight.popleft()
        for batch, outcome, placed in results:
            if outcome == "appended" or outcome == "duplicate":
                self._acknowledge(batch, placed)
                if batch.base_seq is not None:
                    p = batch.partition
                    end = batch.base_seq + len(batch.msgs)
                    if end > self._acked_next.get(p, 0) and batch.pid == self._pid(p):
                        self._acked_next[p] = end
            else:
                self._refused(batch, outcome, request)
        self._drain()

    def _refused(self, batch: Batch, outcome: str, request: ProduceRequest) -> None:
        """The broker took none of the batch: a sequence gap (a cluster has more reasons).

        A gap right after the last acknowledged batch means the broker lost what
        it had acknowledged (a new leader without those records): retrying the
        same numbers would wait forever, so the epoch is bumped (KIP-360).
        """
        p = batch.partition
        if batch.base_seq == self._acked_next.get(p, 0) and batch.pid == self._pid(p):
            self._bump_epoch(p)
        self._retry(batch, "out of order sequence")

    def _acknowledge(self, batch: Batch, placed: tuple[int, int]) -> None:
        """One ``Acked`` per record, each citing the record that placed it; booked together."""
        runtime = self.runtime
        now = runtime.kernel.now_ms
        name = self.name
        topic = self.topic
        partition = batch.partition
        offset, cause = placed
        seq = runtime.next_seq
        count = len(batch.msgs)
        # What the acks share is set once, in a template; each is the template with its own.
        template = Acked(
            seq=seq,
            at=now,
            component=name,
            producer=name,
            msg=0,
            topic=topic,
            partition=partition,
            offset=offset,
        )
        runtime.record_all(
            [
                replace(template, seq=seq, cause_seq=cause, msg=msg.id, offset=offset)
                for seq, cause, offset, msg in zip(
                    range(seq, seq + count),
                    range(cause, cause + count),
                    range(offset, offset + count),
                    batch.msgs,
                    strict=True,
                )
            ]
        )

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
            if spec.idempotent:
                self._bump_epoch(batch.partition)
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

    def _pid(self, partition: int) -> str:
        bumps = self._bumped.get(partition, 0)
        return self.producer_id if not bumps else f"{self.producer_id}.{bumps}"

    def _bump_epoch(self, partition: int) -> None:
        """A batch given up leaves a gap in the sequence: start the partition's numbers again.

        Since Kafka 2.5 (KIP-360) an idempotent producer bumps its epoch when a
        batch fails for good, and numbers what it sends next from 0 under the new
        epoch; batches it retries later are numbered again too. Without this, the
        broker would wait for the missing sequence forever.
        """
        self._bumped[partition] = self._bumped.get(partition, 0) + 1
        self._next_seq[partition] = 0
        self._acked_next[partition] = 0

    def _requeue(self, arg: tuple[str, Batch]) -> None:
        """After the backoff a failed batch goes back to the head of its partition's queue."""
        producer_id, batch = arg
        if self.crashed or producer_id != self.producer_id:
            return
        self._accumulator.setdefault(batch.partition, deque()).appendleft(batch)
        self._ready += 1
        self._drain()

    # -- metadata ----------------------------------------------------------------------

    def partitions_changed(self, partitions: int, cause_seq: int | None) -> None:
        """A metadata refresh shows more partitions: keys hash over the new count from now on."""
        self.partitioner = Partitioner(partitions, self.spec.partitioner, self.spec.sticky_batch)
        self._keyed = self.partitioner.keyed if self.spec.use_key else None
        self.runtime.emit(
            MetadataRefreshed,
            self.name,
            cause_seq,
            client=self.name,
            topic=self.topic,
            partition=None,
            leader=None,
            leader_epoch=None,
            partitions=partitions,
            reason="metadata.max.age.ms",
        )

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
        self._acked_next.clear()
        self._bumped.clear()


# -- in a cluster ----------------------------------------------------------------------------


class ClusterProducer(Producer):
    """A producer that sends each partition's batches to that partition's leader.

    It keeps *metadata*: which broker leads each partition, as of its last
    refresh. A request goes to that broker. If the broker's process dies, the
    connection closes: requests on it fail at once and are retried, and nothing
    is sent there again until it is back. A machine that loses power closes
    nothing: its requests time out (``request.timeout.ms``). A broker that no
    longer leads answers ``NOT_LEADER_OR_FOLLOWER``. Each time, the producer
    refreshes its metadata and retries; an idempotent producer's retry still
    carries its sequence numbers, so the new leader drops a repeat.
    ``NOT_ENOUGH_REPLICAS`` is retried too, until ``delivery.timeout.ms``
    gives up. While a partition has no reachable leader (offline, or led by a
    broker the controller has not fenced yet), its batches wait in the
    accumulator until one is elected.

    Simplified: ``max.in.flight.requests.per.connection`` counts requests to all
    brokers together, and a metadata refresh takes no time.
    """

    def __init__(self, runtime: Runtime, broker: LogBroker, spec: ProducerSpec) -> None:
        super().__init__(runtime, broker, spec)
        self.cluster: ReplicatedLogBroker = broker  # type: ignore[assignment]
        self.leaders: dict[int, str | None] = {
            p: self.cluster.leader_of(self.topic, p)[0]
            for p in range(broker.partition_count(self.topic))
        }
        """Partition → the broker this producer believes leads it (its metadata)."""
        self._leaderless: list[Batch] = []
        self._awaiting_leaders = False
        self._closed: dict[str, bool] = {}
        """Brokers whose connection closed (their process died) and that are not back yet."""

    def _leader_for(self, batch: Batch) -> str | None:
        """The broker to send ``batch`` to, or None while there is none to reach."""
        leader = self.leaders.get(batch.partition)
        if leader is None or leader in self._closed:
            reason = "LEADER_NOT_AVAILABLE" if leader is None else "disconnected"
            leader = self._refresh(batch.partition, reason, batch.causes[0])
        return None if leader is None or leader in self._closed else leader

    def _transmit(self, request: ProduceRequest) -> None:
        """One request per leader; batches for a partition without a leader wait."""
        by_leader: dict[str, list[Batch]] = {}
        for batch in request.batches:
            leader = self._leader_for(batch)
            if leader is None:
                self._leaderless.append(batch)
            else:
                by_leader.setdefault(leader, []).append(batch)
        if self._leaderless:
            self._await_leaders()
        if not by_leader:
            self._in_flight_count -= 1
            return
        on_produce = self.cluster.on_produce_at
        for i, (leader, batches) in enumerate(by_leader.items()):
            if i == 0:
                request.batches = batches
                sent = request
            else:
                sent = ProduceRequest(self, batches)
                self._in_flight_count += 1
            self._send(sent, leader, on_produce, (leader, sent))

    def _refused(self, batch: Batch, outcome: str, request: ProduceRequest) -> None:
        if outcome == "out_of_order":
            super()._refused(batch, outcome, request)
            return
        refused = self.runtime.emit(
            ProduceRefused,
            self.name,
            batch.causes[0],
            producer=self.name,
            broker=request.destination,
            topic=self.topic,
            partition=batch.partition,
            msgs=[m.id for m in batch.msgs],
            error=outcome,
        )
        for i in range(len(batch.causes)):
            batch.causes[i] = refused.seq
        if outcome == NOT_LEADER_OR_FOLLOWER:
            self._refresh(batch.partition, outcome, refused.seq)
        self._retry(batch, outcome)

    def _retry(self, batch: Batch, reason: str) -> None:
        if reason in ("request timed out", "disconnected"):
            # A failed connection makes Kafka's client ask for fresh metadata.
            self._refresh(batch.partition, reason, batch.causes[0])
        super()._retry(batch, reason)

    def connection_closed(self, broker: str) -> None:
        """``broker``'s process died: what was in flight to it fails now, and is retried."""
        self._closed[broker] = True
        if self.crashed:
            return
        for request in list(self._in_flight):
            if not request.answered and request.destination == broker:
                request.answered = True
                self._in_flight_count -= 1
                for batch in request.batches:
                    self._retry(batch, "disconnected")
        self._drain()

    def connection_restored(self, broker: str) -> None:
        """``broker`` is back: it can be connected to again."""
        self._closed.pop(broker, None)

    def _refresh(self, partition: int, reason: str, cause_seq: int | None) -> str | None:
        """Ask the cluster who leads ``partition`` now; record it if that changed."""
        leader, epoch = self.cluster.leader_of(self.topic, partition)
        if self.leaders.get(partition, "") != leader:
            self.leaders[partition] = leader
            self.runtime.emit(
                MetadataRefreshed,
                self.name,
                cause_seq,
                client=self.name,
                topic=self.topic,
                partition=partition,
                leader=leader,
                leader_epoch=epoch,
                partitions=self.broker.partition_count(self.topic),
                reason=reason,
            )
        return leader

    def _await_leaders(self) -> None:
        if not self._awaiting_leaders:
            self._awaiting_leaders = True
            self.runtime.kernel.after(self.spec.retry_backoff_ms, self._check_leaders)

    def _check_leaders(self, _: object = None) -> None:
        """Batches without a leader: send once one is elected, or fail at the delivery timeout."""
        self._awaiting_leaders = False
        if self.crashed:
            return
        now = self.runtime.kernel.now_ms
        waiting, self._leaderless = self._leaderless, []
        ready: list[Batch] = []
        for batch in waiting:
            leader = self._leader_for(batch)
            if leader is not None:
                ready.append(batch)
            elif now - batch.first_sent_ms > self.spec.delivery_timeout_ms:
                for i, msg in enumerate(batch.msgs):
                    self.runtime.emit(
                        ProduceFailed,
                        self.name,
                        batch.causes[i],
                        producer=self.name,
                        msg=msg.id,
                        reason="no leader for the partition; delivery timeout",
                    )
            else:
                self._leaderless.append(batch)
        for batch in reversed(ready):  # back to the head of their queues, in their order
            self._accumulator.setdefault(batch.partition, deque()).appendleft(batch)
            self._ready += 1
        if self._leaderless:
            self._await_leaders()
        self._drain()

    def partitions_changed(self, partitions: int, cause_seq: int | None) -> None:
        for p in range(len(self.leaders), partitions):
            self.leaders[p] = self.cluster.leader_of(self.topic, p)[0]
        super().partitions_changed(partitions, cause_seq)

    def crash(self) -> None:
        super().crash()
        self._leaderless = []
