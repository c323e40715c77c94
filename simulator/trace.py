"""The trace: every observable change in a simulation, as one record.

The trace is the only interface between the deterministic core and any view.
Each record is a frozen msgspec Struct in one tagged union (the ``kind`` field
names its class, in the past tense: ``Delivered``, ``Committed`` ...). Every
record carries ``seq`` (its index in the trace), ``at`` (virtual milliseconds),
the ``component`` it happened in and ``cause_seq``, the record that led to it —
so a view can walk back from a duplicate to the crash that caused it.

A trace's digest is the SHA-256 of its JSON Lines export, byte for byte: run
``sha256sum`` over a file written by ``evsim play --export-trace`` and you get
the ``trace_digest`` that ``evsim play --json`` prints.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable, Iterator, Sequence
from typing import TYPE_CHECKING, Any, Union, overload

import msgspec

if TYPE_CHECKING:
    from simulator.spill import SpillFile

__all__ = [
    "FAULT_TYPES",
    "FINDING_TYPES",
    "RECORD_TYPES",
    "USER_CODE_TYPES",
    "DeadLetterHeaders",
    "Record",
    "Trace",
    "TraceRecord",
    "XDeath",
    "cause_walk",
    "decode_lines",
    "decode_record",
    "encode_lines",
    "encode_record",
]


class Record(msgspec.Struct, frozen=True, kw_only=True, tag_field="kind", tag=True, gc=False):
    """Fields every trace record has, and the struct options every record shares.

    A subclass inherits the tag (its own class name under ``kind``), the tag
    field and ``gc=False`` (records hold no cycles, so the garbage collector
    need not track millions of them). It states two options again, because
    they apply per class: ``kw_only=True`` makes its own fields keyword-only,
    which keeps these four fields first in every encoded record (the trace
    digest depends on that order), and ``frozen=True`` tells a type checker
    what msgspec enforces anyway — a record, once written, never changes.
    """

    seq: int
    """Index of the record in its trace, from 0."""
    at: int
    """Virtual time in milliseconds."""
    component: str
    """Where it happened: ``checkout`` (a producer), ``orders/2`` (a partition) ..."""
    cause_seq: int | None = None
    """The record that led to this one, if any."""


# -- the run --------------------------------------------------------------------


class ScenarioStarted(Record, frozen=True, kw_only=True):
    """Header: which scenario, seed and broker model, and the defaults in force."""

    scenario: str
    title: str
    seed: int
    broker: str
    follows: str
    """The real system and version the broker model follows."""
    settings: dict[str, str]
    """Every setting that shapes behaviour, defaults included, as shown to students."""


class RunFinished(Record, frozen=True, kw_only=True):
    """The run ended: ``quiescent`` (no work left), ``until`` (time limit) or ``max_records``."""

    reason: str


# -- producing ------------------------------------------------------------------


class Produced(Record, frozen=True, kw_only=True):
    """An application handed a message to its producer."""

    producer: str
    msg: int
    key: str | None
    key_seq: int
    """The message's place in the order its key was produced: 1, 2, 3 ..."""
    topic: str


class Appended(Record, frozen=True, kw_only=True):
    """A partition appended a record at ``offset``."""

    topic: str
    partition: int
    offset: int
    msg: int
    key: str | None
    producer: str
    producer_seq: int | None = None
    """The idempotent producer's per-partition sequence number, if it has one."""
    txn: str | None = None
    tombstone: bool = False
    """A null value: on a compacted topic, a delete marker for its key."""


class ProduceDeduplicated(Record, frozen=True, kw_only=True):
    """An idempotent producer's repeat was recognised by its sequence number and not appended."""

    topic: str
    partition: int
    msg: int
    producer: str
    producer_seq: int
    offset: int
    """Offset of the original append, returned to the producer in the ack."""


class Acked(Record, frozen=True, kw_only=True):
    """The producer received the broker's acknowledgement: the message counts as sent."""

    producer: str
    msg: int
    topic: str
    partition: int | None
    offset: int | None
    """None on the queue brokers, which have no offsets."""


class SentUnacknowledged(Record, frozen=True, kw_only=True):
    """A producer that asks for no answer let the message go: it counts as sent, unconfirmed.

    Kafka's ``acks=0`` and a RabbitMQ publish without publisher confirms: the
    send "succeeds" the moment the request leaves, whether or not the broker
    ever gets it, so nobody can tell the producer that it vanished.
    """

    producer: str
    msg: int
    topic: str


class ProduceRetried(Record, frozen=True, kw_only=True):
    """No acknowledgement in time: the producer will send again after a backoff."""

    producer: str
    msg: int
    attempt: int
    backoff_ms: int
    reason: str = ""
    """Why: ``request timed out`` (no answer) or ``out of order sequence`` (broker refused)."""


class ProduceFailed(Record, frozen=True, kw_only=True):
    """The producer gave up on a message (retries or delivery timeout exhausted)."""

    producer: str
    msg: int
    reason: str


# -- consuming ------------------------------------------------------------------


class Delivered(Record, frozen=True, kw_only=True):
    """A consumer received a message (a Kafka poll, a RabbitMQ delivery, an SQS receive)."""

    group: str
    consumer: str
    msg: int
    key: str | None
    topic: str
    partition: int | None
    offset: int | None
    redelivered: bool
    """True when this group has been given the same log position or message before."""
    delivery_count: int | None = None
    """A quorum queue's ``x-delivery-count`` header: how often the message came back before
    (nacked with requeue, or returned by a closed channel); None on its first delivery and
    wherever the broker sends no such header (classic queues, the log, SQS)."""


class Processed(Record, frozen=True, kw_only=True):
    """A consumer's handler finished a message successfully."""

    group: str
    consumer: str
    msg: int
    key: str | None
    key_seq: int
    topic: str
    partition: int | None
    offset: int | None
    txn: str | None = None
    """Inside a transaction the processing counts only once the transaction commits."""


class ProcessingFailed(Record, frozen=True, kw_only=True):
    """A handler raised: ``transient`` errors may pass on retry, ``poison`` never does."""

    group: str
    consumer: str
    msg: int
    error: str
    attempt: int


class RetryScheduled(Record, frozen=True, kw_only=True):
    """A failed message will be tried again after ``delay_ms`` (in place, or via a retry topic)."""

    group: str
    consumer: str
    msg: int
    attempt: int
    delay_ms: int
    via: str | None
    """The retry topic the message was republished to, or None for a blocking retry."""


class XDeath(msgspec.Struct, frozen=True, kw_only=True, gc=False):
    """One entry of RabbitMQ's ``x-death`` header: a queue the message died in, for one reason."""

    count: int
    """How often it died in this queue for this reason (a dead-letter cycle counts up)."""
    reason: str
    """``rejected``, ``expired``, ``maxlen`` or ``delivery_limit``."""
    queue: str
    exchange: str
    """The exchange it had been published to before it died there."""
    routing_keys: list[str]


class DeadLetterHeaders(msgspec.Struct, frozen=True, kw_only=True, gc=False):
    """The headers a RabbitMQ dead letter carries: ``x-death`` and ``x-first-death-*``."""

    x_death: list[XDeath]
    """One entry per (queue, reason), the latest death first, as RabbitMQ keeps them."""
    first_death_reason: str
    first_death_queue: str
    first_death_exchange: str
    """``x-first-death-*``: where it died the first time (set once, never changed)."""


class DeadLettered(Record, frozen=True, kw_only=True):
    """A message was moved to the dead-letter destination and leaves normal processing."""

    group: str
    msg: int
    key: str | None
    destination: str
    reason: str
    headers: DeadLetterHeaders | None = None
    """RabbitMQ: the dead-letter headers the message carries from here on (None elsewhere)."""


class Skipped(Record, frozen=True, kw_only=True):
    """A failed message was given up with nowhere to go: it is lost to this group."""

    group: str
    consumer: str
    msg: int
    reason: str


class Committed(Record, frozen=True, kw_only=True):
    """A group's committed offset for a partition moved: ``offset`` is the next one to read."""

    group: str
    consumer: str
    topic: str
    partition: int
    offset: int


class CommitFailed(Record, frozen=True, kw_only=True):
    """A commit was refused (the member lost its partitions) or lost on the way."""

    group: str
    consumer: str
    reason: str


# -- groups ---------------------------------------------------------------------


class MemberJoined(Record, frozen=True, kw_only=True):
    group: str
    consumer: str


class MemberLeft(Record, frozen=True, kw_only=True):
    """A member left the group: ``left``, ``session_timeout``, ``max_poll_interval`` …"""

    group: str
    consumer: str
    reason: str


class Rebalanced(Record, frozen=True, kw_only=True):
    """The group coordinator handed out a new assignment (a new generation)."""

    group: str
    generation: int
    assignor: str
    assignment: dict[str, list[str]]
    """Member name → partitions it owns, as ``topic/partition``."""


class PositionReset(Record, frozen=True, kw_only=True):
    """Where a consumer starts reading a partition it was just given, and why."""

    group: str
    consumer: str
    topic: str
    partition: int
    offset: int
    reason: str
    """``committed``, ``earliest``, ``latest``, ``out_of_range`` (fell off the log start) or
    ``truncated`` (past the end of a log a new leader cut short: back to its end)."""


# -- the log itself ---------------------------------------------------------------


class LogTruncated(Record, frozen=True, kw_only=True):
    """Retention deleted the oldest records; the log now starts at ``log_start_offset``."""

    topic: str
    partition: int
    log_start_offset: int
    removed: int


class LogCompacted(Record, frozen=True, kw_only=True):
    """Compaction removed records superseded by a later value for the same key."""

    topic: str
    partition: int
    removed: int
    tombstones_removed: int
    msgs: list[int] = []
    """The messages whose records were removed."""


class TransactionCommitted(Record, frozen=True, kw_only=True):
    """Outputs and consumed offsets of one transaction became visible together."""

    txn: str
    group: str
    outputs: int


class TransactionAborted(Record, frozen=True, kw_only=True):
    """A transaction was rolled back: its outputs stay in the log, marked aborted."""

    txn: str
    group: str
    reason: str


# -- the log in a cluster: replicas, leaders, durability, scaling out -------------
#
# Written only when a scenario asks for a cluster (``[log] brokers``), adds
# partitions or autoscales a group: a one-broker lesson's trace never holds them.


class LeaderElected(Record, frozen=True, kw_only=True):
    """The controller made ``leader`` the leader of a partition, in a new leader epoch.

    ``unclean``: the new leader was not in the ISR (``unclean.leader.election.enable``),
    so records the old leader had committed may be missing from its log.
    """

    topic: str
    partition: int
    leader: str
    leader_epoch: int
    replicas: list[str]
    """Every broker that holds a replica, in assignment order (the first is preferred)."""
    isr: list[str]
    unclean: bool
    log_end_offset: int
    """The new leader's log end offset: what clients see of the partition now."""
    high_watermark: int
    reason: str


class PartitionOffline(Record, frozen=True, kw_only=True):
    """No replica may lead: every ISR member is down (and unclean election is off)."""

    topic: str
    partition: int
    isr: list[str]
    reason: str


class ReplicaFetched(Record, frozen=True, kw_only=True):
    """A follower copied records from its leader (a fetch across the network)."""

    broker: str
    leader: str
    topic: str
    partition: int
    from_offset: int
    records: int
    log_end_offset: int
    """The follower's log end offset after the copy."""


class IsrShrunk(Record, frozen=True, kw_only=True):
    """Replicas left the in-sync set: too far behind for too long, or their broker is gone."""

    topic: str
    partition: int
    removed: list[str]
    isr: list[str]
    reason: str


class IsrExpanded(Record, frozen=True, kw_only=True):
    """A follower caught up with the high watermark and is in sync again."""

    topic: str
    partition: int
    added: list[str]
    isr: list[str]


class HighWatermarkAdvanced(Record, frozen=True, kw_only=True):
    """Every ISR member now has the records below ``high_watermark``: consumers may read them."""

    topic: str
    partition: int
    leader: str
    high_watermark: int


class ProduceRefused(Record, frozen=True, kw_only=True):
    """A broker refused a producer's batch with a retriable error the producer will retry.

    ``NOT_LEADER_OR_FOLLOWER``: that broker does not lead the partition (stale metadata);
    ``NOT_ENOUGH_REPLICAS``: fewer ISR members than ``min.insync.replicas``, nothing
    written; ``NOT_ENOUGH_REPLICAS_AFTER_APPEND``: written, but the ISR shrank below the
    minimum before the record was replicated enough.
    """

    producer: str
    broker: str
    topic: str
    partition: int
    msgs: list[int]
    error: str


class MetadataRefreshed(Record, frozen=True, kw_only=True):
    """A client learned where a partition's leader is now, or how many partitions a topic has."""

    client: str
    topic: str
    partition: int | None
    leader: str | None
    """None: the partition has no leader right now (offline)."""
    leader_epoch: int | None
    partitions: int
    reason: str


class LogTruncatedToEpoch(Record, frozen=True, kw_only=True):
    """A replica cut its log back to where it agrees with the leader's epochs.

    A returning leader may hold records no other replica copied: the new leader's
    log diverges there (a later leader epoch), and they are removed for good.
    """

    broker: str
    topic: str
    partition: int
    leader_epoch: int
    """The leader's epoch the replica now agrees with."""
    offset: int
    """The replica's log end offset after truncation."""
    removed: int
    msgs: list[int]


class PowerLost(Record, frozen=True, kw_only=True):
    """Several machines lost power at once: their processes and page caches are gone."""

    targets: list[str]


class PageCacheLost(Record, frozen=True, kw_only=True):
    """A replica's records that were still in the page cache, never written to disk, are gone.

    Kafka acknowledges once a record is in the page cache (``flush.messages`` is
    unlimited by default); a crash keeps them, a power loss does not.
    """

    broker: str
    topic: str
    partition: int
    offset: int
    """The log end offset that survived (what reached the disk)."""
    removed: int
    msgs: list[int]


class PartitionsAdded(Record, frozen=True, kw_only=True):
    """A topic got more partitions: keyed records now hash to different ones."""

    topic: str
    partitions: int
    added: int


class ScaledOut(Record, frozen=True, kw_only=True):
    """The autoscaler started more consumers for a group, because its lag was high."""

    group: str
    consumers: int
    lag: int
    added: list[str]


class ScaledIn(Record, frozen=True, kw_only=True):
    """The autoscaler stopped consumers of a group, because its lag stayed low."""

    group: str
    consumers: int
    lag: int
    removed: list[str]


# -- faults -------------------------------------------------------------------------


class Crashed(Record, frozen=True, kw_only=True):
    """A component stopped abruptly (no graceful leave, no final commit)."""

    point: str | None
    """The named point, e.g. ``after_process_before_commit``; None for a timed crash."""


class Restarted(Record, frozen=True, kw_only=True):
    """A crashed component came back."""


class NetworkDropped(Record, frozen=True, kw_only=True):
    """The network lost a request or response between two components."""

    link: str
    what: str
    msgs: list[int]
    """The messages it carried (a produce request carries a batch)."""


class NetworkDuplicated(Record, frozen=True, kw_only=True):
    """The network delivered a request twice."""

    link: str
    what: str
    msgs: list[int]


class NetworkPartitioned(Record, frozen=True, kw_only=True):
    """Two components can no longer reach each other until ``until_ms``."""

    between: list[str]
    until_ms: int


class NetworkHealed(Record, frozen=True, kw_only=True):
    between: list[str]


# -- checker findings -----------------------------------------------------------------


class DuplicateDetected(Record, frozen=True, kw_only=True):
    """A group processed a message it had already processed (``first_seq``)."""

    group: str
    msg: int
    key: str | None
    first_seq: int


class OrderViolated(Record, frozen=True, kw_only=True):
    """A group processed a key's message after a later one of the same key (``after_seq``).

    Order is the producer's: two producers writing one key have no order between them.
    """

    group: str
    msg: int
    producer: str
    key: str
    key_seq: int
    after_key_seq: int
    after_seq: int


class MessageLost(Record, frozen=True, kw_only=True):
    """An acknowledged message that this group never processed by the end of the run."""

    group: str
    msg: int
    key: str | None
    acked_seq: int
    reason: str


class MessageDropped(Record, frozen=True, kw_only=True):
    """A message sent unacknowledged (``SentUnacknowledged``) that this group never processed.

    Not ``MessageLost``: nobody ever told the producer it had arrived. It is the
    silent loss that fire-and-forget accepts.
    """

    group: str
    msg: int
    key: str | None
    sent_seq: int
    reason: str


# -- queue brokers (RabbitMQ-style and SQS-style) -------------------------------------


class Routed(Record, frozen=True, kw_only=True):
    """A RabbitMQ exchange routed a published message to the queues whose bindings match."""

    exchange: str
    msg: int
    key: str | None
    queues: list[str]
    """Empty: no binding matched and the message was dropped (``mandatory`` is not set)."""


class Enqueued(Record, frozen=True, kw_only=True):
    """An SQS queue stored a message (``copy``: an extra copy of at-least-once delivery)."""

    group: str
    msg: int
    key: str | None
    copy: bool
    visible_in_ms: int
    """Hidden this long first: ``DelaySeconds``, or a late standard-queue message."""


class DeliveryAcked(Record, frozen=True, kw_only=True):
    """A RabbitMQ consumer acknowledged deliveries up to ``delivery_tag`` (``basic.ack``)."""

    group: str
    consumer: str
    msg: int
    delivery_tag: int
    multiple: bool
    count: int
    """How many unacked deliveries this ack settled."""


class Nacked(Record, frozen=True, kw_only=True):
    """A RabbitMQ consumer rejected a delivery: ``requeue`` puts it back, else DLX or drop."""

    group: str
    consumer: str
    msg: int
    delivery_tag: int
    requeue: bool


class Requeued(Record, frozen=True, kw_only=True):
    """A message went back into its queue at ``position`` (0 = head), flagged redelivered."""

    group: str
    msg: int
    reason: str
    """``nack`` or ``channel closed`` (its consumer's channel went away with it unacked)."""
    position: int


class MessageExpired(Record, frozen=True, kw_only=True):
    """A message outlived its TTL or retention period and left the queue."""

    group: str
    msg: int
    key: str | None
    reason: str


class QueueOverflowed(Record, frozen=True, kw_only=True):
    """A queue at ``max_length`` dropped its oldest message or refused a new one."""

    group: str
    msg: int
    key: str | None
    overflow: str
    """``drop-head`` (``msg`` is the dropped head) or ``reject-publish`` (``msg`` was refused)."""


class VisibilityExpired(Record, frozen=True, kw_only=True):
    """A received SQS message was not deleted in time and is visible again."""

    group: str
    msg: int
    receive_count: int


class VisibilityChanged(Record, frozen=True, kw_only=True):
    """``ChangeMessageVisibility``: the message stays hidden ``timeout_ms`` from now."""

    group: str
    consumer: str
    msg: int
    timeout_ms: int


class VisibilityChangeFailed(Record, frozen=True, kw_only=True):
    """``ChangeMessageVisibility`` refused: the receipt handle is no longer the latest."""

    group: str
    consumer: str
    msg: int
    reason: str


class MessageDeleted(Record, frozen=True, kw_only=True):
    """``DeleteMessage`` with a valid receipt handle: the message leaves the queue for good."""

    group: str
    consumer: str
    msg: int
    receive_count: int


class DeleteFailed(Record, frozen=True, kw_only=True):
    """``DeleteMessage`` refused: the message was received again since (a stale receipt handle)."""

    group: str
    consumer: str
    msg: int
    reason: str


class DedupDropped(Record, frozen=True, kw_only=True):
    """A FIFO queue accepted a send but dropped it: its dedup id was seen within 5 minutes."""

    group: str
    msg: int
    dedup_id: str
    first_msg: int
    """The message that first used that deduplication id."""


class Redriven(Record, frozen=True, kw_only=True):
    """A DLQ redrive moved a message back to its source queue (receive count starts over)."""

    group: str
    msg: int
    source: str


class LambdaInvoked(Record, frozen=True, kw_only=True):
    """A Lambda-style event source mapping invoked the function with one batch of messages."""

    group: str
    consumer: str
    msgs: list[int]


class BatchItemFailed(Record, frozen=True, kw_only=True):
    """The function reported this message of its batch as failed; it returns to the queue."""

    group: str
    consumer: str
    msg: int


# -- durability, clusters and back-pressure (RabbitMQ-style; Lambda scaling) ------------


class MessageLostOnRestart(Record, frozen=True, kw_only=True):
    """A node came back without a message it held: it was only ever in memory.

    A transient message (``delivery_mode`` 1), every message of a non-durable
    queue, and a persistent one whose disk write had not finished when the
    node died. ``cause_seq`` is the node's ``Crashed`` record.
    """

    group: str
    msg: int
    key: str | None
    reason: str


class PublishDropped(Record, frozen=True, kw_only=True):
    """A publish routed to a classic queue whose node is down: nothing received it.

    RabbitMQ treats the down queue as no destination at all: the message is
    unroutable there, so with ``mandatory`` it would come back (``basic.return``)
    and without it it is dropped — and the publisher's confirm is still a
    ``basic.ack`` (observed on a three-node RabbitMQ 3.10.8 cluster). A confirm
    here means "the broker took responsibility", not "a queue has it".
    """

    group: str
    msg: int
    key: str | None
    reason: str


class QueueUnavailable(Record, frozen=True, kw_only=True):
    """A queue can serve nobody for now: its node is down, or it has no leader.

    A classic queue lives on one node and waits for it to return; a quorum
    queue waits for an election, which needs a majority of its members.
    """

    group: str
    reason: str


class QueueAvailable(Record, frozen=True, kw_only=True):
    """A queue serves again: its node came back, or its members elected a leader."""

    group: str
    node: str
    """The node that serves it now (a quorum queue's leader)."""


class QuorumLeaderElected(Record, frozen=True, kw_only=True):
    """A quorum queue's members elected ``leader`` for ``term`` with a majority of ``votes``.

    Raft: a member whose leader is gone asks the others for their votes; each
    votes for at most one candidate per term and only for one whose log is at
    least as complete as its own, so the winner holds every confirmed message.
    """

    group: str
    leader: str
    term: int
    votes: list[str]
    """The members that voted for it (itself included): more than half of them."""
    members: list[str]


class QuorumWriteCommitted(Record, frozen=True, kw_only=True):
    """A majority of a quorum queue's members have written a message to disk: it is safe.

    Only now does the queue hand it to consumers, and only now may the
    publisher's confirm go out.
    """

    group: str
    msg: int
    index: int
    """Its place in the queue's Raft log."""
    replicas: list[str]
    """The members that had written it when it committed (the leader first)."""


class ClientReconnected(Record, frozen=True, kw_only=True):
    """A client whose node went down connected to another node and carries on there."""

    client: str
    node: str


class PublisherBlocked(Record, frozen=True, kw_only=True):
    """The broker sent ``connection.blocked``: this publisher holds its sends from now on.

    RabbitMQ stops reading from publishing connections while a resource alarm
    (memory or disk) is on; a client that knows holds its publishes instead of
    piling them into the socket. Nothing is refused, nothing is lost: it waits.
    """

    producer: str
    reason: str


class PublisherUnblocked(Record, frozen=True, kw_only=True):
    """``connection.unblocked``: the alarm cleared, the held sends go out."""

    producer: str
    held: int
    """Publishes it had been holding, sent now."""
    blocked_ms: int
    """How long it was blocked."""


class LambdaScaled(Record, frozen=True, kw_only=True):
    """A Lambda event source mapping changed how many batches it processes at once."""

    group: str
    consumer: str
    concurrency: int
    reason: str


class LambdaThrottled(Record, frozen=True, kw_only=True):
    """An invocation was refused (``TooManyRequestsException``): the function is at its limit.

    The batch is not processed and not deleted: its messages come back when
    their visibility timeout runs out, with one more receive counted.
    """

    group: str
    consumer: str
    msgs: list[int]
    running: int
    """Invocations of the function running at that moment."""
    reserved: int
    """Its reserved concurrency: no more may run at once."""


# -- stream processing (simulator/streams) ----------------------------------------------


class RecordTimestamped(Record, frozen=True, kw_only=True):
    """A stream processor took in a record: when its event happened, read now (on arrival).

    ``event_time_ms`` is the time the processor places it by — the event's own
    time, or the moment it arrived for a processor on processing time — so a view
    can draw each record on an event-time axis in the order it arrived.
    """

    group: str
    consumer: str
    msg: int
    key: str
    event_time_ms: int


class WatermarkAdvanced(Record, frozen=True, kw_only=True):
    """A processor's event-time clock moved: no record older than ``watermark_ms`` is expected."""

    group: str
    consumer: str
    watermark_ms: int
    max_event_ms: int
    """The highest event time seen; watermark = it minus the out-of-orderness bound."""


class WindowOpened(Record, frozen=True, kw_only=True):
    """The first record of a key landed in a window ``[start_ms, end_ms)``; state was created."""

    group: str
    key: str
    start_ms: int
    end_ms: int | None
    msg: int
    """The record that opened it."""


class WindowEmitted(Record, frozen=True, kw_only=True):
    """The watermark passed the window's end: its result was emitted (``out``: the output)."""

    group: str
    key: str
    start_ms: int
    end_ms: int | None
    value: int
    records: int
    out: int | None
    """Message id of the result written to the output topic, if there is one."""


class WindowUpdated(Record, frozen=True, kw_only=True):
    """A record changed an already emitted result (a late record within allowed lateness)."""

    group: str
    key: str
    start_ms: int
    end_ms: int | None
    value: int
    records: int
    msg: int
    out: int | None


class WindowClosed(Record, frozen=True, kw_only=True):
    """Allowed lateness ran out: the window's state was purged; later records are too late."""

    group: str
    key: str
    start_ms: int
    end_ms: int | None
    value: int


class LateRecordDropped(Record, frozen=True, kw_only=True):
    """A record for a window that had already closed; it was dropped or sent to a side output."""

    group: str
    msg: int
    key: str
    event_time_ms: int
    watermark_ms: int
    window_end_ms: int
    side_output: str | None
    """The late-records topic it was written to, or None when it was simply dropped."""


class StateRestored(Record, frozen=True, kw_only=True):
    """A processor rebuilt its state store by reading its changelog topic from the start."""

    group: str
    consumer: str
    changelog: str
    entries: int
    """Changelog records read (what a restore costs)."""
    windows: int
    """Windows in the rebuilt store."""
    watermark_ms: int | None


# -- sagas (simulator/sagas) -----------------------------------------------------------------


class SagaStarted(Record, frozen=True, kw_only=True):
    """A new order started a saga (``mode``: orchestration or choreography)."""

    group: str
    saga: str
    mode: str
    msg: int


class SagaStepCompleted(Record, frozen=True, kw_only=True):
    """A service did its step of a saga (charged the card, reserved stock …)."""

    group: str
    saga: str
    step: str
    msg: int
    repeat: bool = False
    """True when a non-idempotent service did the same step again (a double charge)."""


class SagaStepFailed(Record, frozen=True, kw_only=True):
    """A service refused its step (card declined, out of stock): the saga must compensate."""

    group: str
    saga: str
    step: str
    reason: str


class SagaCompensated(Record, frozen=True, kw_only=True):
    """A completed step was undone by its compensating action (refund, release stock …)."""

    group: str
    saga: str
    step: str


class SagaTimedOut(Record, frozen=True, kw_only=True):
    """No reply for a step within the timeout (virtual time): the manager gives up on it."""

    group: str
    saga: str
    step: str
    waited_ms: int


class SagaCompleted(Record, frozen=True, kw_only=True):
    """The saga ended: ``completed``, ``compensated`` or ``timed-out`` (then compensated)."""

    group: str
    saga: str
    outcome: str


class SagaDuplicateIgnored(Record, frozen=True, kw_only=True):
    """An idempotent handler recognised a message it had already acted on and did nothing."""

    group: str
    saga: str
    what: str
    msg: int


# -- event store and CQRS (simulator/cqrs) ----------------------------------------------------


class AggregateLoaded(Record, frozen=True, kw_only=True):
    """A handler rebuilt a stream's state: snapshot (if any) plus ``replayed`` events."""

    handler: str
    command: str
    stream: str
    version: int
    replayed: int
    snapshot_version: int
    """Version of the snapshot the fold started from; 0: it replayed from the first event."""


class UpcastApplied(Record, frozen=True, kw_only=True):
    """Loading read events written under an older schema, lifted through the upcasters."""

    handler: str
    stream: str
    events: int
    types: list[str]
    """``account.deposited v1→v2`` …"""


class SnapshotDiscarded(Record, frozen=True, kw_only=True):
    """A snapshot was not trusted (another state schema, or it no longer decodes)."""

    handler: str
    stream: str
    version: int
    reason: str


class EventStored(Record, frozen=True, kw_only=True):
    """An event was appended to its stream at ``version`` and global ``position``."""

    handler: str
    command: str
    stream: str
    version: int
    position: int
    type: str
    visible_at_ms: int
    """When its transaction commits and catch-up readers can see it."""


class VersionConflicted(Record, frozen=True, kw_only=True):
    """An append expecting ``expected`` found the stream at ``actual``: nothing was written."""

    handler: str
    command: str
    stream: str
    expected: int
    actual: int
    attempt: int
    retry_in_ms: int | None
    """When the handler reloads and decides again; None when it gives up."""


class CommandRejected(Record, frozen=True, kw_only=True):
    """The decider refused a command against the current state (or the handler was down)."""

    handler: str
    command: str
    stream: str
    reason: str


class UpdateLost(Record, frozen=True, kw_only=True):
    """Finding: an append that ignored the expected version landed on events it never saw."""

    handler: str
    command: str
    stream: str
    loaded_version: int
    actual_version: int


class SnapshotTaken(Record, frozen=True, kw_only=True):
    handler: str
    stream: str
    version: int


class EventPublished(Record, frozen=True, kw_only=True):
    """A stored event was handed to the broker producer (``via``: dual-write or outbox)."""

    via: str
    position: int
    stream: str
    msg: int
    attempt: int


class EventUnpublished(Record, frozen=True, kw_only=True):
    """Finding: a stored event never reached the topic (the dual write's crash window)."""

    position: int
    stream: str


class Projected(Record, frozen=True, kw_only=True):
    """A projector applied an event to its read model: ``row`` is now ``value``."""

    projector: str
    position: int
    stream: str
    version: int
    type: str
    row: str | None
    value: str | None
    pending: bool = False
    """Atomic projectors: written inside the open transaction, not yet committed."""
    gap_after: int | None = None
    """Idempotent projectors: the last version applied for the stream, when this one is
    not the next (versions in between never arrived, or arrived out of order)."""


class ProjectionSkipped(Record, frozen=True, kw_only=True):
    """A projector did not apply an event: already applied, or older than the row's version."""

    projector: str
    position: int
    stream: str
    version: int
    reason: str


class ReadModelSnapshotted(Record, frozen=True, kw_only=True):
    """A projector saved a copy of its read model with the checkpoint it belongs to."""

    projector: str
    position: int
    """The checkpoint saved with it: a rebuild from this snapshot replays from here."""
    rows: int


class CheckpointSaved(Record, frozen=True, kw_only=True):
    """A projector saved its checkpoint: ``position`` is the next global position to read."""

    projector: str
    position: int
    atomic: bool
    """Saved in the same transaction as the read-model changes."""


class GapWaited(Record, frozen=True, kw_only=True):
    """A catch-up reader stopped at a position that is taken but not yet committed."""

    projector: str
    position: int
    head: int


class GapSkipped(Record, frozen=True, kw_only=True):
    """A catch-up reader moved past a missing position (naive: unaware; high-water: stale)."""

    projector: str
    position: int
    reason: str


class ReadModelQueried(Record, frozen=True, kw_only=True):
    """A query read one row: from a read model (with its lag) or from the event log."""

    source: str
    key: str
    value: str | None
    lag_positions: int
    """Committed events the read model has not applied yet (0 for the event log)."""
    waited_ms: int
    stale: bool
    """The answer differs from the event log's at the moment of the query."""
    as_of_ms: int | None = None
    """Event log only: the answer is the state at this virtual time (a temporal query)."""


class RebuildStarted(Record, frozen=True, kw_only=True):
    projector: str
    mode: str
    version: int
    projection: str
    head: int
    from_position: int = 1
    """1: replay from zero; later: from a read-model snapshot taken at that checkpoint."""


class RebuildProgressed(Record, frozen=True, kw_only=True):
    projector: str
    version: int
    position: int
    head: int


class EventReplayed(Record, frozen=True, kw_only=True):
    """A rebuild folded the event at ``position`` into version ``version``: ``row`` is ``value``."""

    projector: str
    version: int
    position: int
    stream: str
    row: str | None
    value: str | None


class RebuildFinished(Record, frozen=True, kw_only=True):
    projector: str
    version: int
    events: int
    took_ms: int


class ReadModelSwitched(Record, frozen=True, kw_only=True):
    """Blue/green: reads now go to version ``to_version`` of the read model."""

    projector: str
    from_version: int
    to_version: int


class ReadModelMismatched(Record, frozen=True, kw_only=True):
    """Finding: at the end, a read-model row differs from a fresh fold of the event log."""

    projector: str
    row: str
    actual: str | None
    expected: str | None
    """The row's value in a fresh fold of the whole log (None: no such row)."""
    reason: str


# -- user code (simulator/usercode) ------------------------------------------------------


class EffectPerformed(Record, frozen=True, kw_only=True):
    """User code did something to the outside world: charged a card, reserved stock.

    An effect is never rolled back. ``ref`` says what it was for (the message in
    hand, ``m12``, or a saga); ``key`` and ``key_seq`` place it in a key's order.
    """

    owner: str
    """The group, projector or service whose code did it (``component``: the process)."""
    name: str
    ref: str
    key: str | None
    key_seq: int | None
    amount: int


class StoreCommitted(Record, frozen=True, kw_only=True):
    """A user code store's transaction committed: these keys are durable now."""

    owner: str
    keys: list[str]
    """Keys written or deleted, in key order."""
    outbox: int
    """Outbox rows that commit with it (their relay publishes them next)."""


class StoreRolledBack(Record, frozen=True, kw_only=True):
    """A user code store's transaction did not commit: its writes are gone."""

    owner: str
    keys: list[str]
    reason: str


class CodeFailed(Record, frozen=True, kw_only=True):
    """User code raised, or broke its role's rules, where no retry policy takes over."""

    owner: str
    role: str
    subject: str
    """What it was working on: a command id, a saga, an event position."""
    error: str
    """Exception type, message and the line in the user's file."""


class CodeNoted(Record, frozen=True, kw_only=True):
    """A note user code wrote with ``ctx.log`` (instead of printing)."""

    owner: str
    text: str


class PropertyViolated(Record, frozen=True, kw_only=True):
    """Finding: at the end, user code broke a property the scenario asks it to hold."""

    property: str
    detail: str


RECORD_TYPES: tuple[type[Record], ...] = (
    ScenarioStarted,
    RunFinished,
    Produced,
    Appended,
    ProduceDeduplicated,
    Acked,
    SentUnacknowledged,
    ProduceRetried,
    ProduceFailed,
    Delivered,
    Processed,
    ProcessingFailed,
    RetryScheduled,
    DeadLettered,
    Skipped,
    Committed,
    CommitFailed,
    MemberJoined,
    MemberLeft,
    Rebalanced,
    PositionReset,
    LogTruncated,
    LogCompacted,
    TransactionCommitted,
    TransactionAborted,
    LeaderElected,
    PartitionOffline,
    ReplicaFetched,
    IsrShrunk,
    IsrExpanded,
    HighWatermarkAdvanced,
    ProduceRefused,
    MetadataRefreshed,
    LogTruncatedToEpoch,
    PowerLost,
    PageCacheLost,
    PartitionsAdded,
    ScaledOut,
    ScaledIn,
    Crashed,
    Restarted,
    NetworkDropped,
    NetworkDuplicated,
    NetworkPartitioned,
    NetworkHealed,
    DuplicateDetected,
    OrderViolated,
    MessageLost,
    MessageDropped,
    Routed,
    Enqueued,
    DeliveryAcked,
    Nacked,
    Requeued,
    MessageExpired,
    QueueOverflowed,
    VisibilityExpired,
    VisibilityChanged,
    VisibilityChangeFailed,
    MessageDeleted,
    DeleteFailed,
    DedupDropped,
    Redriven,
    LambdaInvoked,
    BatchItemFailed,
    MessageLostOnRestart,
    PublishDropped,
    QueueUnavailable,
    QueueAvailable,
    QuorumLeaderElected,
    QuorumWriteCommitted,
    ClientReconnected,
    PublisherBlocked,
    PublisherUnblocked,
    LambdaScaled,
    LambdaThrottled,
    RecordTimestamped,
    WatermarkAdvanced,
    WindowOpened,
    WindowEmitted,
    WindowUpdated,
    WindowClosed,
    LateRecordDropped,
    StateRestored,
    SagaStarted,
    SagaStepCompleted,
    SagaStepFailed,
    SagaCompensated,
    SagaTimedOut,
    SagaCompleted,
    SagaDuplicateIgnored,
    AggregateLoaded,
    UpcastApplied,
    SnapshotDiscarded,
    EventStored,
    VersionConflicted,
    CommandRejected,
    UpdateLost,
    SnapshotTaken,
    EventPublished,
    EventUnpublished,
    Projected,
    ProjectionSkipped,
    CheckpointSaved,
    ReadModelSnapshotted,
    GapWaited,
    GapSkipped,
    ReadModelQueried,
    RebuildStarted,
    RebuildProgressed,
    EventReplayed,
    RebuildFinished,
    ReadModelSwitched,
    ReadModelMismatched,
    EffectPerformed,
    StoreCommitted,
    StoreRolledBack,
    CodeFailed,
    CodeNoted,
    PropertyViolated,
)

TraceRecord = Union[RECORD_TYPES]  # type: ignore[valid-type]  # noqa: UP007

FINDING_TYPES: tuple[type[Record], ...] = (
    DuplicateDetected,
    OrderViolated,
    MessageLost,
    MessageDropped,
    UpdateLost,
    EventUnpublished,
    ReadModelMismatched,
    PropertyViolated,
)
FAULT_TYPES: tuple[type[Record], ...] = (
    Crashed,
    PowerLost,
    PartitionOffline,
    NetworkDropped,
    NetworkDuplicated,
    NetworkPartitioned,
    ProcessingFailed,
    MemberLeft,
    TransactionAborted,
    CodeFailed,
)

USER_CODE_TYPES: tuple[type[Record], ...] = (
    EffectPerformed,
    StoreCommitted,
    StoreRolledBack,
    CodeFailed,
    CodeNoted,
    PropertyViolated,
)
"""What runs of user code add to a trace (``simulator.usercode``); none appear without it."""

_encoder = msgspec.json.Encoder()
_decoder: msgspec.json.Decoder[Any] = msgspec.json.Decoder(TraceRecord)


def encode_record(record: Record) -> bytes:
    """One record as a line of JSON (no newline)."""
    return _encoder.encode(record)


def decode_record(line: bytes | str) -> Record:
    """Decode one JSON line into its record type.

    Raises ``msgspec.DecodeError`` (or its subclass ``ValidationError``) for
    anything that is not a record — including input nested too deep to
    decode or with invalid UTF-8 inside a string — so a reader of untrusted
    trace files has one exception type to catch.
    """
    try:
        record: Record = _decoder.decode(line)
    except (RecursionError, UnicodeDecodeError) as err:
        raise msgspec.DecodeError(f"not a trace record: {type(err).__name__}") from None
    return record


def encode_lines(records: Sequence[Record]) -> bytes:
    """Records as JSON Lines: one line each, every line ending in a newline."""
    return _encoder.encode_lines(records)


def decode_lines(data: bytes) -> list[Record]:
    """Records back from JSON Lines that evsim wrote (``encode_lines``): no checks beyond
    the decoder's own, for the trace's own spill file, not for files a user hands in."""
    records: list[Record] = _decoder.decode_lines(data)
    return records


class Trace(Sequence[Record]):
    """The records of a run in seq order: ``trace[seq]`` is the record with that seq.

    A trace lives in memory, where ``records`` is the whole list, unless it is
    given a spill file (``simulator.spill``): then whole chunks of its older
    records move to that file as the run goes (``spill_finished``), and only
    the newest ones, the ``tail`` from seq ``offset``, stay in memory; indexing,
    ``len``, iteration, the export and the digest read through both, and
    ``records`` refuses (a list of the tail would be read by the wrong seqs).
    """

    __slots__ = ("offset", "spill", "tail")

    CHUNK = 8192
    """Records per piece of the export, and per chunk of a spill file."""

    def __init__(self, records: Iterable[Record] = (), *, spill: SpillFile | None = None) -> None:
        self.tail: list[Record] = list(records)
        """The records in memory, from seq ``offset`` on (all of them unless spilled)."""
        self.offset = 0
        """The seq of ``tail[0]``: how many records have moved to the spill file."""
        self.spill = spill

    @property
    def records(self) -> list[Record]:
        """The whole trace as a list (``records[seq]``), for a trace held in memory."""
        if self.spill is not None:
            raise RuntimeError("a spilled trace is read by seq (trace[seq]), not as a list")
        return self.tail

    def __len__(self) -> int:
        return self.offset + len(self.tail)

    def __iter__(self) -> Iterator[Record]:
        """Every record in seq order (of a trace that is still spilling: read by seq instead)."""
        if self.spill is None:
            return iter(self.tail)
        return self._spilled_then_tail(self.spill)

    def _spilled_then_tail(self, spill: SpillFile) -> Iterator[Record]:
        yield from spill
        yield from self.tail

    @overload
    def __getitem__(self, seq: int) -> Record: ...

    @overload
    def __getitem__(self, seq: slice) -> list[Record]: ...

    def __getitem__(self, seq: int | slice) -> Record | list[Record]:
        if self.spill is None:
            return self.tail[seq]
        if isinstance(seq, slice):
            return [self[i] for i in range(*seq.indices(len(self)))]
        if seq < 0:
            seq += len(self)
        if seq >= self.offset:
            return self.tail[seq - self.offset]
        if seq < 0:
            raise IndexError("trace index out of range")
        return self.spill.record(seq)

    def spill_finished(self, keep: int) -> None:
        """Move the older records to the spill file in whole chunks, keeping ``keep`` or more.

        The tail list stays the same object (its head is deleted in place), so
        whoever appends to it keeps appending to the trace.
        """
        spill = self.spill
        if spill is None:
            return
        tail = self.tail
        move = (len(tail) - keep) // spill.chunk * spill.chunk
        if move <= 0:
            return
        spill.spill(tail[:move])
        del tail[:move]
        self.offset += move

    def finish_file(self) -> None:
        """Write the records still in memory to the spill file too: it then holds the export."""
        if self.spill is None:
            raise RuntimeError("finish_file: the trace has no spill file")
        self.spill.finish(self.tail)

    def jsonl_chunks(self) -> Iterator[bytes]:
        """The JSON Lines export, in chunks (each record one line, ending in a newline)."""
        if self.spill is not None:
            yield from self.spill.chunks_of_bytes()
        records = self.tail
        for start in range(0, len(records), self.CHUNK):
            yield _encoder.encode_lines(records[start : start + self.CHUNK])

    def digest(self) -> str:
        """SHA-256 (hex) of the JSON Lines export."""
        if self.spill is not None:
            return self.spill.digest(self.tail)
        h = hashlib.sha256()
        for chunk in self.jsonl_chunks():
            h.update(chunk)
        return h.hexdigest()

    def causes(self, seq: int) -> list[Record]:
        """The chain of records that led to ``seq``, nearest first (the "why?" walk)."""
        return self.cause_walk(seq)[0]

    def cause_walk(self, seq: int) -> tuple[list[Record], int | None]:
        """The "why?" walk over this trace (``cause_walk``)."""
        return cause_walk(self.tail if self.spill is None else self, seq)


def cause_walk(records: Sequence[Record], seq: int) -> tuple[list[Record], int | None]:
    """The "why?" walk back from ``seq``, and the seq it stopped at because it had been
    there before; over any sequence of records, reading only the records it visits.

    ``cause_seq`` points back to the record that led to this one, so the walk
    ends at a record with no cause. A trace written by evsim always points back
    (``cause_seq < seq``); a file edited by hand may point to itself, forward, or
    round in a circle. The walk visits each record once and stops where it would
    come round again, returning that record's seq (None when the chain ended).
    """
    chain: list[Record] = []
    seen = {seq}
    cause = records[seq].cause_seq
    while cause is not None and 0 <= cause < len(records):
        if cause in seen:
            return chain, cause
        seen.add(cause)
        record = records[cause]
        chain.append(record)
        cause = record.cause_seq
    return chain, None
