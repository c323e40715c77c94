"""The TUI's state is a fold of the trace: the UI is itself event-sourced.

``apply(state, record)`` is a pure function ``ViewState × Record → ViewState``:
it never changes ``state`` and returns the state after ``record``. Everything the
flow view, the metrics and the consumer list show is in ``ViewState`` and comes
only from trace records — no peeking into the simulator — so a trace loaded from
a file plays exactly like a live run. ``fold(state, records)`` is the same as
applying the records one by one, but copies the state once instead of once per
record, which is what makes checkpoints and seeking cheap (see ``player``).

The event store and CQRS records (``EventStored``, ``Projected``,
``CheckpointSaved``, ``Rebuild*``, ``ReadModelSwitched`` …) fold into a
``StoreView``: the store's head, each stream's version, and per projector its
checkpoint, lag and any rebuild in progress. Stream processors fold into a
``WindowsView`` per group (watermark, open windows) and sagas into a
``SagaView`` each. A RabbitMQ cluster folds into a ``ClusterView``: its nodes and
where each client is connected (from the trace header), each quorum queue's
members, leader, term and newest commit, the queues that serve nobody now, and
the links a partition cuts.

Two small, bounded tables serve the motion marks and the timers: ``flags``
(per message: how often it was delivered, whether it was processed twice,
overtaken, or lost and where it was last seen) and ``timers`` (each running
clock a lesson is about — a visibility timeout, a retry backoff, a session
timeout — with when it started and when it is due, from the records and the
settings in the trace header). ``fired`` is the timer the last record ended
at or past its deadline, so a view can flash it. Both keep only the newest
few dozen entries, so checkpoints stay cheap on a million-record trace.

Each record class has one handler, a typed function ``(ViewState, Delivered) ->
None``, listed in ``_HANDLERS``; classes that only count are listed in
``_QUIET``. A record class the fold does not know (a new broker model's) is not
an error: it is counted by kind and its component shown generically. A handler
that fails is a bug and raises — it is never hidden as a generic component.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import Any, TypeVar

from simulator.trace import (
    Acked,
    AggregateLoaded,
    Appended,
    BatchItemFailed,
    CheckpointSaved,
    ClientReconnected,
    CommandRejected,
    CommitFailed,
    Committed,
    Crashed,
    DeadLettered,
    DedupDropped,
    DeleteFailed,
    Delivered,
    DeliveryAcked,
    DuplicateDetected,
    Enqueued,
    EventPublished,
    EventStored,
    EventUnpublished,
    GapSkipped,
    GapWaited,
    HighWatermarkAdvanced,
    IsrExpanded,
    IsrShrunk,
    LambdaInvoked,
    LambdaScaled,
    LambdaThrottled,
    LateRecordDropped,
    LeaderElected,
    LogCompacted,
    LogTruncated,
    LogTruncatedToEpoch,
    MemberJoined,
    MemberLeft,
    MessageDeleted,
    MessageDropped,
    MessageExpired,
    MessageLost,
    MessageLostOnRestart,
    MetadataRefreshed,
    Nacked,
    NetworkDropped,
    NetworkDuplicated,
    NetworkHealed,
    NetworkPartitioned,
    OrderViolated,
    PageCacheLost,
    PartitionOffline,
    PartitionsAdded,
    PositionReset,
    PowerLost,
    Processed,
    ProcessingFailed,
    Produced,
    ProduceDeduplicated,
    ProduceFailed,
    ProduceRefused,
    ProduceRetried,
    Projected,
    ProjectionSkipped,
    PublishDropped,
    PublisherBlocked,
    PublisherUnblocked,
    QueueAvailable,
    QueueOverflowed,
    QueueUnavailable,
    QuorumLeaderElected,
    QuorumWriteCommitted,
    ReadModelMismatched,
    ReadModelQueried,
    ReadModelSnapshotted,
    ReadModelSwitched,
    Rebalanced,
    RebuildFinished,
    RebuildProgressed,
    RebuildStarted,
    Record,
    Redriven,
    ReplicaFetched,
    Requeued,
    Restarted,
    RetryScheduled,
    Routed,
    RunFinished,
    SagaCompensated,
    SagaCompleted,
    SagaDuplicateIgnored,
    SagaStarted,
    SagaStepCompleted,
    SagaStepFailed,
    SagaTimedOut,
    ScaledIn,
    ScaledOut,
    ScenarioStarted,
    SentUnacknowledged,
    Skipped,
    SnapshotDiscarded,
    SnapshotTaken,
    StateRestored,
    TransactionAborted,
    TransactionCommitted,
    UpcastApplied,
    UpdateLost,
    VersionConflicted,
    VisibilityChanged,
    VisibilityChangeFailed,
    VisibilityExpired,
    WatermarkAdvanced,
    WindowClosed,
    WindowEmitted,
    WindowOpened,
    WindowUpdated,
)

__all__ = [
    "CHIPS",
    "Flags",
    "ProjectorView",
    "SagaView",
    "StoreView",
    "Timer",
    "ViewState",
    "WindowsView",
    "apply",
    "fold",
    "initial_state",
    "lane_name",
]

CHIPS = 32
"""How many of the newest records each lane keeps to draw as chips."""


def lane_name(topic: object, partition: object) -> str:
    """``orders/2`` for a partition, the bare name for a queue (no partition)."""
    return f"{topic}/{partition}" if partition is not None else str(topic)


@dataclass(slots=True)
class Lane:
    """One partition of a topic (or one queue): the log and where readers are in it."""

    name: str
    log_start: int = 0
    log_end: int = 0
    """The next offset to be written (Kafka's log end offset)."""
    recent: list[tuple[int, int, str | None]] = field(default_factory=list)
    """The newest records as ``(offset, msg, key)``, oldest first."""
    committed: dict[str, int] = field(default_factory=dict)
    """Group → committed offset: the next offset that group will read."""
    queue: bool = False
    """A queue (RabbitMQ, SQS) rather than a log partition: messages leave when acked."""
    ready: list[tuple[int, str | None]] = field(default_factory=list)
    """Queue only: messages waiting to be delivered, head first, as ``(msg, key)``."""
    unacked: dict[int, tuple[str | None, str]] = field(default_factory=dict)
    """Queue only: delivered, not yet acked or deleted: msg → (key, consumer)."""
    compacted: int = 0
    """Records compaction has removed so far (superseded values and tombstones)."""

    def copy(self) -> Lane:
        return Lane(
            self.name, self.log_start, self.log_end, list(self.recent), dict(self.committed),
            self.queue, list(self.ready), dict(self.unacked), self.compacted,
        )  # fmt: skip


@dataclass(slots=True)
class Replication:
    """A replicated partition as the trace shows it: where its copies are and who leads."""

    leader: str | None = None
    """None while the partition is offline."""
    epoch: int = 0
    replicas: list[str] = field(default_factory=list)
    isr: list[str] = field(default_factory=list)
    high_watermark: int = 0
    """Consumers read below it: the records every ISR member has."""

    def copy(self) -> Replication:
        return Replication(
            self.leader, self.epoch, list(self.replicas), list(self.isr), self.high_watermark
        )


@dataclass(slots=True)
class Consumer:
    name: str
    group: str
    state: str = "running"
    """``running``, ``crashed``, ``left`` or ``restarted`` (waiting for its assignment)."""
    owned: list[str] = field(default_factory=list)
    in_flight: dict[int, str] = field(default_factory=dict)
    """Delivered, not yet processed: message id → lane."""
    processed: int = 0
    last: str = ""

    def copy(self) -> Consumer:
        return Consumer(
            self.name, self.group, self.state, list(self.owned), dict(self.in_flight),
            self.processed, self.last,
        )  # fmt: skip


@dataclass(slots=True)
class Group:
    name: str
    generation: int = 0
    state: str = "joining"
    """``joining``, ``rebalancing`` or ``stable``."""
    assignor: str = ""
    members: list[str] = field(default_factory=list)

    def copy(self) -> Group:
        return Group(self.name, self.generation, self.state, self.assignor, list(self.members))


@dataclass(slots=True)
class Producer:
    name: str
    produced: int = 0
    acked: int = 0
    retries: int = 0
    failed: int = 0
    state: str = "running"
    """``running``, ``crashed``, or ``blocked`` (its connection, by a memory alarm)."""
    in_flight: dict[int, int] = field(default_factory=dict)
    """Produced, not yet acknowledged: message id → seq of its ``Produced`` record."""

    def copy(self) -> Producer:
        return Producer(
            self.name, self.produced, self.acked, self.retries, self.failed, self.state,
            dict(self.in_flight),
        )  # fmt: skip


@dataclass(slots=True)
class ProjectorView:
    """One projector (a read model's writer) as the trace shows it."""

    name: str
    checkpoint: int = 1
    """The next global position it will read (``CheckpointSaved.position``)."""
    applied: int = 0
    """Global position of the last event it projected."""
    reading: int = 1
    """Version of the read model that queries go to (blue/green switches change it)."""
    rebuild_version: int | None = None
    """The version being rebuilt, between ``RebuildStarted`` and ``RebuildFinished``."""
    rebuild_position: int = 0
    rebuild_head: int = 0
    rebuilt: int = 0
    """Events the last finished rebuild replayed."""
    last_query: str = ""
    stale_reads: int = 0

    def copy(self) -> ProjectorView:
        return ProjectorView(
            self.name, self.checkpoint, self.applied, self.reading, self.rebuild_version,
            self.rebuild_position, self.rebuild_head, self.rebuilt, self.last_query,
            self.stale_reads,
        )  # fmt: skip


@dataclass(slots=True)
class StoreView:
    """The event store and its read side: what the CQRS panel draws."""

    head: int = 0
    """The highest global position written so far."""
    streams: dict[str, int] = field(default_factory=dict)
    """Stream → its version (the number of events in it)."""
    snapshots: dict[str, int] = field(default_factory=dict)
    """Stream → version of its newest snapshot."""
    projectors: dict[str, ProjectorView] = field(default_factory=dict)
    conflicts: int = 0
    rejected: int = 0

    def lag(self, projector: ProjectorView) -> int:
        """Events written that the projector's checkpoint has not passed yet."""
        return max(0, self.head - projector.checkpoint + 1)

    def copy(self) -> StoreView:
        return StoreView(
            self.head, dict(self.streams), dict(self.snapshots),
            {k: v.copy() for k, v in self.projectors.items()}, self.conflicts, self.rejected,
        )  # fmt: skip


@dataclass(slots=True)
class WindowsView:
    """A stream processor (one consumer group): its watermark and its windows."""

    group: str
    watermark_ms: int | None = None
    open: list[str] = field(default_factory=list)
    """Windows opened and not closed yet, as ``key@start``."""
    emitted: int = 0
    late: int = 0
    restored: int = 0

    def copy(self) -> WindowsView:
        return WindowsView(
            self.group, self.watermark_ms, list(self.open), self.emitted, self.late, self.restored
        )


@dataclass(slots=True)
class SagaView:
    """One saga instance: where it is and how it ended."""

    saga: str
    mode: str = ""
    status: str = "running"
    """``running``, ``failed``, ``compensating``, ``timed out`` or its final outcome."""
    step: str = ""
    steps: int = 0

    def copy(self) -> SagaView:
        return SagaView(self.saga, self.mode, self.status, self.step, self.steps)


FLAGS_KEPT = 64
"""Messages whose marks (``×2``, ``↻3``, lost) the state keeps; older ones are forgotten."""
TIMERS_KEPT = 64
"""Running timers the state keeps (the soonest-started are dropped first)."""


@dataclass(slots=True)
class Flags:
    """What happened to one message that a chip should show."""

    deliveries: int = 1
    """How many times it was delivered (``↻`` when above one)."""
    processed: int = 0
    dup: bool = False
    """The checker found it processed twice in one group (``×2``)."""
    overtook: int | None = None
    """The message it overtook: an order violation's earlier message."""
    lost_at: str | None = None
    """Lost: the lane or group where it was last seen (a ghost chip is drawn there)."""

    def copy(self) -> Flags:
        return Flags(self.deliveries, self.processed, self.dup, self.overtook, self.lost_at)


@dataclass(frozen=True, slots=True)
class Timer:
    """A running clock: started at ``start_ms`` by record ``seq``, due at ``due_ms``."""

    kind: str
    """``visibility``, ``retry``, ``backoff``, ``session``, ``max.poll``, ``auto-commit``,
    ``dedup``, ``ttl`` or ``saga``."""
    owner: str
    """The component it runs on (a consumer, a queue, a producer, a group, a saga)."""
    label: str
    start_ms: int
    due_ms: int
    seq: int

    def left(self, now_ms: int) -> float:
        """The share of its time still to run, 1.0 → 0.0."""
        span = max(1, self.due_ms - self.start_ms)
        return max(0.0, min(1.0, (self.due_ms - now_ms) / span))


@dataclass(slots=True)
class QuorumView:
    """One quorum queue's Raft group: its members, its leader and how far it has committed."""

    members: list[str]
    leader: str | None = None
    """None while it has no leader (between its leader's loss and the next election)."""
    term: int = 0
    committed: int = 0
    """The Raft log index of the newest committed write."""
    replicas: list[str] = field(default_factory=list)
    """The members that had that write when it committed (the leader first)."""

    def copy(self) -> QuorumView:
        return QuorumView(
            list(self.members), self.leader, self.term, self.committed, list(self.replicas)
        )


@dataclass(slots=True)
class ClusterView:
    """A RabbitMQ cluster: its nodes, where each client is connected, where each queue lives.

    The nodes, the clients' nodes and the classic queues' nodes come from the trace
    header; quorum queues from their elections. Which nodes are down is
    ``ViewState.crashed``; ``cut`` holds the node pairs a partition separates now."""

    nodes: list[str]
    clients: dict[str, str] = field(default_factory=dict)
    """Client (producer or consumer) → the node it is connected to."""
    homes: dict[str, str] = field(default_factory=dict)
    """Classic queue → its node."""
    quorum: dict[str, QuorumView] = field(default_factory=dict)
    unavailable: dict[str, str] = field(default_factory=dict)
    """Queue → why it serves nobody now (``QueueUnavailable.reason``)."""
    cut: list[tuple[str, str]] = field(default_factory=list)

    def copy(self) -> ClusterView:
        return ClusterView(
            list(self.nodes),
            dict(self.clients),
            dict(self.homes),
            {k: v.copy() for k, v in self.quorum.items()},
            dict(self.unavailable),
            list(self.cut),
        )


@dataclass(slots=True)
class ViewState:
    """Everything a view shows at one point of a trace."""

    applied: int = 0
    """How many records have been folded in (the cursor)."""
    at_ms: int = 0
    scenario: str = ""
    title: str = ""
    broker: str = ""
    follows: str = ""
    settings: dict[str, str] = field(default_factory=dict)
    lanes: dict[str, Lane] = field(default_factory=dict)
    consumers: dict[str, Consumer] = field(default_factory=dict)
    groups: dict[str, Group] = field(default_factory=dict)
    producers: dict[str, Producer] = field(default_factory=dict)
    others: dict[str, str] = field(default_factory=dict)
    """Components no handler knows (an event store, a projector …) → their last record kind."""
    crashed: list[str] = field(default_factory=list)
    """Components down right now that are not consumers or producers (a broker …)."""
    counts: dict[str, int] = field(default_factory=dict)
    """Records seen so far, by kind."""
    finished: str = ""
    """The ``RunFinished`` reason once the run is over."""
    store: StoreView | None = None
    """The event store and projectors; None until the first such record."""
    windows: dict[str, WindowsView] = field(default_factory=dict)
    """Stream processors (windowed aggregations), by group."""
    sagas: dict[str, SagaView] = field(default_factory=dict)
    """Saga instances, by saga id, in the order they started."""
    flags: dict[int, Flags] = field(default_factory=dict)
    """Message → its marks, for the newest ``FLAGS_KEPT`` messages that have any."""
    timers: dict[str, Timer] = field(default_factory=dict)
    """Running timers by ``kind:owner:label``, oldest first."""
    fired: Timer | None = None
    """The timer the last record fired (it ended at or past its deadline), or None."""
    cluster: ClusterView | None = None
    """A RabbitMQ cluster's nodes and queues; None on one node (or another model)."""
    replication: dict[str, Replication] = field(default_factory=dict)
    """A cluster's partitions, by lane: leader, epoch, replicas, ISR, high watermark."""

    @property
    def lost(self) -> int:
        return self.counts.get("MessageLost", 0)

    @property
    def duplicates(self) -> int:
        return self.counts.get("DuplicateDetected", 0)

    @property
    def out_of_order(self) -> int:
        return self.counts.get("OrderViolated", 0)

    @property
    def retries(self) -> int:
        c = self.counts
        return c.get("RetryScheduled", 0) + c.get("ProduceRetried", 0)

    def count(self, kind: str) -> int:
        return self.counts.get(kind, 0)

    def lag(self, lane: Lane, group: str) -> int:
        """Records in ``lane`` that ``group`` has not committed yet."""
        committed = lane.committed.get(group, lane.log_start)
        if lane.queue:
            return len(lane.ready)
        return max(0, lane.log_end - max(committed, lane.log_start))

    def total_lag(self) -> int:
        logs = sum(self.lag(lane, g) for lane in self.lanes.values() for g in lane.committed)
        return logs + sum(len(lane.ready) for lane in self.lanes.values() if lane.queue)

    def in_flight_by_lane(self) -> dict[str, int]:
        out: dict[str, int] = {}
        for c in self.consumers.values():
            for lane in c.in_flight.values():
                out[lane] = out.get(lane, 0) + 1
        return out

    def copy(self) -> ViewState:
        """An independent copy (every record value inside is immutable, so one level deep)."""
        return ViewState(
            applied=self.applied,
            at_ms=self.at_ms,
            scenario=self.scenario,
            title=self.title,
            broker=self.broker,
            follows=self.follows,
            settings=self.settings,
            lanes={k: v.copy() for k, v in self.lanes.items()},
            consumers={k: v.copy() for k, v in self.consumers.items()},
            groups={k: v.copy() for k, v in self.groups.items()},
            producers={k: v.copy() for k, v in self.producers.items()},
            others=dict(self.others),
            crashed=list(self.crashed),
            counts=dict(self.counts),
            finished=self.finished,
            store=self.store.copy() if self.store is not None else None,
            windows={k: v.copy() for k, v in self.windows.items()},
            sagas={k: v.copy() for k, v in self.sagas.items()},
            flags={k: v.copy() for k, v in self.flags.items()},
            timers=dict(self.timers),
            fired=self.fired,
            cluster=self.cluster.copy() if self.cluster is not None else None,
            replication={k: v.copy() for k, v in self.replication.items()},
        )


def initial_state() -> ViewState:
    return ViewState()


# -- handlers: each mutates a private copy ------------------------------------------


def _lane(s: ViewState, topic: object, partition: object) -> Lane:
    name = lane_name(topic, partition)
    lane = s.lanes.get(name)
    if lane is None:
        lane = s.lanes[name] = Lane(name)
    return lane


def _queue(s: ViewState, name: str) -> Lane:
    lane = s.lanes.get(name)
    if lane is None:
        lane = s.lanes[name] = Lane(name, queue=True)
    return lane


def _enqueue(lane: Lane, msg: int, key: str | None, position: int | None = None) -> None:
    lane.unacked.pop(msg, None)
    if any(m == msg for m, _ in lane.ready):
        return
    if position is None:
        lane.ready.append((msg, key))
    else:
        lane.ready.insert(max(0, min(position, len(lane.ready))), (msg, key))


def _dequeue(lane: Lane, msg: int) -> str | None:
    """Take ``msg`` out of the queue, wherever it is; returns its key."""
    for i, (m, key) in enumerate(lane.ready):
        if m == msg:
            del lane.ready[i]
            return key
    gone = lane.unacked.pop(msg, None)
    return gone[0] if gone else None


def _consumer(s: ViewState, name: str, group: str) -> Consumer:
    c = s.consumers.get(name)
    if c is None:
        c = s.consumers[name] = Consumer(name, group)
    return c


def _group(s: ViewState, name: str) -> Group:
    g = s.groups.get(name)
    if g is None:
        g = s.groups[name] = Group(name)
    return g


def _producer(s: ViewState, name: str) -> Producer:
    p = s.producers.get(name)
    if p is None:
        p = s.producers[name] = Producer(name)
    return p


def _started(s: ViewState, r: ScenarioStarted) -> None:
    s.scenario, s.title, s.broker, s.follows = r.scenario, r.title, r.broker, r.follows
    s.settings = dict(r.settings)
    # A cluster's header names its nodes and their settings; one node says "broker (one node)".
    nodes = r.settings.get("cluster.nodes")
    if nodes and "cluster.election_timeout_ms" in r.settings:
        s.cluster = _cluster_of(nodes.split(","), r.settings)


def _cluster_of(nodes: list[str], settings: dict[str, str]) -> ClusterView:
    """The cluster as the header states it: ``connection.<client>``, ``queue.<name>.node``."""
    cluster = ClusterView(nodes)
    for key, value in settings.items():
        if key.startswith("connection."):
            cluster.clients[key.removeprefix("connection.")] = value
        elif key.startswith("queue.") and key.endswith(".node"):
            cluster.homes[key.removeprefix("queue.").removesuffix(".node")] = value
    return cluster


# -- a RabbitMQ cluster: elections, commits, availability, reconnections, partitions ------


def _quorum_leader_elected(s: ViewState, r: QuorumLeaderElected) -> None:
    if s.cluster is None:
        return
    q = s.cluster.quorum.get(r.group)
    if q is None:
        q = s.cluster.quorum[r.group] = QuorumView(list(r.members))
    q.members, q.leader, q.term = list(r.members), r.leader, r.term


def _write_committed(s: ViewState, r: QuorumWriteCommitted) -> None:
    q = s.cluster.quorum.get(r.group) if s.cluster is not None else None
    if q is not None:
        q.committed, q.replicas = r.index, list(r.replicas)


def _queue_unavailable(s: ViewState, r: QueueUnavailable) -> None:
    if s.cluster is None:
        return
    s.cluster.unavailable[r.group] = r.reason
    q = s.cluster.quorum.get(r.group)
    if q is not None:
        q.leader = None


def _queue_available(s: ViewState, r: QueueAvailable) -> None:
    if s.cluster is None:
        return
    s.cluster.unavailable.pop(r.group, None)
    q = s.cluster.quorum.get(r.group)
    if q is not None:
        q.leader = r.node


def _publisher_blocked(s: ViewState, r: PublisherBlocked) -> None:
    p = _producer(s, r.producer)
    if p.state != "crashed":
        p.state = "blocked"


def _publisher_unblocked(s: ViewState, r: PublisherUnblocked) -> None:
    p = _producer(s, r.producer)
    if p.state == "blocked":
        p.state = "running"


def _client_reconnected(s: ViewState, r: ClientReconnected) -> None:
    if s.cluster is not None:
        s.cluster.clients[r.client] = r.node


def _partitioned(s: ViewState, r: NetworkPartitioned) -> None:
    cluster = s.cluster
    if cluster is not None and all(n in cluster.nodes for n in r.between) and len(r.between) == 2:
        pair = (r.between[0], r.between[1])
        if pair not in cluster.cut:
            cluster.cut.append(pair)


def _healed(s: ViewState, r: NetworkHealed) -> None:
    cluster = s.cluster
    if cluster is not None and len(r.between) == 2:
        pair = (r.between[0], r.between[1])
        if pair in cluster.cut:
            cluster.cut.remove(pair)


def _finished(s: ViewState, r: RunFinished) -> None:
    s.finished = r.reason


def _produced(s: ViewState, r: Produced) -> None:
    p = _producer(s, r.producer)
    p.produced += 1
    p.in_flight[r.msg] = r.seq


def _appended(s: ViewState, r: Appended) -> None:
    lane = _lane(s, r.topic, r.partition)
    lane.log_end = max(lane.log_end, r.offset + 1)
    recent = lane.recent
    recent.append((r.offset, r.msg, r.key))
    if len(recent) > CHIPS:
        del recent[0]


def _acked(s: ViewState, r: Acked) -> None:
    p = _producer(s, r.producer)
    p.acked += 1
    p.in_flight.pop(r.msg, None)


def _sent_unacknowledged(s: ViewState, r: SentUnacknowledged) -> None:
    """Gone without an answer: no longer in flight, and not acked either."""
    _producer(s, r.producer).in_flight.pop(r.msg, None)


def _produce_retried(s: ViewState, r: ProduceRetried) -> None:
    _producer(s, r.producer).retries += 1


def _produce_failed(s: ViewState, r: ProduceFailed) -> None:
    p = _producer(s, r.producer)
    p.failed += 1
    p.in_flight.pop(r.msg, None)


def _delivered(s: ViewState, r: Delivered) -> None:
    c = _consumer(s, r.consumer, r.group)
    if r.partition is None:
        # A queue broker: the group is the queue; the message moves from ready to unacked.
        lane = _queue(s, r.group)
        key = _dequeue(lane, r.msg)
        lane.unacked[r.msg] = (key if key is not None else r.key, r.consumer)
        c.in_flight[r.msg] = lane.name
    else:
        c.in_flight[r.msg] = lane_name(r.topic, r.partition)
    c.last = f"m{r.msg}"


def _enqueued(s: ViewState, r: Enqueued) -> None:
    lane = _queue(s, r.group)
    _enqueue(lane, r.msg, r.key)
    lane.log_end += 1


def _redriven(s: ViewState, r: Redriven) -> None:
    """Back from the dead-letter queue into ``r.group``, its source queue."""
    lane = _queue(s, r.group)
    _enqueue(lane, r.msg, _key_of(s, r.msg))
    lane.log_end += 1


def _key_of(s: ViewState, msg: int) -> str | None:
    """The message's key, from any queue that holds it (``Redriven`` does not carry it)."""
    for lane in s.lanes.values():
        for m, key in lane.ready:
            if m == msg:
                return key
        held = lane.unacked.get(msg)
        if held is not None:
            return held[0]
    return None


def _routed(s: ViewState, r: Routed) -> None:
    for name in r.queues:
        lane = _queue(s, name)
        _enqueue(lane, r.msg, r.key)
        lane.log_end += 1


def _requeued(s: ViewState, r: Requeued) -> None:
    lane = _queue(s, r.group)
    _enqueue(lane, r.msg, _dequeue(lane, r.msg), r.position)


def _visible_again(s: ViewState, r: VisibilityExpired) -> None:
    lane = _queue(s, r.group)
    _enqueue(lane, r.msg, _dequeue(lane, r.msg))


def _left_queue(
    s: ViewState,
    r: DeadLettered | MessageDeleted | MessageExpired | QueueOverflowed | MessageLostOnRestart,
) -> None:
    """Acked, deleted, expired, overflowed or dead-lettered: gone from this queue."""
    lane = s.lanes.get(r.group)
    if lane is not None and lane.queue:
        _dequeue(lane, r.msg)
    # A deletion names the consumer that held it; the others come from the queue itself.
    consumer = r.consumer if isinstance(r, MessageDeleted) else None
    for c in s.consumers.values():
        if c.name == consumer or (consumer is None and c.group == r.group):
            c.in_flight.pop(r.msg, None)


def _delivery_acked(s: ViewState, r: DeliveryAcked) -> None:
    lane = _queue(s, r.group)
    _dequeue(lane, r.msg)
    if r.multiple and r.count > 1:
        # ack multiple=true settles every earlier delivery to this consumer too.
        earlier = [m for m, (_, c) in lane.unacked.items() if c == r.consumer and m != r.msg]
        for m in earlier[: r.count - 1]:
            lane.unacked.pop(m, None)


def _processed(s: ViewState, r: Processed) -> None:
    c = _consumer(s, r.consumer, r.group)
    c.in_flight.pop(r.msg, None)
    c.processed += 1
    c.last = f"m{r.msg}"


def _consumer_done_with(s: ViewState, r: Skipped) -> None:
    consumer = s.consumers.get(r.consumer)
    if consumer is not None:
        consumer.in_flight.pop(r.msg, None)


def _committed(s: ViewState, r: Committed) -> None:
    _lane(s, r.topic, r.partition).committed[r.group] = r.offset


def _joined(s: ViewState, r: MemberJoined) -> None:
    g = _group(s, r.group)
    if r.consumer not in g.members:
        g.members.append(r.consumer)
    g.state = "rebalancing" if g.generation else "joining"
    c = _consumer(s, r.consumer, r.group)
    if c.state != "crashed":
        c.state = "running"


def _left(s: ViewState, r: MemberLeft) -> None:
    g = _group(s, r.group)
    if r.consumer in g.members:
        g.members.remove(r.consumer)
    g.state = "rebalancing"
    c = _consumer(s, r.consumer, r.group)
    c.owned = []
    c.in_flight.clear()
    if c.state != "crashed":
        c.state = "left"


def _rebalanced(s: ViewState, r: Rebalanced) -> None:
    g = _group(s, r.group)
    g.generation, g.assignor, g.state = r.generation, r.assignor, "stable"
    for name, c in s.consumers.items():
        if c.group == r.group:
            c.owned = list(r.assignment.get(name, []))
    for name, owned in r.assignment.items():
        c = _consumer(s, name, r.group)
        c.owned = list(owned)
        if c.state == "restarted":
            c.state = "running"
        if name not in g.members:
            g.members.append(name)


def _position_reset(s: ViewState, r: PositionReset) -> None:
    _lane(s, r.topic, r.partition)


def _truncated(s: ViewState, r: LogTruncated) -> None:
    lane = _lane(s, r.topic, r.partition)
    lane.log_start = max(lane.log_start, r.log_start_offset)
    lane.recent = [c for c in lane.recent if c[0] >= lane.log_start]


def _compacted(s: ViewState, r: LogCompacted) -> None:
    _lane(s, r.topic, r.partition).compacted += r.removed  # tombstones included


def _crashed(s: ViewState, r: Crashed) -> None:
    name = r.component
    if name in s.consumers:
        c = s.consumers[name]
        c.state, c.owned = "crashed", []
        c.in_flight.clear()
    elif name in s.producers:
        s.producers[name].state = "crashed"
    elif name not in s.crashed:
        s.crashed.append(name)


def _restarted(s: ViewState, r: Restarted) -> None:
    name = r.component
    if name in s.consumers:
        s.consumers[name].state = "restarted"
    elif name in s.producers:
        s.producers[name].state = "running"
    elif name in s.crashed:
        s.crashed.remove(name)


# -- a cluster's replicas ------------------------------------------------------------------


def _replication(s: ViewState, topic: str, partition: int) -> Replication:
    name = lane_name(topic, partition)
    rep = s.replication.get(name)
    if rep is None:
        rep = s.replication[name] = Replication()
    return rep


def _leader_elected(s: ViewState, r: LeaderElected) -> None:
    rep = _replication(s, r.topic, r.partition)
    rep.leader, rep.epoch, rep.high_watermark = r.leader, r.leader_epoch, r.high_watermark
    rep.replicas, rep.isr = list(r.replicas), list(r.isr)
    lane = _lane(s, r.topic, r.partition)
    # The partition is the new leader's log now: records only the old one had are gone.
    lane.log_end = r.log_end_offset
    lane.recent = [chip for chip in lane.recent if chip[0] < r.log_end_offset]


def _partition_offline(s: ViewState, r: PartitionOffline) -> None:
    rep = _replication(s, r.topic, r.partition)
    rep.leader, rep.isr = None, list(r.isr)


def _isr_changed(s: ViewState, r: IsrShrunk | IsrExpanded) -> None:
    _replication(s, r.topic, r.partition).isr = list(r.isr)


def _high_watermark(s: ViewState, r: HighWatermarkAdvanced) -> None:
    _replication(s, r.topic, r.partition).high_watermark = r.high_watermark


# -- event store and CQRS ----------------------------------------------------------------


def _store(s: ViewState) -> StoreView:
    if s.store is None:
        s.store = StoreView()
    return s.store


def _projector(s: ViewState, name: str) -> ProjectorView:
    store = _store(s)
    p = store.projectors.get(name)
    if p is None:
        p = store.projectors[name] = ProjectorView(name)
    return p


def _event_stored(s: ViewState, r: EventStored) -> None:
    store = _store(s)
    store.head = max(store.head, r.position)
    store.streams[r.stream] = max(store.streams.get(r.stream, 0), r.version)


def _aggregate_loaded(s: ViewState, r: AggregateLoaded) -> None:
    streams = _store(s).streams
    streams[r.stream] = max(streams.get(r.stream, 0), r.version)


def _snapshot_taken(s: ViewState, r: SnapshotTaken) -> None:
    _store(s).snapshots[r.stream] = r.version


def _version_conflicted(s: ViewState, r: VersionConflicted) -> None:
    _store(s).conflicts += 1


def _command_rejected(s: ViewState, r: CommandRejected) -> None:
    _store(s).rejected += 1


def _projected(s: ViewState, r: Projected) -> None:
    p = _projector(s, r.projector)
    if p.rebuild_version is None:
        p.applied = max(p.applied, r.position)


def _checkpoint_saved(s: ViewState, r: CheckpointSaved) -> None:
    _projector(s, r.projector).checkpoint = r.position


def _projector_touched(
    s: ViewState, r: ProjectionSkipped | GapWaited | GapSkipped | ReadModelSnapshotted
) -> None:
    """Skips and gap waits: the projector exists, its numbers do not change."""
    _projector(s, r.projector)


def _queried(s: ViewState, r: ReadModelQueried) -> None:
    # A query answered from the event log (not a read model) names no projector.
    if r.source != "event-log":
        p = _projector(s, r.source)
        value = "∅" if r.value is None else r.value
        p.last_query = f"{r.key}={value}" + (" stale" if r.stale else "")
        p.stale_reads += 1 if r.stale else 0


def _rebuild_started(s: ViewState, r: RebuildStarted) -> None:
    p = _projector(s, r.projector)
    p.rebuild_version, p.rebuild_position, p.rebuild_head = r.version, 0, r.head


def _rebuild_progressed(s: ViewState, r: RebuildProgressed) -> None:
    p = _projector(s, r.projector)
    p.rebuild_version = r.version
    p.rebuild_position, p.rebuild_head = r.position, r.head


def _rebuild_finished(s: ViewState, r: RebuildFinished) -> None:
    p = _projector(s, r.projector)
    p.rebuild_version = None
    p.rebuilt = r.events


def _read_model_switched(s: ViewState, r: ReadModelSwitched) -> None:
    _projector(s, r.projector).reading = r.to_version


# -- stream processors and sagas ---------------------------------------------------------


def _windows(s: ViewState, group: str) -> WindowsView:
    w = s.windows.get(group)
    if w is None:
        w = s.windows[group] = WindowsView(group)
    return w


def _watermark(s: ViewState, r: WatermarkAdvanced) -> None:
    _windows(s, r.group).watermark_ms = r.watermark_ms


def _window_opened(s: ViewState, r: WindowOpened) -> None:
    w = _windows(s, r.group)
    name = f"{r.key}@{r.start_ms}"
    if name not in w.open:
        w.open.append(name)


def _window_emitted(s: ViewState, r: WindowEmitted) -> None:
    _windows(s, r.group).emitted += 1


def _window_closed(s: ViewState, r: WindowClosed) -> None:
    w = _windows(s, r.group)
    name = f"{r.key}@{r.start_ms}"
    if name in w.open:
        w.open.remove(name)


def _late_dropped(s: ViewState, r: LateRecordDropped) -> None:
    _windows(s, r.group).late += 1


def _state_restored(s: ViewState, r: StateRestored) -> None:
    _windows(s, r.group).restored += 1


def _saga(s: ViewState, saga: str) -> SagaView:
    v = s.sagas.get(saga)
    if v is None:
        v = s.sagas[saga] = SagaView(saga)
    return v


def _saga_started(s: ViewState, r: SagaStarted) -> None:
    _saga(s, r.saga).mode = r.mode


def _saga_step(s: ViewState, r: SagaStepCompleted) -> None:
    v = _saga(s, r.saga)
    v.step = r.step
    v.steps += 1


def _saga_failed(s: ViewState, r: SagaStepFailed) -> None:
    v = _saga(s, r.saga)
    v.step, v.status = r.step, "failed"


def _saga_compensated(s: ViewState, r: SagaCompensated) -> None:
    v = _saga(s, r.saga)
    v.step, v.status = r.step, "compensating"


def _saga_timed_out(s: ViewState, r: SagaTimedOut) -> None:
    v = _saga(s, r.saga)
    v.step, v.status = r.step, "timed out"


def _saga_completed(s: ViewState, r: SagaCompleted) -> None:
    _saga(s, r.saga).status = r.outcome


# -- marks on messages and running timers -------------------------------------------------


def _flags(s: ViewState, msg: int) -> Flags:
    f = s.flags.get(msg)
    if f is None:
        f = s.flags[msg] = Flags()
        if len(s.flags) > FLAGS_KEPT:
            del s.flags[next(iter(s.flags))]
    return f


def _setting_ms(s: ViewState, key: str) -> int | None:
    value = s.settings.get(key)
    if value is None:
        return None
    try:
        return int(value)
    except ValueError:
        return None


def _start(s: ViewState, timer: Timer) -> None:
    key = f"{timer.kind}:{timer.owner}:{timer.label}"
    s.timers.pop(key, None)
    s.timers[key] = timer
    if len(s.timers) > TIMERS_KEPT:
        del s.timers[next(iter(s.timers))]


def _stop(s: ViewState, key: str, at_ms: int, fired: bool = False) -> None:
    """The timer ends here; if it ran out (this record is what it caused), it fired."""
    timer = s.timers.pop(key, None)
    if timer is not None and (fired or at_ms >= timer.due_ms):
        s.fired = timer


def _stop_msg(
    s: ViewState, kinds: tuple[str, ...], msg: int, at_ms: int, fired: bool = False
) -> None:
    label = f"m{msg}"
    for key in [k for k, t in s.timers.items() if t.kind in kinds and t.label.startswith(label)]:
        if s.timers[key].label.split(" ", 1)[0] == label:
            _stop(s, key, at_ms, fired)


def _mark_delivered(s: ViewState, r: Delivered) -> None:
    if r.redelivered:
        _flags(s, r.msg).deliveries += 1
    elif r.msg in s.flags:
        s.flags[r.msg].deliveries += 1
    _stop_msg(s, ("retry", "ttl"), r.msg, r.at)
    if r.partition is None:
        vis = _setting_ms(s, f"queue.{r.group}.VisibilityTimeout_ms")
        if vis is not None:
            _start(
                s, Timer("visibility", r.group, f"m{r.msg} → {r.consumer}", r.at, r.at + vis, r.seq)
            )
    else:
        poll = _setting_ms(s, f"group.{r.group}.max.poll.interval.ms")
        if poll is not None and poll <= MAX_POLL_SHOWN_MS:
            _start(s, Timer("max.poll", r.consumer, "poll", r.at, r.at + poll, r.seq))
        every = _setting_ms(s, f"group.{r.group}.auto.commit.interval.ms")
        if every is not None and f"auto-commit:{r.group}:commit" not in s.timers:
            _start(s, Timer("auto-commit", r.group, "commit", r.at, r.at + every, r.seq))


MAX_POLL_SHOWN_MS = 60_000
"""``max.poll.interval.ms`` is drawn only when a lesson sets it this low (Kafka's is 5 min)."""


def _mark_processed(s: ViewState, r: Processed) -> None:
    if r.msg in s.flags:
        s.flags[r.msg].processed += 1


def _mark_visibility(s: ViewState, r: VisibilityChanged) -> None:
    for key, t in list(s.timers.items()):
        if (
            t.kind == "visibility"
            and t.owner == r.group
            and t.label.split(" ", 1)[0] == f"m{r.msg}"
        ):
            s.timers[key] = Timer(t.kind, t.owner, t.label, r.at, r.at + r.timeout_ms, r.seq)


def _mark_settled(s: ViewState, r: MessageDeleted | DeadLettered | DeliveryAcked) -> None:
    _stop_msg(s, ("visibility", "retry", "ttl"), r.msg, r.at)


def _mark_expired(s: ViewState, r: VisibilityExpired | MessageExpired) -> None:
    kinds = ("visibility",) if isinstance(r, VisibilityExpired) else ("ttl",)
    _stop_msg(s, kinds, r.msg, r.at, fired=True)  # the expiry is what the timer caused
    if isinstance(r, VisibilityExpired):
        _flags(s, r.msg)


def _mark_enqueued(s: ViewState, r: Enqueued) -> None:
    if s.settings.get("queue.type") == "FIFO":
        window = FIFO_DEDUP_WINDOW_MS
        _start(s, Timer("dedup", r.group, f"m{r.msg}", r.at, r.at + window, r.seq))
    ttl = _setting_ms(s, f"queue.{r.group}.x-message-ttl")
    if ttl is not None:
        _start(s, Timer("ttl", r.group, f"m{r.msg}", r.at, r.at + ttl, r.seq))


FIFO_DEDUP_WINDOW_MS = 300_000
"""SQS FIFO queues drop a repeated deduplication id for five minutes."""


def _mark_routed(s: ViewState, r: Routed) -> None:
    for queue in r.queues:
        ttl = _setting_ms(s, f"queue.{queue}.x-message-ttl")
        if ttl is not None:
            _start(s, Timer("ttl", queue, f"m{r.msg}", r.at, r.at + ttl, r.seq))


def _mark_retry(s: ViewState, r: RetryScheduled) -> None:
    label = f"m{r.msg} #{r.attempt}"
    _start(s, Timer("retry", r.consumer, label, r.at, r.at + r.delay_ms, r.seq))


def _mark_failed(s: ViewState, r: ProcessingFailed) -> None:
    _stop_msg(s, ("retry",), r.msg, r.at)


def _mark_backoff(s: ViewState, r: ProduceRetried) -> None:
    _stop_msg(s, ("backoff",), r.msg, r.at)
    label = f"m{r.msg} #{r.attempt}"
    _start(s, Timer("backoff", r.producer, label, r.at, r.at + r.backoff_ms, r.seq))


def _mark_produce_done(s: ViewState, r: Appended | Acked | ProduceFailed) -> None:
    _stop_msg(s, ("backoff",), r.msg, r.at)


def _mark_committed(s: ViewState, r: Committed) -> None:
    key = f"auto-commit:{r.group}:commit"
    every = _setting_ms(s, f"group.{r.group}.auto.commit.interval.ms")
    if every is not None:
        _stop(s, key, r.at)
        _start(s, Timer("auto-commit", r.group, "commit", r.at, r.at + every, r.seq))


def _mark_crashed(s: ViewState, r: Crashed) -> None:
    c = s.consumers.get(r.component)
    if c is None:
        return
    for key in [k for k, t in s.timers.items() if t.owner == c.name and t.kind == "max.poll"]:
        del s.timers[key]
    session = _setting_ms(s, f"group.{c.group}.session.timeout.ms")
    if session is not None:
        _start(s, Timer("session", c.name, "session", r.at, r.at + session, r.seq))


def _mark_left(s: ViewState, r: MemberLeft) -> None:
    # The group's own reason says which clock ran out (the last heartbeat, not the crash,
    # starts a session's count, so the bar drawn from the crash is an upper bound).
    _stop(s, f"session:{r.consumer}:session", r.at, r.reason == "session_timeout")
    _stop(s, f"max.poll:{r.consumer}:poll", r.at, "poll" in r.reason)


def _mark_duplicate(s: ViewState, r: DuplicateDetected) -> None:
    _flags(s, r.msg).dup = True


def _mark_order(s: ViewState, r: OrderViolated) -> None:
    _flags(s, r.msg).overtook = r.after_seq


def _mark_lost(s: ViewState, r: MessageLost) -> None:
    where = r.group
    for lane in s.lanes.values():
        if any(m == r.msg for _, m, _ in lane.recent) or r.msg in lane.unacked:
            where = lane.name
            break
    _flags(s, r.msg).lost_at = where


def _mark_saga_step(s: ViewState, r: SagaStarted | SagaStepCompleted) -> None:
    _stop(s, f"saga:{r.saga}:step", r.at)
    wait = _setting_ms(s, "saga.step_timeout_ms")
    if wait is not None:
        _start(s, Timer("saga", r.saga, "step", r.at, r.at + wait, r.seq))


def _mark_saga_end(s: ViewState, r: SagaTimedOut | SagaCompleted | SagaStepFailed) -> None:
    _stop(s, f"saga:{r.saga}:step", r.at)


_Handler = Callable[[ViewState, Any], None]
R = TypeVar("R", bound=Record)


def _on(kind: type[R], handler: Callable[[ViewState, R], None]) -> tuple[type[Record], _Handler]:
    """One row of the table; mypy checks that ``handler`` takes a ``kind`` record."""
    return kind, handler


_HANDLERS: dict[type[Record], _Handler] = dict(
    [
        _on(ScenarioStarted, _started),
        _on(QuorumLeaderElected, _quorum_leader_elected),
        _on(QuorumWriteCommitted, _write_committed),
        _on(QueueUnavailable, _queue_unavailable),
        _on(QueueAvailable, _queue_available),
        _on(ClientReconnected, _client_reconnected),
        _on(PublisherBlocked, _publisher_blocked),
        _on(PublisherUnblocked, _publisher_unblocked),
        _on(NetworkPartitioned, _partitioned),
        _on(NetworkHealed, _healed),
        _on(RunFinished, _finished),
        # producing and the log
        _on(Produced, _produced),
        _on(Appended, _appended),
        _on(Acked, _acked),
        _on(SentUnacknowledged, _sent_unacknowledged),
        _on(ProduceRetried, _produce_retried),
        _on(ProduceFailed, _produce_failed),
        _on(LogTruncated, _truncated),
        _on(LogCompacted, _compacted),
        # consuming and groups
        _on(Delivered, _delivered),
        _on(Processed, _processed),
        _on(Skipped, _consumer_done_with),
        _on(Committed, _committed),
        _on(MemberJoined, _joined),
        _on(MemberLeft, _left),
        _on(Rebalanced, _rebalanced),
        _on(PositionReset, _position_reset),
        # faults
        _on(Crashed, _crashed),
        _on(Restarted, _restarted),
        # a cluster's replicas
        _on(LeaderElected, _leader_elected),
        _on(PartitionOffline, _partition_offline),
        _on(IsrShrunk, _isr_changed),
        _on(IsrExpanded, _isr_changed),
        _on(HighWatermarkAdvanced, _high_watermark),
        # queue brokers
        _on(Enqueued, _enqueued),
        _on(Routed, _routed),
        _on(Requeued, _requeued),
        _on(VisibilityExpired, _visible_again),
        _on(Redriven, _redriven),
        _on(DeliveryAcked, _delivery_acked),
        _on(DeadLettered, _left_queue),
        _on(MessageDeleted, _left_queue),
        _on(MessageExpired, _left_queue),
        _on(QueueOverflowed, _left_queue),
        _on(MessageLostOnRestart, _left_queue),
        # event store and CQRS
        _on(EventStored, _event_stored),
        _on(AggregateLoaded, _aggregate_loaded),
        _on(SnapshotTaken, _snapshot_taken),
        _on(VersionConflicted, _version_conflicted),
        _on(CommandRejected, _command_rejected),
        _on(Projected, _projected),
        _on(ProjectionSkipped, _projector_touched),
        _on(ReadModelSnapshotted, _projector_touched),
        _on(CheckpointSaved, _checkpoint_saved),
        _on(GapWaited, _projector_touched),
        _on(GapSkipped, _projector_touched),
        _on(ReadModelQueried, _queried),
        _on(RebuildStarted, _rebuild_started),
        _on(RebuildProgressed, _rebuild_progressed),
        _on(RebuildFinished, _rebuild_finished),
        _on(ReadModelSwitched, _read_model_switched),
        # stream processors
        _on(WatermarkAdvanced, _watermark),
        _on(WindowOpened, _window_opened),
        _on(WindowEmitted, _window_emitted),
        _on(WindowClosed, _window_closed),
        _on(LateRecordDropped, _late_dropped),
        _on(StateRestored, _state_restored),
        # sagas
        _on(SagaStarted, _saga_started),
        _on(SagaStepCompleted, _saga_step),
        _on(SagaStepFailed, _saga_failed),
        _on(SagaCompensated, _saga_compensated),
        _on(SagaTimedOut, _saga_timed_out),
        _on(SagaCompleted, _saga_completed),
    ]
)
"""Record class → how it changes the view."""

_QUIET: frozenset[type[Record]] = frozenset(
    {
        ProduceDeduplicated,
        ProcessingFailed,
        RetryScheduled,
        CommitFailed,
        TransactionCommitted,
        TransactionAborted,
        NetworkDropped,
        NetworkDuplicated,
        DuplicateDetected,
        OrderViolated,
        MessageLost,
        MessageDropped,
        Nacked,
        VisibilityChanged,
        VisibilityChangeFailed,
        DeleteFailed,
        DedupDropped,
        LambdaInvoked,
        BatchItemFailed,
        WindowUpdated,
        SagaDuplicateIgnored,
        UpcastApplied,
        SnapshotDiscarded,
        UpdateLost,
        EventPublished,
        EventUnpublished,
        ReadModelMismatched,
        # a dropped publish and Lambda scaling (a cluster's and a blocked publisher's have handlers)
        PublishDropped,
        LambdaScaled,
        LambdaThrottled,
        ReplicaFetched,
        ProduceRefused,
        MetadataRefreshed,
        LogTruncatedToEpoch,
        PowerLost,
        PageCacheLost,
        PartitionsAdded,
        ScaledOut,
        ScaledIn,
    }
)
"""Known classes that change only the counts, not a component's picture."""

_MARKS: dict[type[Record], _Handler] = dict(
    [
        _on(Delivered, _mark_delivered),
        _on(Processed, _mark_processed),
        _on(VisibilityChanged, _mark_visibility),
        _on(MessageDeleted, _mark_settled),
        _on(DeadLettered, _mark_settled),
        _on(DeliveryAcked, _mark_settled),
        _on(VisibilityExpired, _mark_expired),
        _on(MessageExpired, _mark_expired),
        _on(Enqueued, _mark_enqueued),
        _on(Routed, _mark_routed),
        _on(RetryScheduled, _mark_retry),
        _on(ProcessingFailed, _mark_failed),
        _on(ProduceRetried, _mark_backoff),
        _on(Appended, _mark_produce_done),
        _on(Acked, _mark_produce_done),
        _on(ProduceFailed, _mark_produce_done),
        _on(Committed, _mark_committed),
        _on(Crashed, _mark_crashed),
        _on(MemberLeft, _mark_left),
        _on(DuplicateDetected, _mark_duplicate),
        _on(OrderViolated, _mark_order),
        _on(MessageLost, _mark_lost),
        _on(SagaStarted, _mark_saga_step),
        _on(SagaStepCompleted, _mark_saga_step),
        _on(SagaTimedOut, _mark_saga_end),
        _on(SagaCompleted, _mark_saga_end),
        _on(SagaStepFailed, _mark_saga_end),
    ]
)
"""Record class → how it changes the marks on messages and the running timers."""


def _apply_in_place(s: ViewState, r: Record) -> None:
    cls = type(r)
    kind = cls.__name__
    counts = s.counts
    counts[kind] = counts.get(kind, 0) + 1
    s.applied += 1
    s.at_ms = r.at
    s.fired = None
    handler = _HANDLERS.get(cls)
    if handler is not None:
        handler(s, r)
    elif cls not in _QUIET:
        s.others[r.component] = kind
    marks = _MARKS.get(cls)
    if marks is not None:
        marks(s, r)


def apply(state: ViewState, record: Record) -> ViewState:
    """The state after ``record``; ``state`` itself is left untouched."""
    new = state.copy()
    _apply_in_place(new, record)
    return new


def fold(state: ViewState, records: Iterable[Record]) -> ViewState:
    """Apply ``records`` in order; equal to chaining ``apply``, one copy instead of many."""
    new = state.copy()
    for r in records:
        _apply_in_place(new, r)
    return new
