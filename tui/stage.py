"""The stage: where each trace record happens, as a move from one component to another.

A message's life is a walk across components — producer → partition or queue →
consumer → store → projector → read model — and every trace record is one step
of it. ``hop(record)`` names that step's two ends (``Hop.src`` and
``Hop.dst``, component names as the trace writes them) and what travels (the
chip: ``m7``, ``@3``, an offset). The flow view animates a chip along a hop,
the sequence diagram draws it as an arrow; both read this one table, so the two
pictures never disagree about who sent what to whom.

Components also get a *role* (producer, lane, consumer …) from the first record
that names them, which orders the sequence diagram's columns the way a message
travels. Findings come from the checker, but a class should see them where they
happen, so a finding's hop lands on the group's stage, not on ``checker``.
Everything here is a pure function of records.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Literal

from simulator.trace import (
    Acked,
    AggregateLoaded,
    Appended,
    BatchItemFailed,
    CheckpointSaved,
    CommitFailed,
    Committed,
    Crashed,
    DeadLettered,
    DedupDropped,
    Delivered,
    DeliveryAcked,
    DuplicateDetected,
    Enqueued,
    EventPublished,
    EventStored,
    LambdaInvoked,
    MemberJoined,
    MemberLeft,
    MessageDeleted,
    MessageExpired,
    MessageLost,
    Nacked,
    OrderViolated,
    PositionReset,
    Processed,
    ProcessingFailed,
    Produced,
    ProduceDeduplicated,
    ProduceFailed,
    ProduceRetried,
    Projected,
    ProjectionSkipped,
    QueueOverflowed,
    ReadModelMismatched,
    ReadModelQueried,
    Rebalanced,
    Record,
    Redriven,
    Requeued,
    Restarted,
    RetryScheduled,
    Routed,
    Skipped,
    VisibilityChanged,
    VisibilityExpired,
)
from tui.fold import lane_name

__all__ = ["ROLES", "STORE", "Hop", "Role", "columns_of", "hop", "role_of"]

Role = Literal["producer", "exchange", "lane", "consumer", "handler", "store", "projector", "other"]
ROLES: tuple[Role, ...] = (
    "producer",
    "exchange",
    "lane",
    "consumer",
    "handler",
    "store",
    "projector",
    "other",
)
"""The order a message travels through them: the sequence diagram's columns, left to right."""

STORE = "event store"
"""The event store's stage name (the trace names the handler that wrote, not the store)."""

Mark = Literal[
    "", "dup", "order", "lost", "crash", "restart", "redelivered", "timer", "drop", "fail"
]


@dataclass(frozen=True, slots=True)
class Hop:
    """One record as a move: ``chip`` travels from ``src`` to ``dst`` (equal: it happens there)."""

    seq: int
    kind: str
    src: str
    dst: str
    chip: str
    mark: Mark = ""
    msg: int | None = None
    group: str | None = None

    @property
    def moves(self) -> bool:
        return self.src != self.dst


def _m(msg: int) -> str:
    return f"m{msg}"


# -- one small function per record class: where it happens (``hop`` looks it up by class) ---

_Cause = Record | None


def _produced(r: Produced, _c: _Cause) -> Hop:
    return Hop(r.seq, "Produced", r.producer, r.producer, _m(r.msg), msg=r.msg)


def _appended(r: Appended, _c: _Cause) -> Hop:
    lane = lane_name(r.topic, r.partition)
    return Hop(r.seq, "Appended", r.producer, lane, _m(r.msg), msg=r.msg)


def _deduplicated(r: ProduceDeduplicated, _c: _Cause) -> Hop:
    lane = lane_name(r.topic, r.partition)
    return Hop(r.seq, "ProduceDeduplicated", r.producer, lane, _m(r.msg), "drop", r.msg)


def _acked(r: Acked, _c: _Cause) -> Hop:
    lane = lane_name(r.topic, r.partition)
    return Hop(r.seq, "Acked", lane, r.producer, "ack", msg=r.msg)


def _producer_alone(r: ProduceRetried | ProduceFailed, _c: _Cause) -> Hop:
    mark: Mark = "timer" if isinstance(r, ProduceRetried) else "fail"
    return Hop(r.seq, type(r).__name__, r.producer, r.producer, _m(r.msg), mark, r.msg)


def _routed(r: Routed, _c: _Cause) -> Hop:
    dst = r.queues[0] if r.queues else r.component
    return Hop(r.seq, "Routed", r.exchange, dst, _m(r.msg), msg=r.msg)


def _enqueued(r: Enqueued, cause: _Cause) -> Hop:
    src = r.group
    if isinstance(cause, Produced):
        src = cause.producer
    elif isinstance(cause, Routed):
        src = cause.exchange
    return Hop(r.seq, "Enqueued", src, r.group, _m(r.msg), msg=r.msg, group=r.group)


def _delivered(r: Delivered, _c: _Cause) -> Hop:
    src = r.group if r.partition is None else lane_name(r.topic, r.partition)
    mark: Mark = "redelivered" if r.redelivered else ""
    return Hop(r.seq, "Delivered", src, r.consumer, _m(r.msg), mark, r.msg, r.group)


def _processed(r: Processed, _c: _Cause) -> Hop:
    return Hop(r.seq, "Processed", r.consumer, r.consumer, _m(r.msg), msg=r.msg, group=r.group)


def _consumer_alone(r: ProcessingFailed | RetryScheduled | Skipped, _c: _Cause) -> Hop:
    mark: Mark = "timer" if isinstance(r, RetryScheduled) else "fail"
    return Hop(r.seq, type(r).__name__, r.consumer, r.consumer, _m(r.msg), mark, r.msg, r.group)


def _committed(r: Committed, _c: _Cause) -> Hop:
    lane = lane_name(r.topic, r.partition)
    return Hop(r.seq, "Committed", r.consumer, lane, f"@{r.offset}", group=r.group)


def _commit_failed(r: CommitFailed, _c: _Cause) -> Hop:
    return Hop(r.seq, "CommitFailed", r.consumer, r.consumer, "commit", "fail", group=r.group)


def _settled(r: DeliveryAcked | MessageDeleted | Nacked, _c: _Cause) -> Hop:
    chip = "nack" if isinstance(r, Nacked) else "ack" if isinstance(r, DeliveryAcked) else "del"
    return Hop(r.seq, type(r).__name__, r.consumer, r.group, chip, msg=r.msg, group=r.group)


def _visibility(r: VisibilityChanged, _c: _Cause) -> Hop:
    return Hop(r.seq, "VisibilityChanged", r.consumer, r.group, "vis", "timer", r.msg, r.group)


def _back_in_queue(r: Requeued | VisibilityExpired, _c: _Cause) -> Hop:
    mark: Mark = "timer" if isinstance(r, VisibilityExpired) else "redelivered"
    return Hop(r.seq, type(r).__name__, r.group, r.group, _m(r.msg), mark, r.msg, r.group)


def _dropped(r: MessageExpired | QueueOverflowed | DedupDropped, _c: _Cause) -> Hop:
    return Hop(r.seq, type(r).__name__, r.group, r.group, _m(r.msg), "drop", r.msg, r.group)


def _dead_lettered(r: DeadLettered, _c: _Cause) -> Hop:
    return Hop(r.seq, "DeadLettered", r.group, r.destination, _m(r.msg), "fail", r.msg, r.group)


def _redriven(r: Redriven, _c: _Cause) -> Hop:
    return Hop(r.seq, "Redriven", r.source, r.group, _m(r.msg), msg=r.msg, group=r.group)


def _lambda(r: LambdaInvoked, _c: _Cause) -> Hop:
    return Hop(r.seq, "LambdaInvoked", r.group, r.consumer, f"×{len(r.msgs)}", group=r.group)


def _item_failed(r: BatchItemFailed, _c: _Cause) -> Hop:
    return Hop(r.seq, "BatchItemFailed", r.consumer, r.consumer, _m(r.msg), "fail", r.msg, r.group)


def _member(r: MemberJoined | MemberLeft | PositionReset, _c: _Cause) -> Hop:
    return Hop(r.seq, type(r).__name__, r.consumer, r.consumer, "", group=r.group)


def _rebalanced(r: Rebalanced, _c: _Cause) -> Hop:
    return Hop(r.seq, "Rebalanced", r.group, r.group, f"gen {r.generation}", group=r.group)


_FINDING_MARK: dict[type[Record], Mark] = {
    DuplicateDetected: "dup",
    OrderViolated: "order",
    MessageLost: "lost",
}


def _finding(r: DuplicateDetected | OrderViolated | MessageLost, _c: _Cause) -> Hop:
    mark = _FINDING_MARK[type(r)]
    return Hop(r.seq, type(r).__name__, r.group, r.group, _m(r.msg), mark, r.msg, r.group)


def _crash_or_restart(r: Crashed | Restarted, _c: _Cause) -> Hop:
    crash = isinstance(r, Crashed)
    comp = r.component
    return Hop(
        r.seq, type(r).__name__, comp, comp, "✖" if crash else "↺", "crash" if crash else "restart"
    )


def _event_stored(r: EventStored, _c: _Cause) -> Hop:
    return Hop(r.seq, "EventStored", r.handler, STORE, f"@{r.position}")


def _aggregate_loaded(r: AggregateLoaded, _c: _Cause) -> Hop:
    return Hop(r.seq, "AggregateLoaded", STORE, r.handler, f"v{r.version}")


def _projected(r: Projected | ProjectionSkipped, _c: _Cause) -> Hop:
    mark: Mark = "drop" if isinstance(r, ProjectionSkipped) else ""
    return Hop(r.seq, type(r).__name__, STORE, r.projector, f"@{r.position}", mark)


def _checkpoint(r: CheckpointSaved, _c: _Cause) -> Hop:
    return Hop(r.seq, "CheckpointSaved", r.projector, r.projector, f"✓{r.position}")


def _queried(r: ReadModelQueried, _c: _Cause) -> Hop:
    src = STORE if r.source == "event-log" else r.source
    return Hop(r.seq, "ReadModelQueried", src, r.component, r.key)


def _mismatched(r: ReadModelMismatched, _c: _Cause) -> Hop:
    return Hop(r.seq, "ReadModelMismatched", r.projector, r.projector, r.row, "dup")


def _published(r: EventPublished, _c: _Cause) -> Hop:
    return Hop(r.seq, "EventPublished", STORE, r.via, _m(r.msg), msg=r.msg)


def _anywhere(r: Record, _c: _Cause) -> Hop:
    """A record with no hop of its own: where it happened (a group's, for the checker's)."""
    comp = r.component
    group = getattr(r, "group", None)
    msg = getattr(r, "msg", None)
    chip = _m(msg) if isinstance(msg, int) else ""
    where = comp if comp not in ("checker", "sim") or group is None else str(group)
    kind = type(r).__name__
    return Hop(r.seq, kind, where, where, chip, msg=msg if isinstance(msg, int) else None)


_HOPS: dict[type[Record], Callable[[Any, _Cause], Hop]] = {
    Produced: _produced,
    Appended: _appended,
    ProduceDeduplicated: _deduplicated,
    Acked: _acked,
    ProduceRetried: _producer_alone,
    ProduceFailed: _producer_alone,
    Routed: _routed,
    Enqueued: _enqueued,
    Delivered: _delivered,
    Processed: _processed,
    ProcessingFailed: _consumer_alone,
    RetryScheduled: _consumer_alone,
    Skipped: _consumer_alone,
    Committed: _committed,
    CommitFailed: _commit_failed,
    DeliveryAcked: _settled,
    MessageDeleted: _settled,
    Nacked: _settled,
    VisibilityChanged: _visibility,
    Requeued: _back_in_queue,
    VisibilityExpired: _back_in_queue,
    MessageExpired: _dropped,
    QueueOverflowed: _dropped,
    DedupDropped: _dropped,
    DeadLettered: _dead_lettered,
    Redriven: _redriven,
    LambdaInvoked: _lambda,
    BatchItemFailed: _item_failed,
    MemberJoined: _member,
    MemberLeft: _member,
    PositionReset: _member,
    Rebalanced: _rebalanced,
    DuplicateDetected: _finding,
    OrderViolated: _finding,
    MessageLost: _finding,
    Crashed: _crash_or_restart,
    Restarted: _crash_or_restart,
    EventStored: _event_stored,
    AggregateLoaded: _aggregate_loaded,
    Projected: _projected,
    ProjectionSkipped: _projected,
    CheckpointSaved: _checkpoint,
    ReadModelQueried: _queried,
    ReadModelMismatched: _mismatched,
    EventPublished: _published,
}
"""Record class → where it happens; a class not listed happens where its record says."""


def hop(r: Record, cause: Record | None = None) -> Hop:
    """Where ``r`` happens: the component it leaves and the one it reaches.

    ``cause`` is the record ``r.cause_seq`` names, if the caller has it: a queue's
    ``Enqueued`` does not say who sent the message, its cause does.
    """
    return _HOPS.get(type(r), _anywhere)(r, cause)


def role_of(r: Record) -> list[tuple[str, Role]]:
    """The components ``r`` names, each with its role (the first record to name one sets it)."""
    if isinstance(r, Produced):
        return [(r.producer, "producer")]
    if isinstance(r, Appended):
        return [(r.producer, "producer"), (lane_name(r.topic, r.partition), "lane")]
    if isinstance(r, Routed):
        return [(r.exchange, "exchange"), *((q, "lane") for q in r.queues)]
    if isinstance(r, Enqueued):
        return [(r.group, "lane")]
    if isinstance(r, Delivered):
        src = r.group if r.partition is None else lane_name(r.topic, r.partition)
        return [(src, "lane"), (r.consumer, "consumer")]
    if isinstance(r, DeadLettered):
        return [(r.group, "lane"), (r.destination, "lane")]
    if isinstance(r, EventStored | AggregateLoaded):
        return [(r.handler, "handler"), (STORE, "store")]
    if isinstance(r, Projected | CheckpointSaved):
        return [(r.projector, "projector")]
    if isinstance(r, ReadModelQueried):
        return [(r.component, "other")]
    return []


_ROLE_BY_FIRST_KIND: dict[str, Role] = {
    "Produced": "producer",
    "ProduceRetried": "producer",
    "ProduceFailed": "producer",
    "Acked": "producer",
    "Appended": "lane",
    "ProduceDeduplicated": "lane",
    "LogTruncated": "lane",
    "LogCompacted": "lane",
    "Routed": "exchange",
    "Enqueued": "lane",
    "Requeued": "lane",
    "DeliveryAcked": "lane",
    "MessageDeleted": "lane",
    "VisibilityExpired": "lane",
    "DeadLettered": "lane",
    "Redriven": "lane",
    "Delivered": "consumer",
    "Processed": "consumer",
    "PositionReset": "consumer",
    "ProcessingFailed": "consumer",
    "Skipped": "consumer",
    "LambdaInvoked": "consumer",
    "SagaStarted": "consumer",
    "EventStored": "handler",
    "AggregateLoaded": "handler",
    "CommandRejected": "handler",
    "VersionConflicted": "handler",
    "Projected": "projector",
    "ProjectionSkipped": "projector",
    "CheckpointSaved": "projector",
    "GapWaited": "projector",
    "RebuildStarted": "projector",
    "ReadModelQueried": "other",
    "Crashed": "other",
}
_NOT_A_COLUMN = frozenset({"sim", "checker"})
_GROUP_KINDS = frozenset({"MemberJoined", "MemberLeft", "Rebalanced", "Committed", "CommitFailed"})


def columns_of(first_kind: dict[str, str]) -> list[tuple[str, Role]]:
    """The sequence diagram's columns: each component with its role, in travel order.

    ``first_kind`` maps each component to the kind of the first record that named
    it (``TraceIndex.first_kind``). Consumer groups are not columns (their records
    are drawn on their members), nor are the simulation and the checker.
    """
    out: list[tuple[str, Role]] = []
    store = False
    for name, kind in first_kind.items():
        if name in _NOT_A_COLUMN or kind in _GROUP_KINDS:
            continue
        role = _ROLE_BY_FIRST_KIND.get(kind, "other")
        if role == "handler":
            store = True
        out.append((name, role))
    if store:
        out.append((STORE, "store"))
    rank = {role: i for i, role in enumerate(ROLES)}
    order = {name: i for i, (name, _) in enumerate(out)}

    def key(c: tuple[str, Role]) -> tuple[int, str, int, int]:
        name, role = c
        topic, _, partition = name.rpartition("/")
        if role == "lane" and partition.isdigit():  # orders/0, orders/1, … in partition order
            return rank[role], topic, int(partition), 0
        return rank[role], "", 0, order[name]

    return sorted(out, key=key)
