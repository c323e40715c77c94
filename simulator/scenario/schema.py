"""The scenario format: a lesson's topology, workload, faults, narration and expectations.

A scenario is a TOML file decoded straight into the msgspec Structs below, with
unknown fields refused, so a typo is an error that names its ``$.path`` rather
than a setting silently ignored. Each Struct is one table of the file
(``[[topics]]``, ``[[groups]]``, ``[[faults]]`` …) and each field one key, with
the default the real system has (Kafka 3.x for the log broker); every default
in force is printed in the trace header. What types cannot say — that names
refer to things that exist, that sizes stay under the caps — is checked by
``simulator.scenario.validation`` after decoding.
"""

from __future__ import annotations

from typing import Annotated, Literal

import msgspec

__all__ = [
    "LIMITS",
    "MAX_RECORDS",
    "Beat",
    "CodeRefText",
    "CommandGenerator",
    "CommandSpec",
    "CommandValue",
    "Crash",
    "CrashPoint",
    "Fault",
    "Generator",
    "Group",
    "HandlerError",
    "HandlerSpec",
    "Limits",
    "Message",
    "Network",
    "NetworkFault",
    "NonNegative",
    "PartitionFault",
    "Poison",
    "Positive",
    "PowerLoss",
    "Predict",
    "Probability",
    "ProcessorSpec",
    "Producer",
    "ProjectorSpec",
    "QuerySpec",
    "RebuildSpec",
    "RetryPolicy",
    "Saga",
    "SagaManagerSpec",
    "SagaServiceSpec",
    "Scenario",
    "Slow",
    "StoreSpec",
    "StreamProcessorSpec",
    "Table",
    "Text",
    "Topic",
    "Workload",
]

NonNegative = Annotated[int, msgspec.Meta(ge=0)]
Positive = Annotated[int, msgspec.Meta(ge=1)]
Probability = Annotated[float, msgspec.Meta(ge=0.0, le=1.0)]


CodeRefText = Annotated[
    str,
    msgspec.Meta(
        description="Your own code: file.py:function, the file relative to this scenario file."
    ),
]
"""``"my_consumer.py:handle"``: a function in a Python file beside the scenario
(``simulator.usercode.refs`` checks it before the run)."""


class Table(msgspec.Struct, kw_only=True, forbid_unknown_fields=True, frozen=True):
    """Base of every table of a scenario file: keyword-only, frozen, unknown fields refused.

    A broker model's own sections (``[rabbitmq]``, ``[groups.sqs]`` …) are
    Tables too, declared in the model's package (``simulator.scenario.sections``).
    """


class Text(Table, frozen=True):
    """A piece of lesson text in both languages."""

    en: str
    ko: str

    def get(self, lang: str) -> str:
        return self.ko if lang == "ko" else self.en


class Topic(Table, frozen=True):
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


class Producer(Table, frozen=True):
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


class RetryPolicy(Table, frozen=True):
    """What a consumer does when its handler fails on a message."""

    policy: Literal["none", "immediate", "fixed", "exponential"] = "none"
    attempts: Annotated[int, msgspec.Meta(ge=1, le=1000)] = 3
    """Total tries, the first one included."""
    backoff_ms: NonNegative = 100
    max_backoff_ms: NonNegative = 30_000
    multiplier: Annotated[float, msgspec.Meta(ge=1.0, le=100.0)] = 2.0
    jitter: Annotated[float, msgspec.Meta(ge=0.0, le=1.0)] = 0.0
    """Spread each backoff by up to this fraction, drawn from the seeded RNG."""


class Group(Table, frozen=True):
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
    handler: CodeRefText | None = None
    """Your own message handler (``"my_consumer.py:handle"``, marked ``@handler``) instead of
    the built-in one; its store is the group's database (``simulator.usercode``)."""

    def consumer_names(self) -> list[str]:
        if isinstance(self.consumers, list):
            return list(self.consumers)
        return [f"{self.name}-{i}" for i in range(self.consumers)]


class Message(Table, frozen=True):
    """One explicit message in the workload."""

    producer: str
    at_ms: NonNegative = 0
    key: str | None = None
    value: str = ""
    tombstone: bool = False
    event_time_ms: NonNegative | None = None
    """When the event happened (default ``at_ms``); earlier than ``at_ms``: it arrives late."""
    dedup_id: Annotated[str, msgspec.Meta(min_length=1, max_length=128)] | None = None
    """An SQS FIFO ``MessageDeduplicationId`` set by hand (default: ``m<id>``, the message's
    own id, or the body's SHA-256 under content-based deduplication)."""


class Generator(Table, frozen=True):
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


class Workload(Table, frozen=True):
    messages: list[Message] = []
    generators: list[Generator] = []


CrashPoint = Literal[
    "after_poll",
    "after_process_before_commit",
    "after_commit_before_process",
    "after_append_before_ack",
    "after_leader_append_before_replication",
    "before_commit_transaction",
    "after_project_before_checkpoint",
    "after_append_before_publish",
    "after_publish_before_mark",
]


class Crash(Table, tag="crash", tag_field="kind", frozen=True):
    """Stop a component abruptly, at a time or the n-th time it reaches a named point."""

    target: str
    at_ms: NonNegative | None = None
    at: CrashPoint | None = None
    occurrence: Positive = 1
    restart_after_ms: NonNegative | None = None


class NetworkFault(Table, tag="network", tag_field="kind", frozen=True):
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


class PartitionFault(Table, tag="partition", tag_field="kind", frozen=True):
    """Cut two components off from each other for a time window."""

    between: Annotated[list[str], msgspec.Meta(min_length=2, max_length=2)]
    from_ms: NonNegative
    to_ms: NonNegative


class HandlerError(Table, tag="handler-error", tag_field="kind", frozen=True):
    """Transient handler failures with a seeded probability per attempt."""

    group: str
    probability: Probability
    consumer: str | None = None
    from_ms: NonNegative = 0
    to_ms: NonNegative | None = None


class Poison(Table, tag="poison", tag_field="kind", frozen=True):
    """Messages the handler can never process: by key, by message id or by value."""

    group: str | None = None
    keys: list[str] = []
    msgs: list[Positive] = []
    value_contains: str | None = None


class Slow(Table, tag="slow", tag_field="kind", frozen=True):
    """Make a consumer's handler slower for a while."""

    target: str
    processing_ms: NonNegative
    from_ms: NonNegative = 0
    to_ms: NonNegative | None = None


class PowerLoss(Table, tag="power-loss", tag_field="kind", frozen=True):
    """Cut the power of several machines at once (a rack, a zone): more than a crash.

    A crashed process leaves what it wrote in the operating system's page cache,
    and the OS still writes it to disk; a machine without power loses every page
    not yet written. Brokers that acknowledge before ``fsync`` (Kafka does) lose
    acknowledged records this way unless another replica kept them.
    """

    targets: Annotated[list[str], msgspec.Meta(min_length=1)]
    at_ms: NonNegative
    restart_after_ms: NonNegative | None = None
    """All of them come back together this long after; None: they stay down."""


Fault = Crash | NetworkFault | PartitionFault | HandlerError | Poison | Slow | PowerLoss


# -- stream processors and sagas (simulator/streams, simulator/sagas) --------------


class StreamProcessorSpec(Table, tag="stream", tag_field="kind", frozen=True):
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


class SagaServiceSpec(Table, tag="saga-service", tag_field="kind", frozen=True):
    """One service of a saga (payment, stock …): does and undoes its step, replies with events."""

    name: str
    step: str
    """The saga step this service performs; one of ``[saga].steps``."""
    decline_keys: list[str] = []
    """Saga ids (order keys) whose step this service refuses (payment declined …)."""
    decline_probability: Probability = 0.0
    idempotent: bool = True
    """Remember each saga's step and ignore a repeat; False does the work again."""
    code: CodeRefText | None = None
    """Your own step (``"stock.py:reserve"``, marked ``@saga_step`` with its compensation)
    instead of the built-in one: it decides, remembers and undoes; ``idempotent`` and the
    decline settings are then yours to implement."""


class SagaManagerSpec(Table, tag="saga-manager", tag_field="kind", frozen=True):
    """The saga's process manager: the orchestrator, or under choreography the order tracker."""

    name: str


ProcessorSpec = StreamProcessorSpec | SagaServiceSpec | SagaManagerSpec


class Saga(Table, frozen=True):
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


class StoreSpec(Table, frozen=True):
    """``[store]``: the event store the command handlers write and projectors read.

    ``publish`` says how stored events reach a broker topic: not at all, by a
    *dual write* (append, then publish separately) or through an *outbox*
    written in the same transaction and published by a relay.
    """

    backend: Literal["memory", "sqlite"] = "memory"
    path: str | None = None
    """SQLite file for ``backend = "sqlite"``: created new by ``play`` (relative: in the run
    directory); an existing file is refused unless ``--reuse-store`` names this lesson's store."""
    writers: Literal["concurrent", "single"] = "concurrent"
    """``single``: one append transaction at a time, so positions commit in order (no gap)."""
    publish: Literal["none", "dual-write", "outbox"] = "none"
    producer: str | None = None
    """The ``[[producers]]`` entry that publishes stored events (its topic is the target)."""
    publish_delay_ms: NonNegative = 5
    """Dual write: time between the append and the separate publish call."""
    relay_interval_ms: Positive = 50
    """Outbox: how often the relay polls for unpublished entries."""


class HandlerSpec(Table, frozen=True):
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
    decider: CodeRefText | None = None
    """Your own decider (``"account.py:decide"``, marked ``@decider`` with its ``evolve``)
    instead of the domain's: commands and events are the domain's, as plain dicts."""
    command_handler: CodeRefText | None = None
    """Your own command handler (``"teller.py:handle"``, an ``async def`` marked
    ``@command_handler``): it loads, decides, appends and retries itself."""


CommandValue = str | int | bool


class CommandSpec(Table, frozen=True):
    """``[[commands]]``: one command sent to a handler at ``at_ms``."""

    handler: str
    domain: str
    type: str
    """The command's tag in its domain, e.g. ``account.withdraw``."""
    fields: dict[str, CommandValue] = {}
    at_ms: NonNegative = 0
    id: str | None = None
    """Shown in the trace (default ``c1``, ``c2`` … in file order)."""


class CommandGenerator(Table, frozen=True):
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


class ProjectorSpec(Table, frozen=True):
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
    apply: CodeRefText | None = None
    """Your own projector (``"balances.py:apply"``, marked ``@projector``); ``projection``
    then names the built-in projection its read model is judged against."""


class QuerySpec(Table, frozen=True):
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


class RebuildSpec(Table, frozen=True):
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


class Beat(Table, frozen=True):
    """A narration beat: shown from ``at_ms``, or from the first record of kind ``on``."""

    text: Text
    at_ms: NonNegative | None = None
    on: str | None = None
    notice: Text | None = None
    """"What to notice" for this beat."""
    focus: Annotated[
        list[str],
        msgspec.Meta(
            description="Components this beat is about: the player highlights them and "
            "dims the rest while the beat is current (default: the components of the "
            "record that fires it)."
        ),
    ] = msgspec.field(default_factory=list)
    """Components this beat is about (``"at-most-once-0"``, ``"payments/0"``, a group, a
    queue, a projector, ``"event store"``): the player highlights them and dims the rest
    while the beat is current. Empty: the components of the record that fires the beat."""


class Predict(Table, frozen=True):
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


class Network(Table, frozen=True):
    latency_ms: NonNegative = 1
    """One-way latency between any two components, unless a network fault says more."""


class Limits(Table, frozen=True):
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
    memory_mb: Positive | None = None
    """Caps the memory a run is projected to need (``simulator.scenario.validation``)."""


LIMITS: dict[str, int] = {
    "partitions_per_topic": 1_024,
    "topics": 256,
    "consumers_per_group": 256,
    "groups": 256,
    "producers": 256,
    "messages": 10_000_000,
    "virtual_ms": 30 * 24 * 3_600_000,
    "memory_mb": 4_096,
}
"""Hard maxima: caps that refuse a scenario before it runs, rather than after it
exhausts memory. A scenario's ``[limits]`` table may lower each one, never raise it.
The trace size is capped by ``max_records`` (at most ``MAX_RECORDS``)."""

MAX_RECORDS = 60_000_000
"""The hard maximum of ``max_records``: room for the trace of the largest workload
(``LIMITS["messages"]`` keyed messages to one group write 50,000,019 records)."""


class Scenario(Table, frozen=True):
    """A whole lesson."""

    title: Text
    summary: Text
    tags: list[str] = []
    broker: str = "log"
    """The broker model's name (``simulator.models.registry``; the Kafka-style log by default)."""
    seed: int = 1
    """Any 64-bit integer (TOML integers are 64-bit; larger ones are refused)."""
    until_ms: Positive | None = None
    settle_ms: NonNegative = 10_000
    """After the last piece of work, let timers run this long (auto-commit, heartbeats)."""
    max_records: Annotated[int, msgspec.Meta(ge=1, le=MAX_RECORDS)] = 10_000_000
    """Stop the run when the trace reaches this many records (a livelock never ends)."""
    network: Network = Network()
    topics: list[Topic] = []
    producers: list[Producer] = []
    groups: list[Group] = []
    workload: Workload = Workload()
    faults: list[Fault] = []
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
    properties: list[str] = []
    """What user code must hold after the run (``simulator.usercode.properties``): each is
    checked like an expectation, and each violation is a ``PropertyViolated`` finding."""
    code_dir: str = ""
    """The directory code paths (``handler = "x.py:f"``) are relative to: filled with the
    scenario file's directory when it is loaded and names code; empty: that directory."""
    name: str = ""
    """Filled from the file name when loaded."""
