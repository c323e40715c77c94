"""The log model's scenario sections, their checks, and the settings it reports.

Most of Kafka's settings are the core ones (``[[topics]]`` partitions and
retention, producer acks and idempotence, group commit and poll settings).
What only a Kafka *cluster* has lives in ``[log]``: how many brokers, the
replication factor and ``min.insync.replicas`` (broker defaults, and per topic
under ``[log.topics.NAME]``), unclean leader election, the timings of
replication and of the controller, ``flush.messages``, and partitions added
while the lesson runs (``[[log.add_partitions]]``). A group may be scaled on
its lag by a KEDA-style autoscaler (``[groups.log.autoscale]``).

Defaults are Kafka 3.x's: one broker, ``default.replication.factor=1``,
``min.insync.replicas=1``, ``unclean.leader.election.enable=false``,
``replica.lag.time.max.ms=30000``, KRaft's ``broker.session.timeout.ms=9000``,
``flush.messages`` unlimited. A lesson that asks for none of it runs the
one-broker model, and its trace header is exactly what it always was;
``settings_for`` lists the cluster's settings only when there is a cluster.
"""

from __future__ import annotations

from typing import Annotated

import msgspec

from simulator.errors import InputError
from simulator.scenario.schema import Crash, Group, NonNegative, Positive, Scenario, Table
from simulator.scenario.validation import cap, ref

__all__ = [
    "AddPartitions",
    "Autoscale",
    "Log",
    "LogGroup",
    "LogTopic",
    "broker_names",
    "clustered",
    "group_args",
    "log_args",
    "machines",
    "replicas_of",
    "replication_of",
    "settings_for",
    "topic_args",
    "validate",
]

MAX_BROKERS = 16


class LogTopic(Table, frozen=True):
    """``[log.topics.NAME]``: a topic's own replication settings (unset: the broker default)."""

    replication_factor: Positive | None = None
    """``replication.factor``: how many brokers hold a copy of each partition."""
    min_insync_replicas: Positive | None = None
    """``min.insync.replicas``: with ``acks=all``, fewer ISR members refuse the write."""
    unclean_leader_election: bool | None = None
    """``unclean.leader.election.enable``."""
    flush_messages: Positive | None = None
    """``flush.messages``: fsync after this many records (unset: the broker default)."""


class AddPartitions(Table, frozen=True):
    """``[[log.add_partitions]]``: at ``at_ms``, raise a topic's partition count.

    Like ``kafka-topics.sh --alter --partitions N``: ``partitions`` is the new
    total, and a partition count can only grow.
    """

    topic: str
    at_ms: NonNegative
    partitions: Positive


class Log(Table, frozen=True):
    """``[log]``: the Kafka cluster: brokers, replication, durability, the controller."""

    brokers: Annotated[int, msgspec.Meta(ge=1, le=MAX_BROKERS)] = 1
    """Brokers ``broker-1`` … ``broker-N``; with 1, the one-broker model runs (named ``broker``)."""
    default_replication_factor: Positive = 1
    """``default.replication.factor``: copies of each partition of a topic that sets none."""
    min_insync_replicas: Positive = 1
    """``min.insync.replicas``: the broker default."""
    unclean_leader_election: bool = False
    """``unclean.leader.election.enable``: let an out-of-sync replica lead (and lose records)."""
    replica_lag_time_max_ms: Positive = 30_000
    """``replica.lag.time.max.ms``: a follower behind for longer leaves the ISR."""
    replica_fetch_wait_max_ms: Positive = 500
    """``replica.fetch.wait.max.ms``: how long a leader holds a follower's fetch with no data."""
    replica_socket_timeout_ms: Positive = 30_000
    """``replica.socket.timeout.ms``: a follower gives up on an unanswered fetch and sends again."""
    broker_session_timeout_ms: Positive = 9_000
    """``broker.session.timeout.ms`` (KRaft): the controller fences a silent broker after this."""
    flush_messages: Positive | None = None
    """``flush.messages``: fsync after this many records; unset: never (Kafka's default)."""
    dirty_expire_ms: Positive = 30_000
    """The operating system writes a dirty page to disk once it is this old (Linux's
    ``vm.dirty_expire_centisecs`` is 30 s): until then, only the page cache holds it."""
    metadata_max_age_ms: Positive = 300_000
    """Clients' ``metadata.max.age.ms``: producers and groups notice new partitions this often."""
    topics: dict[str, LogTopic] = msgspec.field(default_factory=dict)
    add_partitions: list[AddPartitions] = msgspec.field(default_factory=list)


class Autoscale(Table, frozen=True):
    """``[groups.log.autoscale]``: scale a group's consumers on its lag, as KEDA's Kafka scaler.

    Every ``polling_interval_ms`` the scaler reads the group's lag (records in its
    partitions past its committed offsets) and asks for ``ceil(lag / lag_threshold)``
    consumers, between ``min_consumers`` and ``max_consumers`` — and no more than
    the topic has partitions, unless ``allow_idle_consumers``. More are started at
    once (each takes ``startup_ms`` to join); fewer only once the lower count has
    been asked for over a whole ``cooldown_ms`` (the Kubernetes HPA's scale-down
    stabilization window, 5 minutes by default).
    """

    min_consumers: Positive = 1
    """KEDA's ``minReplicaCount`` (KEDA can scale to zero; here a group keeps one member)."""
    max_consumers: Positive = 100
    """KEDA's ``maxReplicaCount``."""
    lag_threshold: Positive = 10
    """KEDA's ``lagThreshold``: the lag one consumer is meant to carry."""
    polling_interval_ms: Positive = 30_000
    """KEDA's ``pollingInterval``."""
    cooldown_ms: NonNegative = 300_000
    """Scale in only to the highest count asked for during this window."""
    startup_ms: NonNegative = 5_000
    """From the scaler's decision until the new consumer joins the group (a pod starting)."""
    startup_jitter_ms: NonNegative = 0
    """Each new pod takes up to this much longer, drawn from the seed: pods pulled, scheduled
    and started on different nodes become ready one by one — and each one's join is a rebalance."""
    allow_idle_consumers: bool = False
    """KEDA's ``allowIdleConsumers``: more consumers than partitions (the extra ones idle)."""


class LogGroup(Table, frozen=True):
    """``[groups.log]``: what a log group has beyond the core settings."""

    autoscale: Autoscale | None = None


_DEFAULT_LOG = Log()
_DEFAULT_TOPIC = LogTopic()
_DEFAULT_GROUP = LogGroup()


def log_args(s: Scenario) -> Log:
    """The scenario's ``[log]`` (its defaults if the file has none)."""
    args = getattr(s, "log", None)
    return args if isinstance(args, Log) else _DEFAULT_LOG


def group_args(g: Group) -> LogGroup:
    """The group's ``[groups.log]`` (its defaults if the file has none)."""
    args = getattr(g, "log", None)
    return args if isinstance(args, LogGroup) else _DEFAULT_GROUP


def topic_args(args: Log, topic: str) -> LogTopic:
    return args.topics.get(topic, _DEFAULT_TOPIC)


def clustered(s: Scenario) -> bool:
    """Whether the scenario runs a cluster of brokers (and so replication)."""
    return log_args(s).brokers > 1


def broker_names(count: int) -> list[str]:
    return [f"broker-{i}" for i in range(1, count + 1)]


def machines(s: Scenario) -> list[str]:
    """The brokers of the scenario's cluster, for faults and narration (none with one broker)."""
    return broker_names(log_args(s).brokers) if clustered(s) else []


# -- checks ----------------------------------------------------------------------------------


def validate(s: Scenario, file: str) -> None:
    """Replication fits the cluster; added partitions and autoscaled groups make sense."""
    args = log_args(s)
    topics = {t.name: t for t in s.topics}
    for name in args.topics:
        ref(file, f"$.log.topics.{name}", name, list(topics), "topic")
    if args.default_replication_factor > args.brokers:
        raise InputError(
            file,
            "$.log.default_replication_factor",
            f"{args.default_replication_factor} copies need as many brokers (brokers ="
            f" {args.brokers}); Kafka refuses it with INVALID_REPLICATION_FACTOR",
        )
    for name, t in args.topics.items():
        if t.replication_factor is not None and t.replication_factor > args.brokers:
            raise InputError(
                file,
                f"$.log.topics.{name}.replication_factor",
                f"{t.replication_factor} copies need as many brokers (brokers = {args.brokers})",
            )
    if clustered(s):
        _validate_cluster(s, file)
    _validate_added_partitions(s, file, args, list(topics))
    for i, g in enumerate(s.groups):
        scale = group_args(g).autoscale
        if scale is not None:
            _validate_autoscale(s, file, f"$.groups[{i}]", g, scale)


def _validate_cluster(s: Scenario, file: str) -> None:
    args = log_args(s)
    for i, t in enumerate(s.topics):
        if _replication_factor(args, t.name) == 1:
            continue
        if t.retention_ms or t.retention_messages or t.compaction:
            raise InputError(
                file,
                f"$.topics[{i}]",
                "retention and compaction are not modelled on replicated topics"
                " (set its replication_factor to 1, or drop them)",
            )
    for i, f in enumerate(s.faults):
        if isinstance(f, Crash) and f.target == "broker":
            raise InputError(
                file,
                f"$.faults[{i}].target",
                f"in a cluster, crash a broker by name ({', '.join(machines(s))})",
            )


def _validate_added_partitions(s: Scenario, file: str, args: Log, topics: list[str]) -> None:
    counts = {t.name: t.partitions for t in s.topics}
    limit = cap(s, "virtual_ms")
    order = sorted(range(len(args.add_partitions)), key=lambda j: args.add_partitions[j].at_ms)
    for i in order:
        change = args.add_partitions[i]
        at = f"$.log.add_partitions[{i}]"
        ref(file, f"{at}.topic", change.topic, topics, "topic")
        if change.partitions <= counts[change.topic]:
            raise InputError(
                file,
                f"{at}.partitions",
                f"{change.topic!r} has {counts[change.topic]} partitions by then: the new"
                " total must be higher (a partition count only grows)",
            )
        if change.partitions > cap(s, "partitions_per_topic"):
            raise InputError(
                file,
                f"{at}.partitions",
                f"over the cap of {cap(s, 'partitions_per_topic')} partitions per topic",
            )
        if change.at_ms > limit:
            raise InputError(
                file, f"{at}.at_ms", f"{change.at_ms} ms is past the virtual-time cap of {limit} ms"
            )
        counts[change.topic] = change.partitions


def _validate_autoscale(s: Scenario, file: str, at: str, g: Group, scale: Autoscale) -> None:
    where = f"{at}.log.autoscale"
    if not isinstance(g.consumers, int):
        raise InputError(
            file, f"{at}.consumers", "an autoscaled group starts with a count, not named consumers"
        )
    if scale.min_consumers > scale.max_consumers:
        raise InputError(file, f"{where}.min_consumers", "must not be above max_consumers")
    if not scale.min_consumers <= g.consumers <= scale.max_consumers:
        raise InputError(
            file,
            f"{at}.consumers",
            f"an autoscaled group starts between min_consumers ({scale.min_consumers}) and"
            f" max_consumers ({scale.max_consumers})",
        )
    if scale.max_consumers > cap(s, "consumers_per_group"):
        raise InputError(
            file,
            f"{where}.max_consumers",
            f"over the cap of {cap(s, 'consumers_per_group')} consumers per group",
        )
    taken = {p.name for p in s.producers} | {o.name for o in s.groups if o is not g}
    for o in s.groups:
        if o is not g:
            taken.update(o.consumer_names())
    for n in range(g.consumers, scale.max_consumers):
        name = f"{g.name}-{n}"
        if name in taken:
            raise InputError(
                file, f"{where}.max_consumers", f"the scaled consumer name {name!r} is taken"
            )


# -- what a cluster runs with -------------------------------------------------------------


def _replication_factor(args: Log, topic: str) -> int:
    own = topic_args(args, topic).replication_factor
    return own if own is not None else args.default_replication_factor


def replication_of(args: Log, topic: str) -> tuple[int, int, bool, int | None]:
    """(replication factor, min.insync.replicas, unclean election, flush.messages) in force."""
    own = topic_args(args, topic)
    return (
        _replication_factor(args, topic),
        own.min_insync_replicas
        if own.min_insync_replicas is not None
        else args.min_insync_replicas,
        own.unclean_leader_election
        if own.unclean_leader_election is not None
        else args.unclean_leader_election,
        own.flush_messages if own.flush_messages is not None else args.flush_messages,
    )


def replicas_of(brokers: int, replication_factor: int, partition: int) -> list[str]:
    """The brokers holding ``partition``'s replicas, the preferred leader first.

    Kafka's rack-unaware assignment, with its random starting broker fixed at the
    first one: partition ``p`` starts at broker ``p mod N`` and its followers are
    the next brokers round the ring, so leaders spread evenly over the cluster.
    """
    names = broker_names(brokers)
    return [names[(partition + j) % brokers] for j in range(replication_factor)]


# -- the trace header ------------------------------------------------------------------------


def settings_for(s: Scenario) -> dict[str, str]:
    """Every setting that shapes behaviour, defaults included, for the trace header."""
    out: dict[str, str] = {"network.latency_ms": str(s.network.latency_ms)}
    for t in s.topics:
        out[f"topic.{t.name}.partitions"] = str(t.partitions)
        if t.retention_messages:
            out[f"topic.{t.name}.retention_messages"] = str(t.retention_messages)
        if t.retention_ms:
            out[f"topic.{t.name}.retention.ms"] = str(t.retention_ms)
        if t.compaction:
            out[f"topic.{t.name}.cleanup.policy"] = "compact"
    for p in s.producers:
        prefix = f"producer.{p.name}"
        out[f"{prefix}.acks"] = str(p.acks)
        out[f"{prefix}.enable.idempotence"] = str(p.idempotent).lower()
        out[f"{prefix}.retries"] = str(p.retries)
        out[f"{prefix}.retry.backoff.ms"] = str(p.retry_backoff_ms)
        out[f"{prefix}.request.timeout.ms"] = str(p.request_timeout_ms)
        out[f"{prefix}.delivery.timeout.ms"] = str(p.delivery_timeout_ms)
        out[f"{prefix}.max.in.flight.requests.per.connection"] = str(p.max_in_flight)
        out[f"{prefix}.partitioner"] = "murmur2(key) % partitions; unkeyed: " + p.partitioner
    for g in s.groups:
        prefix = f"group.{g.name}"
        out[f"{prefix}.consumers"] = str(len(g.consumer_names()))
        out[f"{prefix}.partition.assignment.strategy"] = g.assignor
        out[f"{prefix}.commit"] = g.commit
        if g.commit == "auto":
            out[f"{prefix}.enable.auto.commit"] = "true"
            out[f"{prefix}.auto.commit.interval.ms"] = str(g.auto_commit_interval_ms)
        out[f"{prefix}.session.timeout.ms"] = str(g.session_timeout_ms)
        out[f"{prefix}.heartbeat.interval.ms"] = str(g.heartbeat_interval_ms)
        out[f"{prefix}.max.poll.interval.ms"] = str(g.max_poll_interval_ms)
        out[f"{prefix}.max.poll.records"] = str(g.max_poll_records)
        out[f"{prefix}.isolation.level"] = g.isolation
        out[f"{prefix}.auto.offset.reset"] = g.auto_offset_reset
        out[f"{prefix}.processing_ms"] = str(g.processing_ms)
        if g.retry.policy != "none":
            out[f"{prefix}.retry"] = f"{g.retry.policy} x{g.retry.attempts}"
        if g.retry_topics:
            out[f"{prefix}.retry_topics"] = ",".join(str(d) for d in g.retry_topics)
        if g.dead_letter_topic:
            out[f"{prefix}.dead_letter_topic"] = g.dead_letter_topic
        if g.processor:
            out[f"{prefix}.processor"] = g.processor
        scale = group_args(g).autoscale
        if scale is not None:
            out.update(_autoscale_settings(prefix, scale))
    # Stream processors and saga roles: every setting, so time semantics and
    # lateness are on screen next to the broker's own.
    for processor in s.processors:
        for field, value in msgspec.structs.asdict(processor).items():
            if field != "name" and value is not None and value != []:
                out[f"processor.{processor.name}.{field}"] = str(value)
    if s.saga is not None:
        for field, value in msgspec.structs.asdict(s.saga).items():
            if value is not None:
                out[f"saga.{field}"] = str(value)
    out.update(_cluster_settings(s))
    return out


def _autoscale_settings(prefix: str, scale: Autoscale) -> dict[str, str]:
    at = f"{prefix}.autoscale"
    return {
        f"{at}.minReplicaCount": str(scale.min_consumers),
        f"{at}.maxReplicaCount": str(scale.max_consumers),
        f"{at}.lagThreshold": str(scale.lag_threshold),
        f"{at}.pollingInterval.ms": str(scale.polling_interval_ms),
        f"{at}.cooldown.ms": str(scale.cooldown_ms),
        f"{at}.startup.ms": str(scale.startup_ms),
        f"{at}.startup.jitter.ms": str(scale.startup_jitter_ms),
        f"{at}.allowIdleConsumers": str(scale.allow_idle_consumers).lower(),
    }


def _cluster_settings(s: Scenario) -> dict[str, str]:
    """The cluster's settings: only when the scenario has a cluster or changes partitions."""
    args = log_args(s)
    out: dict[str, str] = {}
    if args.add_partitions:
        out["metadata.max.age.ms"] = str(args.metadata_max_age_ms)
        for change in args.add_partitions:
            out[f"topic.{change.topic}.partitions@{change.at_ms}ms"] = str(change.partitions)
    if not clustered(s):
        return out
    flush = args.flush_messages
    out.update(
        {
            "cluster.brokers": str(args.brokers),
            "cluster.controller": "KRaft (elections from the ISR, in assignment order)",
            "default.replication.factor": str(args.default_replication_factor),
            "min.insync.replicas": str(args.min_insync_replicas),
            "unclean.leader.election.enable": str(args.unclean_leader_election).lower(),
            "replica.lag.time.max.ms": str(args.replica_lag_time_max_ms),
            "replica.fetch.wait.max.ms": str(args.replica_fetch_wait_max_ms),
            "replica.socket.timeout.ms": str(args.replica_socket_timeout_ms),
            "broker.session.timeout.ms": str(args.broker_session_timeout_ms),
            "flush.messages": "unlimited (page cache only)" if flush is None else str(flush),
            "os.dirty_expire_ms": str(args.dirty_expire_ms),
        }
    )
    for t in s.topics:
        rf, min_isr, unclean, flush_t = replication_of(args, t.name)
        at = f"topic.{t.name}"
        out[f"{at}.replication.factor"] = str(rf)
        out[f"{at}.min.insync.replicas"] = str(min_isr)
        out[f"{at}.unclean.leader.election.enable"] = str(unclean).lower()
        out[f"{at}.flush.messages"] = "unlimited" if flush_t is None else str(flush_t)
        for p in range(min(t.partitions, 8)):
            out[f"{at}.{p}.replicas"] = ",".join(replicas_of(args.brokers, rf, p))
    return out
