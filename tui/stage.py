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

from dataclasses import dataclass
from typing import Literal

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


def hop(r: Record, cause: Record | None = None) -> Hop:
    """Where ``r`` happens: the component it leaves and the one it reaches.

    ``cause`` is the record ``r.cause_seq`` names, if the caller has it: a queue's
    ``Enqueued`` does not say who sent the message, its cause does.
    """
    kind = type(r).__name__
    seq, comp = r.seq, r.component
    if isinstance(r, Produced):
        return Hop(seq, kind, r.producer, r.producer, _m(r.msg), msg=r.msg)
    if isinstance(r, Appended):
        return Hop(seq, kind, r.producer, lane_name(r.topic, r.partition), _m(r.msg), msg=r.msg)
    if isinstance(r, ProduceDeduplicated):
        lane = lane_name(r.topic, r.partition)
        return Hop(seq, kind, r.producer, lane, _m(r.msg), "drop", r.msg)
    if isinstance(r, Acked):
        return Hop(seq, kind, lane_name(r.topic, r.partition), r.producer, "ack", msg=r.msg)
    if isinstance(r, ProduceRetried | ProduceFailed):
        mark: Mark = "timer" if isinstance(r, ProduceRetried) else "fail"
        return Hop(seq, kind, r.producer, r.producer, _m(r.msg), mark, r.msg)
    if isinstance(r, Routed):
        dst = r.queues[0] if r.queues else comp
        return Hop(seq, kind, r.exchange, dst, _m(r.msg), msg=r.msg)
    if isinstance(r, Enqueued):
        src = r.group
        if isinstance(cause, Produced):
            src = cause.producer
        elif isinstance(cause, Routed):
            src = cause.exchange
        return Hop(seq, kind, src, r.group, _m(r.msg), msg=r.msg, group=r.group)
    if isinstance(r, Delivered):
        src = r.group if r.partition is None else lane_name(r.topic, r.partition)
        mark = "redelivered" if r.redelivered else ""
        return Hop(seq, kind, src, r.consumer, _m(r.msg), mark, r.msg, r.group)
    if isinstance(r, Processed):
        return Hop(seq, kind, r.consumer, r.consumer, _m(r.msg), msg=r.msg, group=r.group)
    if isinstance(r, ProcessingFailed | RetryScheduled | Skipped):
        mark = "timer" if isinstance(r, RetryScheduled) else "fail"
        return Hop(seq, kind, r.consumer, r.consumer, _m(r.msg), mark, r.msg, r.group)
    if isinstance(r, Committed):
        lane = lane_name(r.topic, r.partition)
        return Hop(seq, kind, r.consumer, lane, f"@{r.offset}", group=r.group)
    if isinstance(r, CommitFailed):
        return Hop(seq, kind, r.consumer, r.consumer, "commit", "fail", group=r.group)
    if isinstance(r, DeliveryAcked | MessageDeleted | Nacked):
        chip = "nack" if isinstance(r, Nacked) else "ack" if isinstance(r, DeliveryAcked) else "del"
        return Hop(seq, kind, r.consumer, r.group, chip, msg=r.msg, group=r.group)
    if isinstance(r, VisibilityChanged):
        return Hop(seq, kind, r.consumer, r.group, "vis", "timer", r.msg, r.group)
    if isinstance(r, Requeued | VisibilityExpired):
        mark = "timer" if isinstance(r, VisibilityExpired) else "redelivered"
        return Hop(seq, kind, r.group, r.group, _m(r.msg), mark, r.msg, r.group)
    if isinstance(r, MessageExpired | QueueOverflowed | DedupDropped):
        return Hop(seq, kind, r.group, r.group, _m(r.msg), "drop", r.msg, r.group)
    if isinstance(r, DeadLettered):
        return Hop(seq, kind, r.group, r.destination, _m(r.msg), "fail", r.msg, r.group)
    if isinstance(r, Redriven):
        return Hop(seq, kind, r.source, r.group, _m(r.msg), msg=r.msg, group=r.group)
    if isinstance(r, LambdaInvoked):
        return Hop(seq, kind, r.group, r.consumer, f"×{len(r.msgs)}", group=r.group)
    if isinstance(r, BatchItemFailed):
        return Hop(seq, kind, r.consumer, r.consumer, _m(r.msg), "fail", r.msg, r.group)
    if isinstance(r, MemberJoined | MemberLeft | PositionReset):
        return Hop(seq, kind, r.consumer, r.consumer, "", group=r.group)
    if isinstance(r, Rebalanced):
        return Hop(seq, kind, r.group, r.group, f"gen {r.generation}", group=r.group)
    if isinstance(r, DuplicateDetected):
        return Hop(seq, kind, r.group, r.group, _m(r.msg), "dup", r.msg, r.group)
    if isinstance(r, OrderViolated):
        return Hop(seq, kind, r.group, r.group, _m(r.msg), "order", r.msg, r.group)
    if isinstance(r, MessageLost):
        return Hop(seq, kind, r.group, r.group, _m(r.msg), "lost", r.msg, r.group)
    if isinstance(r, Crashed | Restarted):
        mark = "crash" if isinstance(r, Crashed) else "restart"
        return Hop(seq, kind, comp, comp, "✖" if mark == "crash" else "↺", mark)
    # -- the event store and its read side
    if isinstance(r, EventStored):
        return Hop(seq, kind, r.handler, STORE, f"@{r.position}")
    if isinstance(r, AggregateLoaded):
        return Hop(seq, kind, STORE, r.handler, f"v{r.version}")
    if isinstance(r, Projected | ProjectionSkipped):
        mark = "drop" if isinstance(r, ProjectionSkipped) else ""
        return Hop(seq, kind, STORE, r.projector, f"@{r.position}", mark)
    if isinstance(r, CheckpointSaved):
        return Hop(seq, kind, r.projector, r.projector, f"✓{r.position}")
    if isinstance(r, ReadModelQueried):
        src = STORE if r.source == "event-log" else r.source
        return Hop(seq, kind, src, comp, r.key)
    if isinstance(r, ReadModelMismatched):
        return Hop(seq, kind, r.projector, r.projector, r.row, "dup")
    if isinstance(r, EventPublished):
        return Hop(seq, kind, STORE, r.via, _m(r.msg), msg=r.msg)
    group = getattr(r, "group", None)
    msg = getattr(r, "msg", None)
    chip = _m(msg) if isinstance(msg, int) else ""
    where = comp if comp not in ("checker", "sim") or group is None else str(group)
    return Hop(seq, kind, where, where, chip, msg=msg if isinstance(msg, int) else None)


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
