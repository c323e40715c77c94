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
    "Beat",
    "Crash",
    "Expectation",
    "Fault",
    "Group",
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


class Text(_Spec):
    """A piece of lesson text in both languages."""

    en: str
    ko: str

    def get(self, lang: str) -> str:
        return self.ko if lang == "ko" else self.en


class Topic(_Spec):
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


class Producer(_Spec):
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


class RetryPolicy(_Spec):
    """What a consumer does when its handler fails on a message."""

    policy: Literal["none", "immediate", "fixed", "exponential"] = "none"
    attempts: Annotated[int, msgspec.Meta(ge=1, le=1000)] = 3
    """Total tries, the first one included."""
    backoff_ms: NonNegative = 100
    max_backoff_ms: NonNegative = 30_000
    multiplier: Annotated[float, msgspec.Meta(ge=1.0, le=100.0)] = 2.0
    jitter: Annotated[float, msgspec.Meta(ge=0.0, le=1.0)] = 0.0
    """Spread each backoff by up to this fraction, drawn from the seeded RNG."""


class RabbitQueue(_Spec):
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


class SqsQueue(_Spec):
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


class Group(_Spec):
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
    start_ms: NonNegative = 0
    rabbitmq: RabbitQueue = RabbitQueue()
    """Queue settings under ``broker = "rabbitmq"`` (ignored by other models)."""
    sqs: SqsQueue = SqsQueue()
    """Queue settings under ``broker = "sqs"``/``"sqs-fifo"`` (ignored by other models)."""

    def consumer_names(self) -> list[str]:
        if isinstance(self.consumers, list):
            return list(self.consumers)
        return [f"{self.name}-{i}" for i in range(self.consumers)]


class Message(_Spec):
    """One explicit message in the workload."""

    producer: str
    at_ms: NonNegative = 0
    key: str | None = None
    value: str = ""
    tombstone: bool = False


class Generator(_Spec):
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


class Workload(_Spec):
    messages: list[Message] = []
    generators: list[Generator] = []


CrashPoint = Literal[
    "after_poll",
    "after_process_before_commit",
    "after_commit_before_process",
    "after_append_before_ack",
    "before_commit_transaction",
]


class Crash(_Spec, tag="crash", tag_field="kind"):
    """Stop a component abruptly, at a time or the n-th time it reaches a named point."""

    target: str
    at_ms: NonNegative | None = None
    at: CrashPoint | None = None
    occurrence: Positive = 1
    restart_after_ms: NonNegative | None = None


class NetworkFault(_Spec, tag="network", tag_field="kind"):
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


class PartitionFault(_Spec, tag="partition", tag_field="kind"):
    """Cut two components off from each other for a time window."""

    between: Annotated[list[str], msgspec.Meta(min_length=2, max_length=2)]
    from_ms: NonNegative
    to_ms: NonNegative


class HandlerError(_Spec, tag="handler-error", tag_field="kind"):
    """Transient handler failures with a seeded probability per attempt."""

    group: str
    probability: Probability
    consumer: str | None = None
    from_ms: NonNegative = 0
    to_ms: NonNegative | None = None


class Poison(_Spec, tag="poison", tag_field="kind"):
    """Messages the handler can never process: by key, by message id or by value."""

    group: str | None = None
    keys: list[str] = []
    msgs: list[Positive] = []
    value_contains: str | None = None


class Slow(_Spec, tag="slow", tag_field="kind"):
    """Make a consumer's handler slower for a while."""

    target: str
    processing_ms: NonNegative
    from_ms: NonNegative = 0
    to_ms: NonNegative | None = None


Fault = Crash | NetworkFault | PartitionFault | HandlerError | Poison | Slow


class Beat(_Spec):
    """A narration beat: shown from ``at_ms``, or from the first record of kind ``on``."""

    text: Text
    at_ms: NonNegative | None = None
    on: str | None = None
    notice: Text | None = None
    """"What to notice" for this beat."""


class Network(_Spec):
    latency_ms: NonNegative = 1
    """One-way latency between any two components, unless a network fault says more."""


class RabbitMQ(_Spec):
    """``[rabbitmq]``: broker-wide RabbitMQ settings (topics are exchanges here)."""

    publisher_confirms: bool = True
    """Producers wait for ``basic.ack`` from the broker and republish on a timeout."""
    exchanges: dict[str, Literal["fanout", "direct", "topic"]] = {}
    """Exchange type per topic name (default ``fanout``)."""
    message_expiration_ms: dict[str, Positive] = {}
    """Per-message TTL (the ``expiration`` property) of everything a producer publishes."""


class Sqs(_Spec):
    """``[sqs]``: service-wide behaviour of standard queues (not settable on a real queue)."""

    duplicate_probability: Probability = 0.01
    """Chance a standard queue stores a message twice (at-least-once delivery)."""
    reorder_probability: Probability = 0.01
    """Chance a standard queue returns a message up to ``reorder_window_ms`` late."""
    reorder_window_ms: Positive = 1_000


class Scenario(_Spec):
    """A whole lesson."""

    title: Text
    summary: Text
    tags: list[str] = []
    broker: Literal["log", "rabbitmq", "sqs", "sqs-fifo"] = "log"
    seed: int = 1
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
    narration: list[Beat] = []
    expect: list[str] = []
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
"""Caps that refuse a scenario before it runs, rather than after it exhausts memory."""


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
)
GROUP_METRICS = ("delivered", "processed", "lost", "duplicates", "out_of_order", "dead_lettered")


def parse_expectation(text: str) -> Expectation | str:
    """Parse an expectation, or return why it cannot be parsed."""
    m = _EXPECT_RE.match(text)
    if not m:
        return f"cannot read expectation {text!r} (write e.g. 'lost == 0' or 'duplicates[billing] >= 1')"
    metric, group = m["metric"], m["group"]
    if metric not in EXPECTATION_METRICS:
        return f"unknown metric {metric!r} (known: {', '.join(EXPECTATION_METRICS)})"
    if group is not None and metric not in GROUP_METRICS:
        return f"metric {metric!r} has no per-group value"
    return Expectation(text=text.strip(), metric=metric, group=group, op=m["op"], value=int(m["value"]))


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


def decode_scenario(data: bytes, file: str, name: str = "") -> Scenario:
    """Decode and validate scenario bytes; raises ``InputError`` naming ``file``."""
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
        data = p.read_bytes()
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
    if len(s.topics) > LIMITS["topics"]:
        raise err(file, "$.topics", f"more than {LIMITS['topics']} topics")
    topics = [t.name for t in s.topics]
    _unique(file, topics, "$.topics", "topic")
    for i, t in enumerate(s.topics):
        if not t.name or "/" in t.name:
            raise err(file, f"$.topics[{i}].name", "a topic name must be non-empty, without '/'")
        if t.partitions > LIMITS["partitions_per_topic"]:
            raise err(
                file,
                f"$.topics[{i}].partitions",
                f"{t.partitions} partitions is over the cap of {LIMITS['partitions_per_topic']}",
            )
    if len(s.producers) > LIMITS["producers"]:
        raise err(file, "$.producers", f"more than {LIMITS['producers']} producers")
    producers = [p.name for p in s.producers]
    _unique(file, producers, "$.producers", "producer")
    for i, p in enumerate(s.producers):
        _ref(file, f"$.producers[{i}].topic", p.topic, topics, "topic")
        if p.idempotent and p.acks != "all":
            raise err(
                file,
                f"$.producers[{i}].idempotent",
                "an idempotent producer needs acks = \"all\" (as in Kafka); set idempotent = false",
            )
        if p.idempotent and p.max_in_flight > 5:
            raise err(
                file, f"$.producers[{i}].max_in_flight", "an idempotent producer allows at most 5"
            )
    if len(s.groups) > LIMITS["groups"]:
        raise err(file, "$.groups", f"more than {LIMITS['groups']} groups")
    groups = [g.name for g in s.groups]
    _unique(file, groups, "$.groups", "group")
    consumers: list[str] = []
    for i, g in enumerate(s.groups):
        _ref(file, f"$.groups[{i}].topic", g.topic, topics, "topic")
        names = g.consumer_names()
        if len(names) > LIMITS["consumers_per_group"]:
            raise err(
                file,
                f"$.groups[{i}].consumers",
                f"{len(names)} consumers is over the cap of {LIMITS['consumers_per_group']}",
            )
        for j, c in enumerate(names):
            if c in consumers or c in producers or c in groups and c != g.name:
                raise err(file, f"$.groups[{i}].consumers[{j}]", f"name {c!r} is already used")
            consumers.append(c)
        for field in ("dead_letter_topic", "output_topic"):
            target = getattr(g, field)
            if target is not None:
                _ref(file, f"$.groups[{i}].{field}", target, topics, "topic")
        if g.commit == "transactional" and g.retry_topics:
            raise err(file, f"$.groups[{i}].retry_topics", "retry topics do not mix with transactions")
        if g.heartbeat_interval_ms >= g.session_timeout_ms:
            raise err(
                file,
                f"$.groups[{i}].heartbeat_interval_ms",
                "must be lower than session_timeout_ms (Kafka recommends a third of it)",
            )
    components = ["broker", *producers, *consumers]
    total = len(s.workload.messages)
    for i, m in enumerate(s.workload.messages):
        _ref(file, f"$.workload.messages[{i}].producer", m.producer, producers, "producer")
    for i, gen in enumerate(s.workload.generators):
        _ref(file, f"$.workload.generators[{i}].producer", gen.producer, producers, "producer")
        total += gen.count
    if total > LIMITS["messages"]:
        raise err(file, "$.workload", f"{total} messages is over the cap of {LIMITS['messages']}")
    for i, f in enumerate(s.faults):
        at = f"$.faults[{i}]"
        if isinstance(f, Crash):
            _ref(file, f"{at}.target", f.target, components, "component")
            if (f.at_ms is None) == (f.at is None):
                raise err(file, at, "a crash needs exactly one of at_ms (a time) or at (a named point)")
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
    if s.until_ms is not None and s.until_ms > LIMITS["virtual_ms"]:
        raise err(file, "$.until_ms", f"over the cap of {LIMITS['virtual_ms']} ms")
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
        if parsed.group is not None and parsed.group not in groups:
            _ref(file, f"$.expect[{i}]", parsed.group, groups, "group")
    _validate_queue_models(s, file)


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
