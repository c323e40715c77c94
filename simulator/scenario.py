"""Scenario files: a lesson's topology, workload, faults, narration and expectations.

A scenario is a TOML file decoded straight into the msgspec Structs below, with
unknown fields refused, so a typo is an error that names its ``$.path`` rather
than a setting silently ignored. After decoding, ``validate`` checks what types
cannot: that names refer to things that exist and that sizes are sane and under
the caps that keep a run bounded. Defaults follow the real systems (Kafka 3.x
for the log broker) and are printed in every trace header.
"""

from __future__ import annotations

import re
from importlib import resources
from pathlib import Path
from typing import Annotated, Literal

import msgspec

from simulator.errors import InputError

__all__ = [
    "LIMITS",
    "MAX_SCENARIO_BYTES",
    "Beat",
    "Crash",
    "Expectation",
    "Fault",
    "Group",
    "Limits",
    "Predict",
    "Producer",
    "Scenario",
    "Topic",
    "builtin_names",
    "builtin_path",
    "load_scenario",
    "parse_expectation",
    "resolve_scenario",
]

NonNegative = Annotated[int, msgspec.Meta(ge=0)]
Positive = Annotated[int, msgspec.Meta(ge=1)]
Probability = Annotated[float, msgspec.Meta(ge=0.0, le=1.0)]


class _Spec(msgspec.Struct, kw_only=True, forbid_unknown_fields=True, frozen=True):
    """Base of every scenario section: keyword-only, frozen, unknown fields refused."""


class Text(_Spec, frozen=True):
    """A piece of lesson text in both languages."""

    en: str
    ko: str

    def get(self, lang: str) -> str:
        return self.ko if lang == "ko" else self.en


class Topic(_Spec, frozen=True):
    """A Kafka-style topic: ``partitions`` ordered, append-only logs."""

    name: str
    partitions: Positive = 1
    retention_messages: Positive | None = None
    """Keep at most this many records per partition (a stand-in for ``retention.bytes``)."""
    retention_ms: Positive | None = None
    """Delete records older than this (``retention.ms``; Kafka's default is 7 days)."""
    compaction: bool = False
    """``cleanup.policy=compact``: keep at least the latest value per key."""
    compaction_interval_ms: Positive = 10_000


class Producer(_Spec, frozen=True):
    """A producer client. Defaults are Kafka 3.x's (idempotence on, ``acks=all``)."""

    name: str
    topic: str
    acks: Literal[0, 1, "all"] = "all"
    idempotent: bool = True
    """``enable.idempotence``: on by default since Kafka 3.0."""
    retries: NonNegative = 2_147_483_647
    retry_backoff_ms: NonNegative = 100
    request_timeout_ms: Positive = 30_000
    delivery_timeout_ms: Positive = 120_000
    max_in_flight: Annotated[int, msgspec.Meta(ge=1, le=100)] = 5
    """``max.in.flight.requests.per.connection``."""
    use_key: bool = True
    """Send the message key as the record key (False: the key stays in the payload only)."""
    partitioner: Literal["sticky", "round-robin"] = "sticky"
    """How unkeyed records are spread over partitions."""
    sticky_batch: Positive = 16
    """With the sticky partitioner, records sent before switching to another partition."""


class RetryPolicy(_Spec, frozen=True):
    """What a consumer does when its handler fails on a message."""

    policy: Literal["none", "immediate", "fixed", "exponential"] = "none"
    attempts: Annotated[int, msgspec.Meta(ge=1, le=1000)] = 3
    """Total tries, the first one included."""
    backoff_ms: NonNegative = 100
    max_backoff_ms: NonNegative = 30_000
    multiplier: Annotated[float, msgspec.Meta(ge=1.0, le=100.0)] = 2.0
    jitter: Annotated[float, msgspec.Meta(ge=0.0, le=1.0)] = 0.0
    """Spread each backoff by up to this fraction, drawn from the seeded RNG."""


class RabbitQueue(_Spec, frozen=True):
    """Queue arguments and consumer options of a group under ``broker = "rabbitmq"``.

    ``[groups.rabbitmq]``; the group's name is the queue's name. Defaults are
    RabbitMQ 3.x's: a classic queue, no prefetch limit, no TTL, no length limit.
    """

    queue_type: Literal["classic", "quorum"] = "classic"
    """``x-queue-type``."""
    prefetch: NonNegative = 0
    """``basic.qos`` prefetch count per consumer: unacked deliveries it may hold (0 = unlimited)."""
    ack_multiple: Annotated[int, msgspec.Meta(ge=1, le=10_000)] = 1
    """Ack with ``multiple=true`` once per this many deliveries (1: ack each one)."""
    requeue_on_failure: bool = False
    """After the retry policy gives up: ``basic.nack(requeue=true)`` instead of a reject."""
    delivery_limit: Positive | None = None
    """``x-delivery-limit`` (quorum queues only): returns allowed before dead-lettering."""
    message_ttl_ms: Positive | None = None
    """``x-message-ttl``: a message older than this expires (dead-lettered if a DLX is set)."""
    max_length: Positive | None = None
    """``x-max-length``: ready messages the queue holds at most."""
    overflow: Literal["drop-head", "reject-publish"] = "drop-head"
    """``x-overflow``: what a full queue does with one more message."""
    bindings: list[str] = []
    """Binding keys to the group's exchange (direct: exact keys; topic: ``*``/``#`` patterns)."""


class SqsQueue(_Spec, frozen=True):
    """Queue attributes and consumer options of a group under ``broker = "sqs"``/``"sqs-fifo"``.

    ``[groups.sqs]``; the group's name is the queue's name. Defaults are Amazon
    SQS's, except ``wait_time_seconds`` (consumers here long-poll, as SDK listeners do).
    """

    visibility_timeout_ms: Annotated[int, msgspec.Meta(ge=0, le=43_200_000)] = 30_000
    """``VisibilityTimeout``: how long a received message stays hidden (max 12 h)."""
    max_receive_count: Annotated[int, msgspec.Meta(ge=1, le=1000)] | None = None
    """Redrive policy ``maxReceiveCount``: past it the message moves to ``dead_letter_topic``."""
    wait_time_seconds: Annotated[int, msgspec.Meta(ge=0, le=20)] = 20
    """``WaitTimeSeconds`` of each ReceiveMessage (0 = short polling)."""
    batch_size: Annotated[int, msgspec.Meta(ge=1, le=10)] | None = None
    """``MaxNumberOfMessages`` per receive (SQS default 1; a Lambda trigger's default 10)."""
    duplicate_probability: Probability | None = None
    """Chance that a standard queue stores an extra copy (None: the ``[sqs]`` default)."""
    reorder_probability: Probability | None = None
    """Chance that a standard queue returns a message late (None: the ``[sqs]`` default)."""
    content_based_dedup: bool = False
    """FIFO ``ContentBasedDeduplication``: the dedup id is the SHA-256 of the body."""
    delay_seconds: Annotated[int, msgspec.Meta(ge=0, le=900)] = 0
    """``DelaySeconds``: new messages stay invisible this long."""
    message_retention_ms: Annotated[int, msgspec.Meta(ge=60_000, le=1_209_600_000)] = 345_600_000
    """``MessageRetentionPeriod``: older messages are deleted (default 4 days)."""
    extend_visibility: bool = False
    """While processing, call ChangeMessageVisibility at half the timeout to extend it."""
    trigger: Literal["consumer", "lambda"] = "consumer"
    """``lambda``: an event source mapping polls and invokes a function per batch."""
    report_batch_item_failures: bool = False
    """Lambda ``ReportBatchItemFailures``: only failed messages return to the queue."""
    redrive_back_at_ms: NonNegative | None = None
    """Move this queue's messages from its DLQ back at this time (a DLQ redrive)."""


class Group(_Spec, frozen=True):
    """A consumer group: members share the topic's partitions; groups are independent."""

    name: str
    topic: str
    consumers: Annotated[int, msgspec.Meta(ge=0)] | list[str] = 1
    assignor: Literal["range", "round-robin", "sticky"] = "range"
    commit: Literal["auto", "before-process", "after-process", "transactional"] = "auto"
    commit_every: Literal["batch", "message"] = "batch"
    auto_commit_interval_ms: Positive = 5_000
    session_timeout_ms: Positive = 45_000
    heartbeat_interval_ms: Positive = 3_000
    max_poll_interval_ms: Positive = 300_000
    max_poll_records: Positive = 500
    fetch_max_wait_ms: Positive = 500
    processing_ms: NonNegative = 1
    isolation: Literal["read_uncommitted", "read_committed"] = "read_uncommitted"
    auto_offset_reset: Literal["earliest", "latest"] = "latest"
    retry: RetryPolicy = RetryPolicy()
    retry_topics: list[NonNegative] = []
    """Delays (ms) of non-blocking retry topics ``<topic>-retry-1`` …, tried in turn."""
    dead_letter_topic: str | None = None
    output_topic: str | None = None
    """Each processed message writes one record here (inside the transaction, if any)."""
    processor: str | None = None
    """Name of a ``[[processors]]`` entry that handles each record instead (streams, sagas)."""
    start_ms: NonNegative = 0
    rabbitmq: RabbitQueue = RabbitQueue()
    """Queue settings under ``broker = "rabbitmq"`` (ignored by other models)."""
    sqs: SqsQueue = SqsQueue()
    """Queue settings under ``broker = "sqs"``/``"sqs-fifo"`` (ignored by other models)."""

    def consumer_names(self) -> list[str]:
        if isinstance(self.consumers, list):
            return list(self.consumers)
        return [f"{self.name}-{i}" for i in range(self.consumers)]


class Message(_Spec, frozen=True):
    """One explicit message in the workload."""

    producer: str
    at_ms: NonNegative = 0
    key: str | None = None
    value: str = ""
    tombstone: bool = False
    event_time_ms: NonNegative | None = None
    """When the event happened (default ``at_ms``); earlier than ``at_ms``: it arrives late."""


class Generator(_Spec, frozen=True):
    """Many messages at a steady rate, keys picked in turn or at random (seeded)."""

    producer: str
    count: Positive
    start_ms: NonNegative = 0
    rate_per_s: Annotated[int, msgspec.Meta(ge=1, le=10_000_000)] = 100
    keys: NonNegative = 0
    """Number of distinct keys; 0 sends unkeyed messages."""
    key_prefix: str = "key-"
    key_choice: Literal["round-robin", "random"] = "round-robin"
    value_prefix: str = "v"
    event_time_skew_ms: NonNegative = 0
    """Each event time lags its send time by a seeded 0..skew ms (out-of-order event times)."""
    late_probability: Probability = 0.0
    """Chance that a message's event time lags by ``late_by_ms`` more (a phone back online)."""
    late_by_ms: NonNegative = 0


class Workload(_Spec, frozen=True):
    messages: list[Message] = []
    generators: list[Generator] = []


CrashPoint = Literal[
    "after_poll",
    "after_process_before_commit",
    "after_commit_before_process",
    "after_append_before_ack",
    "before_commit_transaction",
    "after_project_before_checkpoint",
    "after_append_before_publish",
    "after_publish_before_mark",
]


class Crash(_Spec, tag="crash", tag_field="kind", frozen=True):
    """Stop a component abruptly, at a time or the n-th time it reaches a named point."""

    target: str
    at_ms: NonNegative | None = None
    at: CrashPoint | None = None
    occurrence: Positive = 1
    restart_after_ms: NonNegative | None = None


class NetworkFault(_Spec, tag="network", tag_field="kind", frozen=True):
    """Lossy, duplicating or slow delivery from one component to another."""

    source: str
    destination: str
    from_ms: NonNegative = 0
    to_ms: NonNegative | None = None
    drop_probability: Probability = 0.0
    duplicate_probability: Probability = 0.0
    delay_ms: NonNegative = 0
    jitter_ms: NonNegative = 0
    msgs: list[Positive] = []
    """Only these message ids are affected (empty: all)."""


class PartitionFault(_Spec, tag="partition", tag_field="kind", frozen=True):
    """Cut two components off from each other for a time window."""

    between: Annotated[list[str], msgspec.Meta(min_length=2, max_length=2)]
    from_ms: NonNegative
    to_ms: NonNegative


class HandlerError(_Spec, tag="handler-error", tag_field="kind", frozen=True):
    """Transient handler failures with a seeded probability per attempt."""

    group: str
    probability: Probability
    consumer: str | None = None
    from_ms: NonNegative = 0
    to_ms: NonNegative | None = None


class Poison(_Spec, tag="poison", tag_field="kind", frozen=True):
    """Messages the handler can never process: by key, by message id or by value."""

    group: str | None = None
    keys: list[str] = []
    msgs: list[Positive] = []
    value_contains: str | None = None


class Slow(_Spec, tag="slow", tag_field="kind", frozen=True):
    """Make a consumer's handler slower for a while."""

    target: str
    processing_ms: NonNegative
    from_ms: NonNegative = 0
    to_ms: NonNegative | None = None


Fault = Crash | NetworkFault | PartitionFault | HandlerError | Poison | Slow


# -- stream processors and sagas (simulator/streams, simulator/sagas) --------------


class StreamProcessorSpec(_Spec, tag="stream", tag_field="kind", frozen=True):
    """A Kafka Streams / Flink style processor: filter, map, keyed windowed aggregation.

    Defaults follow Flink's event-time windows with bounded out-of-orderness
    watermarks; ``window = "none"`` is a plain keyed aggregation (a KTable).
    """

    name: str
    time: Literal["event", "processing"] = "event"
    """Window by the event's own timestamp, or by the moment the processor sees it."""
    filter_contains: str | None = None
    """Keep only records whose value contains this text (a stateless filter)."""
    key_by: Literal["key", "value"] = "key"
    """Group by the record key, or re-key by the first word of the value (a map)."""
    aggregate: Literal["count", "sum"] = "count"
    """``sum`` adds the number at the end of each value (``fare-12`` adds 12)."""
    window: Literal["none", "tumbling", "hopping", "session"] = "tumbling"
    size_ms: Positive = 60_000
    advance_ms: Positive | None = None
    """Hopping windows start every ``advance_ms`` (below ``size_ms``)."""
    gap_ms: Positive = 30_000
    """Session windows: a key's session ends after this much event time without records."""
    max_out_of_orderness_ms: NonNegative = 0
    """Watermark = highest event time seen minus this (Flink's bounded out-of-orderness)."""
    allowed_lateness_ms: NonNegative = 0
    """A fired window still accepts records this long behind the watermark (and re-emits)."""
    late: Literal["drop", "side-output"] = "drop"
    late_topic: str | None = None
    """Where ``late = "side-output"`` sends records that came too late."""
    output_topic: str | None = None
    """Window results (and their updates) are written here."""
    changelog_topic: str | None = None
    """The state store's changelog: every state change, replayed on restore after a crash."""
    idle_flush_ms: Positive | None = None
    """After this long with no input, treat the stream as ended and fire every open window."""


class SagaServiceSpec(_Spec, tag="saga-service", tag_field="kind", frozen=True):
    """One service of a saga (payment, stock …): does and undoes its step, replies with events."""

    name: str
    step: str
    """The saga step this service performs; one of ``[saga].steps``."""
    decline_keys: list[str] = []
    """Saga ids (order keys) whose step this service refuses (payment declined …)."""
    decline_probability: Probability = 0.0
    idempotent: bool = True
    """Remember each saga's step and ignore a repeat; False does the work again."""


class SagaManagerSpec(_Spec, tag="saga-manager", tag_field="kind", frozen=True):
    """The saga's process manager: the orchestrator, or under choreography the order tracker."""

    name: str


ProcessorSpec = StreamProcessorSpec | SagaServiceSpec | SagaManagerSpec


class Saga(_Spec, frozen=True):
    """``[saga]``: the steps of the business process and how they are coordinated."""

    mode: Literal["orchestration", "choreography"] = "orchestration"
    steps: list[str] = msgspec.field(
        default_factory=lambda: ["payment", "stock", "shipping", "notification"]
    )
    compensable: list[str] = msgspec.field(default_factory=lambda: ["payment", "stock", "shipping"])
    """Steps that have an undo (an e-mail cannot be unsent)."""
    events_topic: str = "order-events"
    commands_topic: str | None = None
    """Orchestration only: where the orchestrator sends commands to the services."""
    step_timeout_ms: Positive = 5_000
    """How long the manager waits for a step's reply before compensating."""


# -- event store and CQRS (simulator/cqrs) -------------------------------------------


class StoreSpec(_Spec, frozen=True):
    """``[store]``: the event store the command handlers write and projectors read.

    ``publish`` says how stored events reach a broker topic: not at all, by a
    *dual write* (append, then publish separately) or through an *outbox*
    written in the same transaction and published by a relay.
    """

    backend: Literal["memory", "sqlite"] = "memory"
    path: str | None = None
    """SQLite file for ``backend = "sqlite"``: an evsim store there is replaced, others refused."""
    writers: Literal["concurrent", "single"] = "concurrent"
    """``single``: one append transaction at a time, so positions commit in order (no gap)."""
    publish: Literal["none", "dual-write", "outbox"] = "none"
    producer: str | None = None
    """The ``[[producers]]`` entry that publishes stored events (its topic is the target)."""
    publish_delay_ms: NonNegative = 5
    """Dual write: time between the append and the separate publish call."""
    relay_interval_ms: Positive = 50
    """Outbox: how often the relay polls for unpublished entries."""


class HandlerSpec(_Spec, frozen=True):
    """``[[handlers]]``: a command handler — load, decide, append expecting the loaded version."""

    name: str
    decide_ms: NonNegative = 10
    """Time between loading the aggregate and appending (where another writer can slip in)."""
    commit_ms: NonNegative = 0
    """How long its append transaction stays open: the position is taken at once, visible later."""
    concurrency: Literal["expected-version", "ignore"] = "expected-version"
    """``ignore`` appends with ANY_VERSION: the lost-update bug."""
    snapshot_every: NonNegative = 0
    """Take a snapshot of a stream each time its version crosses a multiple of this (0: never)."""
    retry: RetryPolicy = RetryPolicy(policy="immediate", attempts=3)
    """What to do after a version conflict: reload and decide again."""
    publish: Literal["none", "dual-write", "outbox"] | None = None
    """How this handler's events reach the topic (default: ``[store] publish``)."""


CommandValue = str | int | bool


class CommandSpec(_Spec, frozen=True):
    """``[[commands]]``: one command sent to a handler at ``at_ms``."""

    handler: str
    domain: str
    type: str
    """The command's tag in its domain, e.g. ``account.withdraw``."""
    fields: dict[str, CommandValue] = {}
    at_ms: NonNegative = 0
    id: str | None = None
    """Shown in the trace (default ``c1``, ``c2`` … in file order)."""


class CommandGenerator(_Spec, frozen=True):
    """``[[command_generators]]``: many commands; string fields may use ``{i}``, ``{k}``, ``{r}``.

    ``{i}`` is the command's index (0 …), ``{k}`` is ``i % keys`` and ``{r}`` a
    seeded random number 0–999; a field that reads as a number becomes one.
    """

    handler: str
    domain: str
    type: str
    count: Annotated[int, msgspec.Meta(ge=1, le=100_000)]
    fields: dict[str, CommandValue] = {}
    start_ms: NonNegative = 0
    rate_per_s: Annotated[int, msgspec.Meta(ge=1, le=100_000)] = 100
    keys: Positive = 1


class ProjectorSpec(_Spec, frozen=True):
    """``[[projectors]]``: builds a read model from the store's log or from a broker group.

    ``naive`` applies whatever arrives; ``idempotent`` remembers the last applied
    version per stream (or per row) and skips repeats; ``atomic`` commits the
    read model and its checkpoint in one transaction.
    """

    name: str
    projection: str
    """A built-in projection (``balances``, ``driver-locations`` …), see docs/cqrs.md."""
    kind: Literal["naive", "idempotent", "atomic"] = "naive"
    source: Literal["store", "group"] = "store"
    group: str | None = None
    """``source = "group"``: the consumer group whose processed records it applies."""
    idempotency: Literal["stream", "row"] = "stream"
    """What ``idempotent`` keys the last applied version by."""
    poll_ms: Positive = 20
    batch: Annotated[int, msgspec.Meta(ge=1, le=10_000)] = 10
    apply_ms: NonNegative = 1
    """Time to apply one event to the read model."""
    gap: Literal["naive", "gap-aware", "high-water"] = "naive"
    """Catch-up over positions: read past uncommitted ones, stop at them, or stop until stale."""
    stale_ms: Positive = 200
    """``high-water``: a position still missing after this long is given up."""
    start_ms: NonNegative = 0
    snapshot_every: NonNegative = 0
    """Store-fed: save a copy of the read model each time the checkpoint crosses N positions."""


class QuerySpec(_Spec, frozen=True):
    """``[[queries]]``: read one row; from a projector's read model or from the event log."""

    key: str
    at_ms: NonNegative = 0
    projector: str | None = None
    """None: answer from the event log by folding the stream (``domain`` and ``stream``)."""
    domain: str | None = None
    stream: str | None = None
    as_of_ms: NonNegative | None = None
    """Event log only: the state as it was at this virtual time (a temporal query)."""
    after_command: str | None = None
    """Read-your-writes: wait until the projector has applied that command's events."""
    timeout_ms: Positive = 1_000


class RebuildSpec(_Spec, frozen=True):
    """``[[rebuilds]]``: rebuild a projector's read model from the log.

    ``replay`` drops the table and replays from position 1 while reads see the
    half-built table; ``blue-green`` builds a new version beside the old one
    (with ``projection``, e.g. fixed code) and switches reads when it caught up.
    """

    projector: str
    at_ms: NonNegative
    mode: Literal["replay", "blue-green"] = "replay"
    projection: str | None = None
    """Blue/green: the projection of the new version (default: the same)."""
    step_events: Annotated[int, msgspec.Meta(ge=1, le=10_000)] = 10
    step_ms: Positive = 10
    start: Literal["zero", "snapshot"] = "zero"
    """Replay from position 1, or from the projector's latest read-model snapshot."""


class Beat(_Spec, frozen=True):
    """A narration beat: shown from ``at_ms``, or from the first record of kind ``on``."""

    text: Text
    at_ms: NonNegative | None = None
    on: str | None = None
    notice: Text | None = None
    """"What to notice" for this beat."""


class Predict(_Spec, frozen=True):
    """Predict, then run: a question asked before the lesson plays, answered by the run.

    ``answer`` is the 1-based number of the right choice, and ``expect`` is an
    expectation over the outcome (the same language as ``expect`` lines) that
    holds exactly when that answer is right, so the run itself checks the key.
    """

    question: Text
    choices: Annotated[list[Text], msgspec.Meta(min_length=2, max_length=6)]
    answer: Positive
    expect: str
    explanation: Text


class Network(_Spec, frozen=True):
    latency_ms: NonNegative = 1
    """One-way latency between any two components, unless a network fault says more."""


class RabbitMQ(_Spec, frozen=True):
    """``[rabbitmq]``: broker-wide RabbitMQ settings (topics are exchanges here)."""

    publisher_confirms: bool = True
    """Producers wait for ``basic.ack`` from the broker and republish on a timeout."""
    exchanges: dict[str, Literal["fanout", "direct", "topic"]] = {}
    """Exchange type per topic name (default ``fanout``)."""
    message_expiration_ms: dict[str, Positive] = {}
    """Per-message TTL (the ``expiration`` property) of everything a producer publishes."""


class Sqs(_Spec, frozen=True):
    """``[sqs]``: service-wide behaviour of standard queues (not settable on a real queue)."""

    duplicate_probability: Probability = 0.01
    """Chance a standard queue stores a message twice (at-least-once delivery)."""
    reorder_probability: Probability = 0.01
    """Chance a standard queue returns a message up to ``reorder_window_ms`` late."""
    reorder_window_ms: Positive = 1_000


class Limits(_Spec, frozen=True):
    """``[limits]``: lower this scenario's caps (never above the hard maxima in ``LIMITS``).

    A lesson that must stay small — or a teacher handed an untrusted file — can
    set tighter caps here; a scenario over a cap is refused before it runs.
    """

    partitions_per_topic: Positive | None = None
    topics: Positive | None = None
    consumers_per_group: Positive | None = None
    groups: Positive | None = None
    producers: Positive | None = None
    messages: Positive | None = None
    virtual_ms: Positive | None = None
    """Caps ``until_ms`` and every time the scenario schedules work or a fault at."""


class Scenario(_Spec, frozen=True):
    """A whole lesson."""

    title: Text
    summary: Text
    tags: list[str] = []
    broker: Literal["log", "rabbitmq", "sqs", "sqs-fifo"] = "log"
    seed: int = 1
    """Any 64-bit integer (TOML integers are 64-bit; larger ones are refused)."""
    until_ms: Positive | None = None
    settle_ms: NonNegative = 10_000
    """After the last piece of work, let timers run this long (auto-commit, heartbeats)."""
    max_records: Annotated[int, msgspec.Meta(ge=1, le=50_000_000)] = 10_000_000
    """Stop the run when the trace reaches this many records (a livelock never ends)."""
    network: Network = Network()
    topics: list[Topic] = []
    producers: list[Producer] = []
    groups: list[Group] = []
    workload: Workload = Workload()
    faults: list[Fault] = []
    rabbitmq: RabbitMQ = RabbitMQ()
    sqs: Sqs = Sqs()
    processors: list[ProcessorSpec] = []
    """Stream processors and saga roles that groups name with ``processor``."""
    saga: Saga | None = None
    store: StoreSpec | None = None
    """The event store (``[store]``); with it, handlers, commands, projectors, queries, rebuilds."""
    handlers: list[HandlerSpec] = []
    commands: list[CommandSpec] = []
    command_generators: list[CommandGenerator] = []
    projectors: list[ProjectorSpec] = []
    queries: list[QuerySpec] = []
    rebuilds: list[RebuildSpec] = []
    narration: list[Beat] = []
    expect: list[str] = []
    limits: Limits = Limits()
    predict: list[Predict] = []
    """Questions for the class before the run, each checked by the outcome (``[[predict]]``)."""
    name: str = ""
    """Filled from the file name when loaded."""


# -- limits ----------------------------------------------------------------------

LIMITS: dict[str, int] = {
    "partitions_per_topic": 1_024,
    "topics": 256,
    "consumers_per_group": 256,
    "groups": 256,
    "producers": 256,
    "messages": 5_000_000,
    "virtual_ms": 30 * 24 * 3_600_000,
}
"""Hard maxima: caps that refuse a scenario before it runs, rather than after it
exhausts memory. A scenario's ``[limits]`` table may lower each one, never raise it.
The trace size is capped by ``max_records`` (at most 50,000,000)."""

MAX_SCENARIO_BYTES = 4 * 1024 * 1024
"""A scenario file larger than this is refused unread (the shipped lessons are < 10 KiB)."""

_INT64 = (-(2**63), 2**63 - 1)


def _cap(s: Scenario, name: str) -> int:
    """The cap in force for ``s``: its ``[limits]`` value if lower, else the hard maximum."""
    lowered: int | None = getattr(s.limits, name)
    return LIMITS[name] if lowered is None else min(lowered, LIMITS[name])


# -- expectations ----------------------------------------------------------------

_EXPECT_RE = re.compile(
    r"^\s*(?P<metric>[a-z_]+)(?:\[(?P<group>[^\]]+)\])?\s*(?P<op>==|!=|>=|<=|>|<)\s*(?P<value>\d+)\s*$"
)


class Expectation(msgspec.Struct, frozen=True):
    """``metric[group] op value``, e.g. ``lost == 0`` or ``duplicates[billing] >= 1``."""

    text: str
    metric: str
    group: str | None
    op: str
    value: int

    def holds(self, actual: int) -> bool:
        return {
            "==": actual == self.value,
            "!=": actual != self.value,
            ">=": actual >= self.value,
            "<=": actual <= self.value,
            ">": actual > self.value,
            "<": actual < self.value,
        }[self.op]


STREAM_METRICS = (
    "windows_emitted",
    "window_updates",
    "window_total",
    "window_max",
    "window_lag_ms",
    "late_dropped",
    "late_side_output",
    "state_restored",
    "restored_entries",
)
"""Counted by ``simulator.streams.books`` from the trace, per processor group or in total."""
SAGA_METRICS = (
    "sagas_started",
    "sagas_completed",
    "sagas_compensated",
    "sagas_timed_out",
    "saga_steps_completed",
    "saga_steps_failed",
    "saga_steps_repeated",
    "saga_compensations",
    "saga_duplicates_ignored",
)
"""Counted by ``simulator.sagas.books`` from the trace, per group or in total."""
CQRS_METRICS = (
    "version_conflicts",
    "commands_rejected",
    "lost_updates",
    "snapshots_taken",
    "snapshots_discarded",
    "events_replayed",
    "upcasts",
    "projected",
    "projections_skipped",
    "version_gaps",
    "read_model_mismatches",
    "gaps_skipped",
    "queries",
    "stale_reads",
    "events_published",
    "events_unpublished",
    "rebuild_events",
)
"""Counted by ``simulator.cqrs.books`` from the trace; ``metric[name]`` names a handler or
projector (``events_replayed[teller]``, ``read_model_mismatches[balances-naive]``)."""
EXPECTATION_METRICS = (
    "produced",
    "acked",
    "delivered",
    "processed",
    "lost",
    "duplicates",
    "out_of_order",
    "retries",
    "dead_lettered",
    "rebalances",
    "events_stored",
    "trace_records",
    "virtual_ms",
    *STREAM_METRICS,
    *SAGA_METRICS,
    *CQRS_METRICS,
)
GROUP_METRICS = (
    "delivered",
    "processed",
    "lost",
    "duplicates",
    "out_of_order",
    "dead_lettered",
    *STREAM_METRICS,
    *SAGA_METRICS,
)


def parse_expectation(text: str) -> Expectation | str:
    """Parse an expectation, or return why it cannot be parsed."""
    m = _EXPECT_RE.match(text)
    if not m:
        example = "'lost == 0' or 'duplicates[billing] >= 1'"
        return f"cannot read expectation {text!r} (write e.g. {example})"
    metric, group = m["metric"], m["group"]
    if metric not in EXPECTATION_METRICS:
        return f"unknown metric {metric!r} (known: {', '.join(EXPECTATION_METRICS)})"
    if group is not None and metric not in GROUP_METRICS and metric not in CQRS_METRICS:
        return f"metric {metric!r} has no per-group value"
    return Expectation(
        text=text.strip(), metric=metric, group=group, op=m["op"], value=int(m["value"])
    )


# -- loading ---------------------------------------------------------------------


def _toml_error(file: str, err: Exception) -> InputError:
    text = str(err)
    m = re.search(r"\(at line (\d+), column (\d+)\)", text)
    where = f"line {m[1]}, column {m[2]}" if m else ""
    if m:
        text = text[: m.start()].strip()
    elif "end of document" in text:
        where = "end of file"
        text = text.replace("(at end of document)", "").strip()
    return InputError(file, where, f"invalid TOML: {text}")


def _validation_error(file: str, err: msgspec.ValidationError) -> InputError:
    text = str(err)
    m = re.search(r" - at `(\$[^`]*)`$", text)
    where = m[1] if m else "$"
    message = text[: m.start()] if m else text
    return InputError(file, where, message)


def _check_integers(file: str, value: object, where: str = "$") -> None:
    """TOML promises 64-bit integers; Python would accept any size, and choke later."""
    if isinstance(value, bool):
        return
    if isinstance(value, int):
        if not _INT64[0] <= value <= _INT64[1]:
            raise InputError(file, where, "integer out of range (TOML integers are 64-bit)")
    elif isinstance(value, dict):
        for key, item in value.items():
            _check_integers(file, item, f"{where}.{key}")
    elif isinstance(value, list):
        for i, item in enumerate(value):
            _check_integers(file, item, f"{where}[{i}]")


def decode_scenario(data: bytes, file: str, name: str = "") -> Scenario:
    """Decode and validate scenario bytes; raises ``InputError`` naming ``file``."""
    if len(data) > MAX_SCENARIO_BYTES:
        raise InputError(file, "", f"larger than {MAX_SCENARIO_BYTES:,} bytes: not a scenario")
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError as err:
        line = data[: err.start].count(b"\n") + 1
        raise InputError(file, f"line {line}", "not UTF-8 text") from None
    try:
        import tomllib

        raw = tomllib.loads(text)
    except tomllib.TOMLDecodeError as err:
        raise _toml_error(file, err) from None
    except RecursionError:
        raise InputError(file, "$", "nesting too deep") from None
    except ValueError:  # an integer literal longer than Python converts (4,300 digits)
        m = re.search(r"[0-9_]{4000,}", text)
        where = f"line {text[: m.start()].count(chr(10)) + 1}" if m else "$"
        raise InputError(file, where, "integer out of range (TOML integers are 64-bit)") from None
    try:
        _check_integers(file, raw)
    except RecursionError:
        raise InputError(file, "$", "nesting too deep") from None
    try:
        scenario = msgspec.convert(raw, type=Scenario, strict=True)
    except msgspec.ValidationError as err:
        raise _validation_error(file, err) from None
    except RecursionError:
        raise InputError(file, "$", "nesting too deep") from None
    if name and not scenario.name:
        scenario = msgspec.structs.replace(scenario, name=name)
    validate(scenario, file)
    return scenario


def load_scenario(path: str | Path) -> Scenario:
    """Load a scenario file; raises ``InputError`` for anything wrong with it."""
    p = Path(path)
    try:
        with p.open("rb") as f:
            # Read one byte past the cap: a device such as /dev/zero never ends.
            data = f.read(MAX_SCENARIO_BYTES + 1)
    except FileNotFoundError:
        raise InputError(str(path), "", "no such file") from None
    except IsADirectoryError:
        raise InputError(str(path), "", "is a directory, not a scenario file") from None
    except OSError as err:
        raise InputError(str(path), "", err.strerror or "cannot read file") from None
    return decode_scenario(data, str(path), p.stem)


def builtin_names() -> list[str]:
    """The stems of the scenario files shipped in the ``scenarios`` package."""
    root = resources.files("scenarios")
    return sorted(
        entry.name[: -len(".toml")] for entry in root.iterdir() if entry.name.endswith(".toml")
    )


def builtin_path(name: str) -> Path:
    return Path(str(resources.files("scenarios").joinpath(f"{name}.toml")))


def resolve_scenario(name_or_path: str) -> Scenario:
    """A built-in lesson by name, or a scenario file by path."""
    p = Path(name_or_path)
    if p.suffix == ".toml" or p.exists() or "/" in name_or_path:
        return load_scenario(p)
    names = builtin_names()
    if name_or_path not in names:
        close = [n for n in names if name_or_path in n or n in name_or_path][:3]
        hint = f" (did you mean {', '.join(close)}?)" if close else " (see `evsim list`)"
        raise InputError(name_or_path, "", f"no built-in scenario or file by that name{hint}")
    return load_scenario(builtin_path(name_or_path))


# -- validation --------------------------------------------------------------------


def _unique(file: str, items: list[str], path: str, what: str) -> None:
    seen: set[str] = set()
    for i, name in enumerate(items):
        if name in seen:
            raise InputError(file, f"{path}[{i}].name", f"duplicate {what} name {name!r}")
        seen.add(name)


def _ref(file: str, where: str, name: str, known: list[str], what: str) -> None:
    if name not in known:
        listing = ", ".join(known) if known else "none defined"
        raise InputError(file, where, f"unknown {what} {name!r} (known: {listing})")


def validate(s: Scenario, file: str) -> None:
    """Check references and caps that the types alone cannot express."""
    err = InputError
    _validate_limits(s, file)
    if len(s.topics) > _cap(s, "topics"):
        raise err(file, "$.topics", f"more than {_cap(s, 'topics')} topics")
    topics = [t.name for t in s.topics]
    _unique(file, topics, "$.topics", "topic")
    for i, t in enumerate(s.topics):
        if not t.name or "/" in t.name:
            raise err(file, f"$.topics[{i}].name", "a topic name must be non-empty, without '/'")
        if t.partitions > _cap(s, "partitions_per_topic"):
            raise err(
                file,
                f"$.topics[{i}].partitions",
                f"{t.partitions} partitions is over the cap of {_cap(s, 'partitions_per_topic')}",
            )
    if len(s.producers) > _cap(s, "producers"):
        raise err(file, "$.producers", f"more than {_cap(s, 'producers')} producers")
    producers = [p.name for p in s.producers]
    _unique(file, producers, "$.producers", "producer")
    for i, p in enumerate(s.producers):
        _ref(file, f"$.producers[{i}].topic", p.topic, topics, "topic")
        if p.idempotent and p.acks != "all":
            raise err(
                file,
                f"$.producers[{i}].idempotent",
                'an idempotent producer needs acks = "all" (as in Kafka); set idempotent = false',
            )
        if p.idempotent and p.max_in_flight > 5:
            raise err(
                file, f"$.producers[{i}].max_in_flight", "an idempotent producer allows at most 5"
            )
    if len(s.groups) > _cap(s, "groups"):
        raise err(file, "$.groups", f"more than {_cap(s, 'groups')} groups")
    groups = [g.name for g in s.groups]
    _unique(file, groups, "$.groups", "group")
    consumers: list[str] = []
    for i, g in enumerate(s.groups):
        _ref(file, f"$.groups[{i}].topic", g.topic, topics, "topic")
        count = g.consumers if isinstance(g.consumers, int) else len(g.consumers)
        if count > _cap(s, "consumers_per_group"):  # before consumer_names() builds the list
            raise err(
                file,
                f"$.groups[{i}].consumers",
                f"{count} consumers is over the cap of {_cap(s, 'consumers_per_group')}",
            )
        names = g.consumer_names()
        for j, c in enumerate(names):
            if c in consumers or c in producers or (c in groups and c != g.name):
                raise err(file, f"$.groups[{i}].consumers[{j}]", f"name {c!r} is already used")
            consumers.append(c)
        for field in ("dead_letter_topic", "output_topic"):
            target = getattr(g, field)
            if target is not None:
                _ref(file, f"$.groups[{i}].{field}", target, topics, "topic")
        if g.commit == "transactional" and g.retry_topics:
            raise err(
                file, f"$.groups[{i}].retry_topics", "retry topics do not mix with transactions"
            )
        if g.heartbeat_interval_ms >= g.session_timeout_ms:
            raise err(
                file,
                f"$.groups[{i}].heartbeat_interval_ms",
                "must be lower than session_timeout_ms (Kafka recommends a third of it)",
            )
    components = ["broker", *producers, *consumers, *_cqrs_components(s)]
    total = len(s.workload.messages)
    for i, m in enumerate(s.workload.messages):
        _ref(file, f"$.workload.messages[{i}].producer", m.producer, producers, "producer")
    for i, gen in enumerate(s.workload.generators):
        _ref(file, f"$.workload.generators[{i}].producer", gen.producer, producers, "producer")
        total += gen.count
    if total > _cap(s, "messages"):
        raise err(file, "$.workload", f"{total} messages is over the cap of {_cap(s, 'messages')}")
    for i, f in enumerate(s.faults):
        at = f"$.faults[{i}]"
        if isinstance(f, Crash):
            _ref(file, f"{at}.target", f.target, components, "component")
            if (f.at_ms is None) == (f.at is None):
                raise err(
                    file, at, "a crash needs exactly one of at_ms (a time) or at (a named point)"
                )
        elif isinstance(f, NetworkFault):
            _ref(file, f"{at}.source", f.source, components, "component")
            _ref(file, f"{at}.destination", f.destination, components, "component")
        elif isinstance(f, PartitionFault):
            for j, c in enumerate(f.between):
                _ref(file, f"{at}.between[{j}]", c, components, "component")
            if f.to_ms <= f.from_ms:
                raise err(file, f"{at}.to_ms", "must be after from_ms")
        elif isinstance(f, HandlerError):
            _ref(file, f"{at}.group", f.group, groups, "group")
            if f.consumer is not None:
                _ref(file, f"{at}.consumer", f.consumer, consumers, "consumer")
        elif isinstance(f, Poison):
            if f.group is not None:
                _ref(file, f"{at}.group", f.group, groups, "group")
            if not (f.keys or f.msgs or f.value_contains):
                raise err(file, at, "a poison fault needs keys, msgs or value_contains")
        elif isinstance(f, Slow):
            _ref(file, f"{at}.target", f.target, consumers, "consumer")
        to_ms = getattr(f, "to_ms", None)
        from_ms = getattr(f, "from_ms", 0)
        if to_ms is not None and to_ms < from_ms:
            raise err(file, f"{at}.to_ms", "must not be before from_ms")
    _validate_times(s, file)
    for i, beat in enumerate(s.narration):
        if beat.on is not None:
            from simulator.trace import RECORD_TYPES

            kinds = [t.__name__ for t in RECORD_TYPES]
            if beat.on not in kinds:
                raise err(file, f"$.narration[{i}].on", f"unknown record kind {beat.on!r}")
    for i, text in enumerate(s.expect):
        parsed = parse_expectation(text)
        if isinstance(parsed, str):
            raise err(file, f"$.expect[{i}]", parsed)
        if parsed.group is not None and parsed.metric in CQRS_METRICS:
            cqrs_names = [h.name for h in s.handlers] + [p.name for p in s.projectors]
            _ref(file, f"$.expect[{i}]", parsed.group, cqrs_names, "handler or projector")
        elif parsed.group is not None and parsed.group not in groups:
            _ref(file, f"$.expect[{i}]", parsed.group, groups, "group")
    _validate_queue_models(s, file)
    _validate_processors(s, file)
    if s.store is not None or s.handlers or s.commands or s.projectors:
        from simulator.cqrs.validate import validate_cqrs

        validate_cqrs(s, file)
    _validate_predictions(s, file, groups)


def _cqrs_components(s: Scenario) -> list[str]:
    """Handlers, projectors and the outbox relay: components a crash can target."""
    names = [h.name for h in s.handlers] + [p.name for p in s.projectors]
    if s.store is not None and (
        s.store.publish == "outbox" or any(h.publish == "outbox" for h in s.handlers)
    ):
        names.append("outbox-relay")
    return names


def _validate_predictions(s: Scenario, file: str, groups: list[str]) -> None:
    """A prediction's answer must be one of its choices, and its check must parse."""
    err = InputError
    for i, p in enumerate(s.predict):
        at = f"$.predict[{i}]"
        if p.answer > len(p.choices):
            raise err(
                file, f"{at}.answer", f"answer {p.answer} is not a choice (1–{len(p.choices)})"
            )
        texts = [("question", p.question), ("explanation", p.explanation)]
        texts += [(f"choices[{j}]", c) for j, c in enumerate(p.choices)]
        for where, text in texts:
            for lang in ("en", "ko"):
                if not getattr(text, lang).strip():
                    raise err(file, f"{at}.{where}.{lang}", "must not be empty")
        parsed = parse_expectation(p.expect)
        if isinstance(parsed, str):
            raise err(file, f"{at}.expect", parsed)
        if parsed.group is not None and parsed.metric in CQRS_METRICS:
            cqrs_names = [h.name for h in s.handlers] + [p.name for p in s.projectors]
            _ref(file, f"{at}.expect", parsed.group, cqrs_names, "handler or projector")
        elif parsed.group is not None:
            _ref(file, f"{at}.expect", parsed.group, groups, "group")


def _validate_limits(s: Scenario, file: str) -> None:
    for name, hard in LIMITS.items():
        lowered = getattr(s.limits, name)
        if lowered is not None and lowered > hard:
            raise InputError(
                file,
                f"$.limits.{name}",
                f"{lowered} is above the hard maximum of {hard} ([limits] can only lower a cap)",
            )


def _validate_times(s: Scenario, file: str) -> None:
    """Every time the scenario schedules something must fall under the virtual-time cap."""
    cap = _cap(s, "virtual_ms")
    times: list[tuple[str, int | None]] = [("$.until_ms", s.until_ms)]
    for i, m in enumerate(s.workload.messages):
        times.append((f"$.workload.messages[{i}].at_ms", m.at_ms))
    for i, gen in enumerate(s.workload.generators):
        last_ms = gen.start_ms + ((gen.count - 1) * 1000) // gen.rate_per_s
        times.append((f"$.workload.generators[{i}]", last_ms))  # its last message's send time
    for i, g in enumerate(s.groups):
        times.append((f"$.groups[{i}].start_ms", g.start_ms))
        times.append((f"$.groups[{i}].sqs.redrive_back_at_ms", g.sqs.redrive_back_at_ms))
    for i, f in enumerate(s.faults):
        for field in ("at_ms", "from_ms", "to_ms"):
            times.append((f"$.faults[{i}].{field}", getattr(f, field, None)))
    times += [(f"$.narration[{i}].at_ms", b.at_ms) for i, b in enumerate(s.narration)]
    for where, at_ms in times:
        if at_ms is not None and at_ms > cap:
            raise InputError(
                file,
                where,
                f"{at_ms} ms is past the virtual-time cap of {cap} ms ([limits] virtual_ms)",
            )


_BINDING_RE = re.compile(r"^(?:[^.]+)(?:\.[^.]+)*$")


def _validate_queue_models(s: Scenario, file: str) -> None:
    """Checks for the RabbitMQ- and SQS-style settings (``[rabbitmq]``, ``[sqs]``, per group)."""
    err = InputError
    topics = [t.name for t in s.topics]
    producers = [p.name for p in s.producers]
    for name in s.rabbitmq.exchanges:
        _ref(file, f"$.rabbitmq.exchanges.{name}", name, topics, "topic")
    for name in s.rabbitmq.message_expiration_ms:
        _ref(file, f"$.rabbitmq.message_expiration_ms.{name}", name, producers, "producer")
    queue_model = s.broker != "log"
    for i, g in enumerate(s.groups):
        at = f"$.groups[{i}]"
        rq, sq = g.rabbitmq, g.sqs
        if queue_model and g.commit == "transactional":
            raise err(
                file,
                f"{at}.commit",
                f'transactional needs broker = "log": the {s.broker} model has no'
                " consume-and-produce transactions (use after-process and idempotent handlers)",
            )
        if rq.delivery_limit is not None and rq.queue_type != "quorum":
            raise err(
                file, f"{at}.rabbitmq.delivery_limit", 'delivery_limit needs queue_type = "quorum"'
            )
        exchange = s.rabbitmq.exchanges.get(g.topic, "fanout")
        if exchange != "fanout" and not rq.bindings:
            raise err(
                file,
                f"{at}.rabbitmq.bindings",
                f"the {exchange} exchange {g.topic!r} routes by key: give this queue binding keys",
            )
        for j, key in enumerate(rq.bindings):
            if not _BINDING_RE.match(key):
                raise err(
                    file,
                    f"{at}.rabbitmq.bindings[{j}]",
                    f"bad binding key {key!r} (words joined by '.')",
                )
            if exchange == "direct" and ("*" in key.split(".") or "#" in key.split(".")):
                raise err(
                    file,
                    f"{at}.rabbitmq.bindings[{j}]",
                    "wildcards * and # work on topic exchanges only; this exchange is direct",
                )
        if sq.max_receive_count is not None and g.dead_letter_topic is None:
            raise err(
                file,
                f"{at}.sqs.max_receive_count",
                "a redrive policy needs a DLQ: set dead_letter_topic",
            )
        if sq.redrive_back_at_ms is not None and g.dead_letter_topic is None:
            raise err(
                file, f"{at}.sqs.redrive_back_at_ms", "redriving back needs dead_letter_topic"
            )
        if sq.report_batch_item_failures and sq.trigger != "lambda":
            raise err(
                file,
                f"{at}.sqs.report_batch_item_failures",
                'partial batch failure reporting is a Lambda setting: set trigger = "lambda"',
            )


def _validate_processors(s: Scenario, file: str) -> None:
    """Checks for ``[[processors]]``, ``[saga]`` and the groups that use them."""
    err = InputError
    topics = [t.name for t in s.topics]
    names = [p.name for p in s.processors]
    _unique(file, names, "$.processors", "processor")
    steps = s.saga.steps if s.saga is not None else []
    for i, p in enumerate(s.processors):
        at = f"$.processors[{i}]"
        if isinstance(p, StreamProcessorSpec):
            for field in ("late_topic", "output_topic", "changelog_topic"):
                target = getattr(p, field)
                if target is not None:
                    _ref(file, f"{at}.{field}", target, topics, "topic")
            if p.late == "side-output" and p.late_topic is None:
                raise err(file, f"{at}.late_topic", 'late = "side-output" needs a late_topic')
            if p.window == "hopping":
                if p.advance_ms is None or p.advance_ms >= p.size_ms:
                    raise err(
                        file, f"{at}.advance_ms", "hopping windows need advance_ms below size_ms"
                    )
                if p.size_ms // p.advance_ms > 100:
                    raise err(file, f"{at}.advance_ms", "at most 100 overlapping windows")
        elif s.saga is None:
            raise err(file, at, "a saga processor needs a [saga] section")
        elif isinstance(p, SagaServiceSpec):
            _ref(file, f"{at}.step", p.step, steps, "saga step")
    if s.saga is not None:
        if s.broker != "log":
            raise err(file, "$.saga", 'sagas run on broker = "log"')
        if not steps:
            raise err(file, "$.saga.steps", "a saga needs at least one step")
        for j, step in enumerate(s.saga.steps):
            if not re.fullmatch(r"[a-z][a-z0-9-]*", step) or step == "order":
                raise err(file, f"$.saga.steps[{j}]", f"bad step name {step!r} (lower-case words)")
        for j, step in enumerate(s.saga.compensable):
            _ref(file, f"$.saga.compensable[{j}]", step, steps, "saga step")
        _ref(file, "$.saga.events_topic", s.saga.events_topic, topics, "topic")
        if s.saga.mode == "orchestration":
            if s.saga.commands_topic is None:
                raise err(file, "$.saga.commands_topic", "orchestration needs a commands_topic")
            _ref(file, "$.saga.commands_topic", s.saga.commands_topic, topics, "topic")
    for i, g in enumerate(s.groups):
        if g.processor is None:
            continue
        at = f"$.groups[{i}].processor"
        _ref(file, at, g.processor, names, "processor")
        if s.broker != "log":
            raise err(file, at, 'processors run on broker = "log"')
        if g.output_topic is not None:
            raise err(file, f"$.groups[{i}].output_topic", "a processor writes its own outputs")
        spec = s.processors[names.index(g.processor)]
        if not isinstance(spec, StreamProcessorSpec) and len(g.consumer_names()) != 1:
            raise err(
                file,
                f"$.groups[{i}].consumers",
                "a saga service or manager runs as one consumer here (its database is its own)",
            )
