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
from collections.abc import Iterable, Iterator
from typing import Any, Union

import msgspec

__all__ = [
    "RECORD_TYPES",
    "Record",
    "Trace",
    "TraceRecord",
    "decode_record",
    "encode_record",
]


class Record(msgspec.Struct, frozen=True, kw_only=True, tag_field="kind", tag=True, gc=False):
    """Fields every trace record has."""

    seq: int
    """Index of the record in its trace, from 0."""
    at: int
    """Virtual time in milliseconds."""
    component: str
    """Where it happened: ``checkout`` (a producer), ``orders/2`` (a partition) ..."""
    cause_seq: int | None = None
    """The record that led to this one, if any."""


# -- the run --------------------------------------------------------------------


class ScenarioStarted(Record, frozen=True, kw_only=True, tag_field="kind", tag=True, gc=False):
    """Header: which scenario, seed and broker model, and the defaults in force."""

    scenario: str
    title: str
    seed: int
    broker: str
    follows: str
    """The real system and version the broker model follows."""
    settings: dict[str, str]
    """Every setting that shapes behaviour, defaults included, as shown to students."""


class RunFinished(Record, frozen=True, kw_only=True, tag_field="kind", tag=True, gc=False):
    """The run ended: ``quiescent`` (no work left), ``until`` (time limit) or ``max_records``."""

    reason: str


# -- producing ------------------------------------------------------------------


class Produced(Record, frozen=True, kw_only=True, tag_field="kind", tag=True, gc=False):
    """An application handed a message to its producer."""

    producer: str
    msg: int
    key: str | None
    key_seq: int
    """The message's place in the order its key was produced: 1, 2, 3 ..."""
    topic: str


class Appended(Record, frozen=True, kw_only=True, tag_field="kind", tag=True, gc=False):
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


class ProduceDeduplicated(Record, frozen=True, kw_only=True, tag_field="kind", tag=True, gc=False):
    """An idempotent producer's repeat was recognised by its sequence number and not appended."""

    topic: str
    partition: int
    msg: int
    producer: str
    producer_seq: int
    offset: int
    """Offset of the original append, returned to the producer in the ack."""


class Acked(Record, frozen=True, kw_only=True, tag_field="kind", tag=True, gc=False):
    """The producer received the broker's acknowledgement: the message counts as sent."""

    producer: str
    msg: int
    topic: str
    partition: int | None
    offset: int | None
    """None under ``acks=0``: the producer never learns where it landed."""


class ProduceRetried(Record, frozen=True, kw_only=True, tag_field="kind", tag=True, gc=False):
    """No acknowledgement in time: the producer will send again after a backoff."""

    producer: str
    msg: int
    attempt: int
    backoff_ms: int
    reason: str = ""
    """Why: ``request timed out`` (no answer) or ``out of order sequence`` (broker refused)."""


class ProduceFailed(Record, frozen=True, kw_only=True, tag_field="kind", tag=True, gc=False):
    """The producer gave up on a message (retries or delivery timeout exhausted)."""

    producer: str
    msg: int
    reason: str


# -- consuming ------------------------------------------------------------------


class Delivered(Record, frozen=True, kw_only=True, tag_field="kind", tag=True, gc=False):
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


class Processed(Record, frozen=True, kw_only=True, tag_field="kind", tag=True, gc=False):
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


class ProcessingFailed(Record, frozen=True, kw_only=True, tag_field="kind", tag=True, gc=False):
    """A handler raised: ``transient`` errors may pass on retry, ``poison`` never does."""

    group: str
    consumer: str
    msg: int
    error: str
    attempt: int


class RetryScheduled(Record, frozen=True, kw_only=True, tag_field="kind", tag=True, gc=False):
    """A failed message will be tried again after ``delay_ms`` (in place, or via a retry topic)."""

    group: str
    consumer: str
    msg: int
    attempt: int
    delay_ms: int
    via: str | None
    """The retry topic the message was republished to, or None for a blocking retry."""


class DeadLettered(Record, frozen=True, kw_only=True, tag_field="kind", tag=True, gc=False):
    """A message was moved to the dead-letter destination and leaves normal processing."""

    group: str
    msg: int
    key: str | None
    destination: str
    reason: str


class Skipped(Record, frozen=True, kw_only=True, tag_field="kind", tag=True, gc=False):
    """A failed message was given up with nowhere to go: it is lost to this group."""

    group: str
    consumer: str
    msg: int
    reason: str


class Committed(Record, frozen=True, kw_only=True, tag_field="kind", tag=True, gc=False):
    """A group's committed offset for a partition moved: ``offset`` is the next one to read."""

    group: str
    consumer: str
    topic: str
    partition: int
    offset: int


class CommitFailed(Record, frozen=True, kw_only=True, tag_field="kind", tag=True, gc=False):
    """A commit was refused (the member lost its partitions) or lost on the way."""

    group: str
    consumer: str
    reason: str


# -- groups ---------------------------------------------------------------------


class MemberJoined(Record, frozen=True, kw_only=True, tag_field="kind", tag=True, gc=False):
    group: str
    consumer: str


class MemberLeft(Record, frozen=True, kw_only=True, tag_field="kind", tag=True, gc=False):
    """A member left the group: ``left``, ``session_timeout``, ``max_poll_interval`` …"""

    group: str
    consumer: str
    reason: str


class Rebalanced(Record, frozen=True, kw_only=True, tag_field="kind", tag=True, gc=False):
    """The group coordinator handed out a new assignment (a new generation)."""

    group: str
    generation: int
    assignor: str
    assignment: dict[str, list[str]]
    """Member name → partitions it owns, as ``topic/partition``."""


class PositionReset(Record, frozen=True, kw_only=True, tag_field="kind", tag=True, gc=False):
    """Where a consumer starts reading a partition it was just given, and why."""

    group: str
    consumer: str
    topic: str
    partition: int
    offset: int
    reason: str
    """``committed``, ``earliest``, ``latest`` or ``out_of_range`` (fell off the log start)."""


# -- the log itself ---------------------------------------------------------------


class LogTruncated(Record, frozen=True, kw_only=True, tag_field="kind", tag=True, gc=False):
    """Retention deleted the oldest records; the log now starts at ``log_start_offset``."""

    topic: str
    partition: int
    log_start_offset: int
    removed: int


class LogCompacted(Record, frozen=True, kw_only=True, tag_field="kind", tag=True, gc=False):
    """Compaction removed records superseded by a later value for the same key."""

    topic: str
    partition: int
    removed: int
    tombstones_removed: int
    msgs: list[int] = []
    """The messages whose records were removed."""


class TransactionCommitted(Record, frozen=True, kw_only=True, tag_field="kind", tag=True, gc=False):
    """Outputs and consumed offsets of one transaction became visible together."""

    txn: str
    group: str
    outputs: int


class TransactionAborted(Record, frozen=True, kw_only=True, tag_field="kind", tag=True, gc=False):
    """A transaction was rolled back: its outputs stay in the log, marked aborted."""

    txn: str
    group: str
    reason: str


# -- faults -------------------------------------------------------------------------


class Crashed(Record, frozen=True, kw_only=True, tag_field="kind", tag=True, gc=False):
    """A component stopped abruptly (no graceful leave, no final commit)."""

    point: str | None
    """The named point, e.g. ``after_process_before_commit``; None for a timed crash."""


class Restarted(Record, frozen=True, kw_only=True, tag_field="kind", tag=True, gc=False):
    """A crashed component came back."""


class NetworkDropped(Record, frozen=True, kw_only=True, tag_field="kind", tag=True, gc=False):
    """The network lost a request or response between two components."""

    link: str
    what: str
    msgs: list[int]
    """The messages it carried (a produce request carries a batch)."""


class NetworkDuplicated(Record, frozen=True, kw_only=True, tag_field="kind", tag=True, gc=False):
    """The network delivered a request twice."""

    link: str
    what: str
    msgs: list[int]


class NetworkPartitioned(Record, frozen=True, kw_only=True, tag_field="kind", tag=True, gc=False):
    """Two components can no longer reach each other until ``until_ms``."""

    between: list[str]
    until_ms: int


class NetworkHealed(Record, frozen=True, kw_only=True, tag_field="kind", tag=True, gc=False):
    between: list[str]


# -- checker findings -----------------------------------------------------------------


class DuplicateDetected(Record, frozen=True, kw_only=True, tag_field="kind", tag=True, gc=False):
    """A group processed a message it had already processed (``first_seq``)."""

    group: str
    msg: int
    key: str | None
    first_seq: int


class OrderViolated(Record, frozen=True, kw_only=True, tag_field="kind", tag=True, gc=False):
    """A group processed a key's message after a later one of the same key (``after_seq``)."""

    group: str
    msg: int
    key: str
    key_seq: int
    after_key_seq: int
    after_seq: int


class MessageLost(Record, frozen=True, kw_only=True, tag_field="kind", tag=True, gc=False):
    """An acknowledged message that this group never processed by the end of the run."""

    group: str
    msg: int
    key: str | None
    acked_seq: int
    reason: str


# -- queue brokers (RabbitMQ-style and SQS-style) -------------------------------------


class Routed(Record, frozen=True, kw_only=True, tag_field="kind", tag=True, gc=False):
    """A RabbitMQ exchange routed a published message to the queues whose bindings match."""

    exchange: str
    msg: int
    key: str | None
    queues: list[str]
    """Empty: no binding matched and the message was dropped (``mandatory`` is not set)."""


class Enqueued(Record, frozen=True, kw_only=True, tag_field="kind", tag=True, gc=False):
    """An SQS queue stored a message (``copy``: an extra copy of at-least-once delivery)."""

    group: str
    msg: int
    key: str | None
    copy: bool
    visible_in_ms: int
    """Hidden this long first: ``DelaySeconds``, or a late standard-queue message."""


class DeliveryAcked(Record, frozen=True, kw_only=True, tag_field="kind", tag=True, gc=False):
    """A RabbitMQ consumer acknowledged deliveries up to ``delivery_tag`` (``basic.ack``)."""

    group: str
    consumer: str
    msg: int
    delivery_tag: int
    multiple: bool
    count: int
    """How many unacked deliveries this ack settled."""


class Nacked(Record, frozen=True, kw_only=True, tag_field="kind", tag=True, gc=False):
    """A RabbitMQ consumer rejected a delivery: ``requeue`` puts it back, else DLX or drop."""

    group: str
    consumer: str
    msg: int
    delivery_tag: int
    requeue: bool


class Requeued(Record, frozen=True, kw_only=True, tag_field="kind", tag=True, gc=False):
    """A message went back into its queue at ``position`` (0 = head), flagged redelivered."""

    group: str
    msg: int
    reason: str
    """``nack`` or ``channel closed`` (its consumer's channel went away with it unacked)."""
    position: int


class MessageExpired(Record, frozen=True, kw_only=True, tag_field="kind", tag=True, gc=False):
    """A message outlived its TTL or retention period and left the queue."""

    group: str
    msg: int
    key: str | None
    reason: str


class QueueOverflowed(Record, frozen=True, kw_only=True, tag_field="kind", tag=True, gc=False):
    """A queue at ``max_length`` dropped its oldest message or refused a new one."""

    group: str
    msg: int
    key: str | None
    overflow: str
    """``drop-head`` (``msg`` is the dropped head) or ``reject-publish`` (``msg`` was refused)."""


class VisibilityExpired(Record, frozen=True, kw_only=True, tag_field="kind", tag=True, gc=False):
    """A received SQS message was not deleted in time and is visible again."""

    group: str
    msg: int
    receive_count: int


class VisibilityChanged(Record, frozen=True, kw_only=True, tag_field="kind", tag=True, gc=False):
    """``ChangeMessageVisibility``: the message stays hidden ``timeout_ms`` from now."""

    group: str
    consumer: str
    msg: int
    timeout_ms: int


class VisibilityChangeFailed(
    Record, frozen=True, kw_only=True, tag_field="kind", tag=True, gc=False
):
    """``ChangeMessageVisibility`` refused: the receipt handle is no longer the latest."""

    group: str
    consumer: str
    msg: int
    reason: str


class MessageDeleted(Record, frozen=True, kw_only=True, tag_field="kind", tag=True, gc=False):
    """``DeleteMessage`` with a valid receipt handle: the message leaves the queue for good."""

    group: str
    consumer: str
    msg: int
    receive_count: int


class DeleteFailed(Record, frozen=True, kw_only=True, tag_field="kind", tag=True, gc=False):
    """``DeleteMessage`` refused: the message was received again since (a stale receipt handle)."""

    group: str
    consumer: str
    msg: int
    reason: str


class DedupDropped(Record, frozen=True, kw_only=True, tag_field="kind", tag=True, gc=False):
    """A FIFO queue accepted a send but dropped it: its dedup id was seen within 5 minutes."""

    group: str
    msg: int
    dedup_id: str
    first_msg: int
    """The message that first used that deduplication id."""


class Redriven(Record, frozen=True, kw_only=True, tag_field="kind", tag=True, gc=False):
    """A DLQ redrive moved a message back to its source queue (receive count starts over)."""

    group: str
    msg: int
    source: str


class LambdaInvoked(Record, frozen=True, kw_only=True, tag_field="kind", tag=True, gc=False):
    """A Lambda-style event source mapping invoked the function with one batch of messages."""

    group: str
    consumer: str
    msgs: list[int]


class BatchItemFailed(Record, frozen=True, kw_only=True, tag_field="kind", tag=True, gc=False):
    """The function reported this message of its batch as failed; it returns to the queue."""

    group: str
    consumer: str
    msg: int


RECORD_TYPES: tuple[type[Record], ...] = (
    ScenarioStarted,
    RunFinished,
    Produced,
    Appended,
    ProduceDeduplicated,
    Acked,
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
    Crashed,
    Restarted,
    NetworkDropped,
    NetworkDuplicated,
    NetworkPartitioned,
    NetworkHealed,
    DuplicateDetected,
    OrderViolated,
    MessageLost,
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
)

TraceRecord = Union[RECORD_TYPES]  # type: ignore[valid-type]  # noqa: UP007

FINDING_TYPES: tuple[type[Record], ...] = (DuplicateDetected, OrderViolated, MessageLost)
FAULT_TYPES: tuple[type[Record], ...] = (
    Crashed,
    NetworkDropped,
    NetworkDuplicated,
    NetworkPartitioned,
    ProcessingFailed,
    MemberLeft,
    TransactionAborted,
)

_encoder = msgspec.json.Encoder()
_decoder: msgspec.json.Decoder[Any] = msgspec.json.Decoder(TraceRecord)


def encode_record(record: Record) -> bytes:
    """One record as a line of JSON (no newline)."""
    return _encoder.encode(record)


def decode_record(line: bytes | str) -> Record:
    """Decode one JSON line into its record type; raises ``msgspec.ValidationError``."""
    record: Record = _decoder.decode(line)
    return record


class Trace:
    """An append-only list of records; ``records[seq]`` is the record with that seq."""

    __slots__ = ("records",)

    _CHUNK = 8192

    def __init__(self, records: Iterable[Record] = ()) -> None:
        self.records: list[Record] = list(records)

    def __len__(self) -> int:
        return len(self.records)

    def __iter__(self) -> Iterator[Record]:
        return iter(self.records)

    def __getitem__(self, seq: int) -> Record:
        return self.records[seq]

    def jsonl_chunks(self) -> Iterator[bytes]:
        """The JSON Lines export, in chunks (each record one line, ending in a newline)."""
        records = self.records
        for start in range(0, len(records), self._CHUNK):
            yield _encoder.encode_lines(records[start : start + self._CHUNK])

    def digest(self) -> str:
        """SHA-256 (hex) of the JSON Lines export."""
        h = hashlib.sha256()
        for chunk in self.jsonl_chunks():
            h.update(chunk)
        return h.hexdigest()

    def causes(self, seq: int) -> list[Record]:
        """The chain of records that led to ``seq``, nearest first (the "why?" walk)."""
        chain: list[Record] = []
        cause = self.records[seq].cause_seq
        while cause is not None and 0 <= cause < len(self.records) and len(chain) < 10_000:
            record = self.records[cause]
            chain.append(record)
            cause = record.cause_seq
        return chain
