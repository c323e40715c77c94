"""Validation: what the types of a scenario cannot say, checked before it runs.

Decoding already refused wrong types and unknown keys. What is left is the
scenario's own logic: every name it uses refers to something it defines, no
two things share a name, sizes and times stay under the caps (``LIMITS``, or
lower ones from ``[limits]``) that keep a run bounded, and settings that only
make sense together come together (a redrive policy needs a dead-letter queue).
Each section has its own small check, run in the order of the file's
sections, and the first problem found is reported as an ``InputError`` that
names its ``$.path``.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Callable
from typing import Any, NamedTuple

from simulator.errors import InputError
from simulator.scenario.expectations import CQRS_METRICS, HEADER_METRICS, parse_expectation
from simulator.scenario.schema import (
    LIMITS,
    Crash,
    Fault,
    HandlerError,
    NetworkFault,
    PartitionFault,
    Poison,
    PowerLoss,
    SagaServiceSpec,
    Scenario,
    Slow,
    StreamProcessorSpec,
)

__all__ = [
    "MAX_NAME_LENGTH",
    "cap",
    "check_name",
    "name_problem",
    "projected_memory_bytes",
    "projected_records",
    "ref",
    "refuse_over_memory",
    "trace_on_disk",
    "validate",
]

MAX_NAME_LENGTH = 128
"""Names are labels on a screen and in a trace, not documents."""


def cap(s: Scenario, name: str) -> int:
    """The cap in force for ``s``: its ``[limits]`` value if lower, else the hard maximum."""
    lowered: int | None = getattr(s.limits, name)
    return LIMITS[name] if lowered is None else min(lowered, LIMITS[name])


def name_problem(name: str) -> str | None:
    """Why ``name`` cannot name a component, or None.

    A name is shown in tables, on the TUI and in every trace record, and other
    parts of the file refer to it by its exact text, so it must be text a reader
    can see and copy: at least one character and at most ``MAX_NAME_LENGTH``, no
    ``/``, no space at either end, and no invisible character — no control
    character, no zero-width or bidi-control character, no space other than
    U+0020. Two names that would look the same on a screen (``billing`` and
    ``bil\u200bling``) therefore cannot both exist.
    """
    if not name:
        return "a name must not be empty"
    if len(name) > MAX_NAME_LENGTH:
        return f"a name is at most {MAX_NAME_LENGTH} characters (this one has {len(name):,})"
    if "/" in name:
        return "a name must not contain '/'"
    if name != name.strip():
        return "a name must not start or end with a space"
    for ch in name:
        category = unicodedata.category(ch)
        if category in ("Cc", "Cf", "Cs", "Zl", "Zp") or (category == "Zs" and ch != " "):
            return (
                f"a name must not contain U+{ord(ch):04X} ({unicodedata.name(ch, 'unnamed')}):"
                " an invisible or control character"
            )
    return None


def check_name(file: str, where: str, name: str, what: str) -> None:
    """Refuse a ``what`` name (topic, group …) at ``where`` that ``name_problem`` refuses."""
    problem = name_problem(name)
    if problem is not None:
        raise InputError(file, where, f"bad {what} name {name!r}: {problem}")


def _unique(file: str, items: list[str], path: str, what: str) -> None:
    seen: set[str] = set()
    for i, name in enumerate(items):
        if name in seen:
            raise InputError(file, f"{path}[{i}].name", f"duplicate {what} name {name!r}")
        seen.add(name)


def ref(file: str, where: str, name: str, known: list[str], what: str) -> None:
    """The ``name`` used at ``where`` must be one of ``known`` (a ``what``: topic, group …)."""
    if name not in known:
        listing = ", ".join(known) if known else "none defined"
        raise InputError(file, where, f"unknown {what} {name!r} (known: {listing})")


def validate(s: Scenario, file: str) -> None:
    """Check references and caps that the types alone cannot express."""
    _validate_broker(s, file)
    _validate_limits(s, file)
    _validate_topics(s, file)
    _validate_producers(s, file)
    consumers = _validate_groups(s, file)
    _validate_workload(s, file)
    _validate_faults(s, file, consumers)
    _validate_times(s, file)
    _validate_narration(s, file)
    _validate_expectations(s, file)
    _validate_model_sections(s, file)
    _validate_processors(s, file)
    _validate_saga(s, file)
    _validate_processor_groups(s, file)
    if s.store is not None or s.handlers or s.commands or s.projectors:
        from simulator.cqrs.validate import validate_cqrs

        validate_cqrs(s, file)
    _validate_predictions(s, file)
    _validate_memory(s, file)
    _validate_code(s, file)


# -- caps ------------------------------------------------------------------------------


def _validate_limits(s: Scenario, file: str) -> None:
    for name, hard in LIMITS.items():
        lowered = getattr(s.limits, name)
        if lowered is not None and lowered > hard:
            raise InputError(
                file,
                f"$.limits.{name}",
                f"{lowered} is above the hard maximum of {hard} ([limits] can only lower a cap)",
            )


BYTES_PER_COMMAND = 600
"""A command of the workload: the command, its events in the store, the projections'
rows (a high guess). A message is priced by its broker model
(``ModelSpec.bytes_per_message``)."""
BYTES_PER_RECORD = 350
"""A trace record held in memory with the broker and checker state that goes with it
(measured: 185–240 bytes)."""
BYTES_PER_RECORD_ON_DISK = 10
"""A trace record of a run whose trace is kept on disk as it goes
(``simulator.spill``): the records in memory are a bounded tail and a few decoded
chunks, so a record costs next to nothing; what stays is the messages' (measured: the
whole process grows by 35 bytes a record at 10,000,000 W1 messages, 175 a message,
messages and log included)."""


def projected_records(s: Scenario) -> int:
    """About how many records a run writes: each message is produced, appended and
    acknowledged (3), then delivered and processed by each group on its topic (2 each);
    a command is loaded, stored, projected and published (4). At most ``max_records``."""
    topic_of = {p.name: p.topic for p in s.producers}
    readers: dict[str, int] = {}
    for g in s.groups:
        readers[g.topic] = readers.get(g.topic, 0) + 1
    records = 0
    sends = [(m.producer, 1) for m in s.workload.messages]
    sends += [(gen.producer, gen.count) for gen in s.workload.generators]
    for producer, count in sends:
        records += count * (3 + 2 * readers.get(topic_of.get(producer, ""), 0))
    records += 4 * (len(s.commands) + sum(gen.count for gen in s.command_generators))
    return min(records, s.max_records)


def trace_on_disk(s: Scenario) -> bool:
    """Whether a headless run of ``s`` (``evsim play``, ``evsim check``) keeps its trace
    on disk as it goes: it is projected to write ``simulator.spill.SPILL_ABOVE_RECORDS``
    records or more."""
    from simulator import spill

    return projected_records(s) >= spill.SPILL_ABOVE_RECORDS


def projected_memory_bytes(s: Scenario, *, on_disk: bool | None = None) -> int:
    """What a run of ``s`` is projected to hold in memory at its peak (a rough, high guess).

    ``on_disk``: whether its trace is kept on disk as it goes; None: as a headless run
    would (``trace_on_disk``). A run that holds its whole trace (the TUI, ``compare``)
    asks with ``on_disk=False``. One that spills still holds the records it has not
    spilled yet, up to ``SPILL_EVERY_CHUNKS`` chunks of them, at their in-memory cost.
    """
    if on_disk is None:
        on_disk = trace_on_disk(s)
    from simulator import spill
    from simulator.models.registry import model

    messages = len(s.workload.messages) + sum(gen.count for gen in s.workload.generators)
    commands = len(s.commands) + sum(gen.count for gen in s.command_generators)
    records = projected_records(s)
    if on_disk:
        waiting = min(records, spill.SPILL_EVERY_CHUNKS * spill.CHUNK)
        trace = records * BYTES_PER_RECORD_ON_DISK + waiting * BYTES_PER_RECORD
    else:
        trace = records * BYTES_PER_RECORD
    return messages * model(s.broker).bytes_per_message + commands * BYTES_PER_COMMAND + trace


def _validate_memory(s: Scenario, file: str) -> None:
    """A run that would exhaust memory is refused before it starts, not when the machine swaps."""
    refuse_over_memory(s, file, on_disk=None)


def refuse_over_memory(s: Scenario, file: str, *, on_disk: bool | None) -> None:
    """Raise ``InputError`` if a run of ``s`` is projected over the memory budget.

    Loading checks a run as a headless command plays it (a large trace on disk); a
    command that holds the whole trace checks again with ``on_disk=False``.
    """
    budget_mb = cap(s, "memory_mb")
    need_mb = -(-projected_memory_bytes(s, on_disk=on_disk) // 2**20)
    if need_mb > budget_mb:
        held = on_disk is False and trace_on_disk(s)
        where = " to hold its whole trace" if held else ""
        hint = (
            ": play it headless (evsim play … --export-trace FILE) and open the file"
            " with evsim view"
            if held
            else ": send fewer messages or lower max_records"
        )
        raise InputError(
            file,
            "$.workload",
            f"a run would need about {need_mb:,} MB of memory{where} (about "
            f"{projected_records(s):,} trace records), over the budget of {budget_mb:,} MB"
            f" ([limits] memory_mb){hint}",
        )


def _validate_times(s: Scenario, file: str) -> None:
    """Every time the scenario schedules something must fall under the virtual-time cap."""
    limit = cap(s, "virtual_ms")
    times: list[tuple[str, int | None]] = [("$.until_ms", s.until_ms)]
    for i, m in enumerate(s.workload.messages):
        times.append((f"$.workload.messages[{i}].at_ms", m.at_ms))
    for i, gen in enumerate(s.workload.generators):
        last_ms = gen.start_ms + ((gen.count - 1) * 1000) // gen.rate_per_s
        times.append((f"$.workload.generators[{i}]", last_ms))  # its last message's send time
    for i, g in enumerate(s.groups):
        times.append((f"$.groups[{i}].start_ms", g.start_ms))
    for i, f in enumerate(s.faults):
        for field in ("at_ms", "from_ms", "to_ms"):
            times.append((f"$.faults[{i}].{field}", getattr(f, field, None)))
    times += [(f"$.narration[{i}].at_ms", b.at_ms) for i, b in enumerate(s.narration)]
    for where, at_ms in times:
        if at_ms is not None and at_ms > limit:
            raise InputError(
                file,
                where,
                f"{at_ms} ms is past the virtual-time cap of {limit} ms ([limits] virtual_ms)",
            )


# -- topology: topics, producers, groups --------------------------------------------------


def _validate_topics(s: Scenario, file: str) -> None:
    if len(s.topics) > cap(s, "topics"):
        raise InputError(file, "$.topics", f"more than {cap(s, 'topics')} topics")
    for i, t in enumerate(s.topics):
        check_name(file, f"$.topics[{i}].name", t.name, "topic")
    _unique(file, [t.name for t in s.topics], "$.topics", "topic")
    for i, t in enumerate(s.topics):
        if t.partitions > cap(s, "partitions_per_topic"):
            raise InputError(
                file,
                f"$.topics[{i}].partitions",
                f"{t.partitions} partitions is over the cap of {cap(s, 'partitions_per_topic')}",
            )


def _validate_producers(s: Scenario, file: str) -> None:
    if len(s.producers) > cap(s, "producers"):
        raise InputError(file, "$.producers", f"more than {cap(s, 'producers')} producers")
    topics = [t.name for t in s.topics]
    for i, p in enumerate(s.producers):
        check_name(file, f"$.producers[{i}].name", p.name, "producer")
    _unique(file, [p.name for p in s.producers], "$.producers", "producer")
    for i, p in enumerate(s.producers):
        ref(file, f"$.producers[{i}].topic", p.topic, topics, "topic")
        if p.idempotent and p.acks != "all":
            raise InputError(
                file,
                f"$.producers[{i}].idempotent",
                'an idempotent producer needs acks = "all" (as in Kafka); set idempotent = false',
            )
        if p.idempotent and p.max_in_flight > 5:
            raise InputError(
                file, f"$.producers[{i}].max_in_flight", "an idempotent producer allows at most 5"
            )


def _validate_groups(s: Scenario, file: str) -> list[str]:
    """Groups and their consumers; returns every consumer's name."""
    if len(s.groups) > cap(s, "groups"):
        raise InputError(file, "$.groups", f"more than {cap(s, 'groups')} groups")
    topics = [t.name for t in s.topics]
    producers = [p.name for p in s.producers]
    groups = [g.name for g in s.groups]
    for i, g in enumerate(s.groups):
        check_name(file, f"$.groups[{i}].name", g.name, "group")
    _unique(file, groups, "$.groups", "group")
    consumers: list[str] = []
    for i, g in enumerate(s.groups):
        at = f"$.groups[{i}]"
        ref(file, f"{at}.topic", g.topic, topics, "topic")
        count = g.consumers if isinstance(g.consumers, int) else len(g.consumers)
        if count > cap(s, "consumers_per_group"):  # before consumer_names() builds the list
            raise InputError(
                file,
                f"{at}.consumers",
                f"{count} consumers is over the cap of {cap(s, 'consumers_per_group')}",
            )
        for j, c in enumerate(g.consumer_names()):
            check_name(file, f"{at}.consumers[{j}]", c, "consumer")
            if c in consumers or c in producers or (c in groups and c != g.name):
                raise InputError(file, f"{at}.consumers[{j}]", f"name {c!r} is already used")
            consumers.append(c)
        for field in ("dead_letter_topic", "output_topic"):
            target = getattr(g, field)
            if target is not None:
                ref(file, f"{at}.{field}", target, topics, "topic")
        if g.dead_letter_topic is not None and g.dead_letter_topic == g.topic:
            raise InputError(
                file,
                f"{at}.dead_letter_topic",
                f"is the group's own topic {g.topic!r}: every dead letter would come back to"
                " the group and fail again, a loop that only the record cap ends",
            )
        if g.commit == "transactional" and g.retry_topics:
            raise InputError(
                file, f"{at}.retry_topics", "retry topics do not mix with transactions"
            )
        if g.heartbeat_interval_ms >= g.session_timeout_ms:
            raise InputError(
                file,
                f"{at}.heartbeat_interval_ms",
                "must be lower than session_timeout_ms (Kafka recommends a third of it)",
            )
    return consumers


# -- workload and faults -------------------------------------------------------------------


def _validate_workload(s: Scenario, file: str) -> None:
    producers = [p.name for p in s.producers]
    total = len(s.workload.messages)
    for i, m in enumerate(s.workload.messages):
        ref(file, f"$.workload.messages[{i}].producer", m.producer, producers, "producer")
    for i, gen in enumerate(s.workload.generators):
        ref(file, f"$.workload.generators[{i}].producer", gen.producer, producers, "producer")
        total += gen.count
    if total > cap(s, "messages"):
        raise InputError(
            file, "$.workload", f"{total} messages is over the cap of {cap(s, 'messages')}"
        )


def _cqrs_components(s: Scenario) -> list[str]:
    """Handlers, projectors and the outbox relay: components a crash can target."""
    names = [h.name for h in s.handlers] + [p.name for p in s.projectors]
    if s.store is not None and (
        s.store.publish == "outbox" or any(h.publish == "outbox" for h in s.handlers)
    ):
        names.append("outbox-relay")
    return names


def _machines(s: Scenario) -> list[str]:
    """Machines that broker models' sections add (the brokers of a cluster), in order."""
    from simulator.models.registry import sections

    names: list[str] = []
    for owned in sections():
        if owned.machines is not None:
            names += [m for m in owned.machines(s) if m not in names]
    return names


class _Known(NamedTuple):
    """The names a fault may refer to."""

    components: list[str]
    groups: list[str]
    consumers: list[str]
    machines: list[str]


def _validate_faults(s: Scenario, file: str, consumers: list[str]) -> None:
    """Every fault names components, groups and consumers that exist."""
    producers = [p.name for p in s.producers]
    machines = _machines(s) if s.faults else []
    known = _Known(
        components=[
            "broker",
            *machines,
            *producers,
            *consumers,
            *_cqrs_components(s),
            *_model_parts(s),
        ],
        groups=[g.name for g in s.groups],
        consumers=consumers,
        machines=machines,
    )
    for i, f in enumerate(s.faults):
        at = f"$.faults[{i}]"
        _FAULT_CHECKS[type(f)](file, at, f, known)
        to_ms = getattr(f, "to_ms", None)
        from_ms = getattr(f, "from_ms", 0)
        if to_ms is not None and to_ms < from_ms:
            raise InputError(file, f"{at}.to_ms", "must not be before from_ms")


def _check_crash(file: str, at: str, f: Crash, known: _Known) -> None:
    ref(file, f"{at}.target", f.target, known.components, "component")
    if (f.at_ms is None) == (f.at is None):
        raise InputError(
            file, at, "a crash needs exactly one of at_ms (a time) or at (a named point)"
        )


def _check_network(file: str, at: str, f: NetworkFault, known: _Known) -> None:
    ref(file, f"{at}.source", f.source, known.components, "component")
    ref(file, f"{at}.destination", f.destination, known.components, "component")


def _check_partition(file: str, at: str, f: PartitionFault, known: _Known) -> None:
    for j, c in enumerate(f.between):
        ref(file, f"{at}.between[{j}]", c, known.components, "component")
    if f.to_ms <= f.from_ms:
        raise InputError(file, f"{at}.to_ms", "must be after from_ms")


def _check_handler_error(file: str, at: str, f: HandlerError, known: _Known) -> None:
    ref(file, f"{at}.group", f.group, known.groups, "group")
    if f.consumer is not None:
        ref(file, f"{at}.consumer", f.consumer, known.consumers, "consumer")


def _check_poison(file: str, at: str, f: Poison, known: _Known) -> None:
    if f.group is not None:
        ref(file, f"{at}.group", f.group, known.groups, "group")
    if not (f.keys or f.msgs or f.value_contains):
        raise InputError(file, at, "a poison fault needs keys, msgs or value_contains")


def _check_slow(file: str, at: str, f: Slow, known: _Known) -> None:
    ref(file, f"{at}.target", f.target, known.consumers, "consumer")


def _check_power_loss(file: str, at: str, f: PowerLoss, known: _Known) -> None:
    for j, target in enumerate(f.targets):
        if not known.machines:
            raise InputError(
                file,
                f"{at}.targets[{j}]",
                "a power loss needs machines to cut: a cluster of brokers ([log] brokers)",
            )
        ref(file, f"{at}.targets[{j}]", target, known.machines, "broker")
        if target in f.targets[:j]:
            raise InputError(file, f"{at}.targets[{j}]", f"{target!r} is named twice")


_FAULT_CHECKS: dict[type[Fault], Callable[[str, str, Any, _Known], None]] = {
    Crash: _check_crash,
    NetworkFault: _check_network,
    PartitionFault: _check_partition,
    HandlerError: _check_handler_error,
    Poison: _check_poison,
    Slow: _check_slow,
    PowerLoss: _check_power_loss,
}
"""One check per kind of fault (the ``kind`` of a ``[[faults]]`` entry)."""


# -- narration, expectations, predictions -------------------------------------------------


def focus_names(s: Scenario) -> list[str]:
    """The components a narration beat may focus on: what the player draws, by name."""
    names = ["broker", "event store", *_machines(s)]
    names += [p.name for p in s.producers]
    for t in s.topics:
        names.append(t.name)
        names += [f"{t.name}/{i}" for i in range(t.partitions)]
    for g in s.groups:
        names.append(g.name)
        names += g.consumer_names()
        if g.dead_letter_topic:
            names.append(g.dead_letter_topic)
    names += _cqrs_components(s)
    names += _model_parts(s)
    return list(dict.fromkeys(names))


def _model_parts(s: Scenario) -> list[str]:
    """The parts of the scenario's broker model that have names of their own (nodes)."""
    from simulator.models.registry import model

    parts = model(s.broker).components
    return parts(s) if parts is not None else []


def _validate_narration(s: Scenario, file: str) -> None:
    known: list[str] | None = None
    for i, beat in enumerate(s.narration):
        for j, name in enumerate(beat.focus):
            known = known if known is not None else focus_names(s)
            ref(file, f"$.narration[{i}].focus[{j}]", name, known, "component")
        if beat.on is not None:
            from simulator.trace import RECORD_TYPES

            kinds = [t.__name__ for t in RECORD_TYPES]
            if beat.on not in kinds:
                raise InputError(file, f"$.narration[{i}].on", f"unknown record kind {beat.on!r}")


def _check_expectation(s: Scenario, file: str, where: str, text: str) -> None:
    """One expectation line parses and names a group, handler or projector that exists."""
    parsed = parse_expectation(text)
    if isinstance(parsed, str):
        raise InputError(file, where, parsed)
    if parsed.metric in HEADER_METRICS and not _has(s, "dead_letter_headers"):
        raise InputError(
            file,
            where,
            f"{parsed.metric} reads x-death and x-delivery-count headers, which the"
            f" {s.broker} model does not write: it needs {_needs('dead_letter_headers')}",
        )
    if parsed.group is None:
        return
    if parsed.metric in CQRS_METRICS:
        cqrs_names = [h.name for h in s.handlers] + [p.name for p in s.projectors]
        ref(file, where, parsed.group, cqrs_names, "handler or projector")
    else:
        ref(file, where, parsed.group, [g.name for g in s.groups], "group")


def _validate_expectations(s: Scenario, file: str) -> None:
    for i, text in enumerate(s.expect):
        _check_expectation(s, file, f"$.expect[{i}]", text)


def _validate_predictions(s: Scenario, file: str) -> None:
    """A prediction's answer must be one of its choices, and its check must parse."""
    for i, p in enumerate(s.predict):
        at = f"$.predict[{i}]"
        if p.answer > len(p.choices):
            raise InputError(
                file, f"{at}.answer", f"answer {p.answer} is not a choice (1–{len(p.choices)})"
            )
        texts = [("question", p.question), ("explanation", p.explanation)]
        texts += [(f"choices[{j}]", c) for j, c in enumerate(p.choices)]
        for where, text in texts:
            for lang in ("en", "ko"):
                if not getattr(text, lang).strip():
                    raise InputError(file, f"{at}.{where}.{lang}", "must not be empty")
        _check_expectation(s, file, f"{at}.expect", p.expect)


# -- broker models -----------------------------------------------------------------------------


def _validate_broker(s: Scenario, file: str) -> None:
    from simulator.models.registry import UnknownModel, model

    try:
        model(s.broker)
    except UnknownModel as unknown:
        raise InputError(file, "$.broker", unknown.message) from None


def _needs(capability: str) -> str:
    """``broker = "log"`` (or several): the models that have ``capability``, as a setting."""
    from simulator.models.registry import capable

    return "broker = " + " or ".join(f'"{name}"' for name in capable(capability))


def _has(s: Scenario, capability: str) -> bool:
    """Whether the scenario's model has ``capability``."""
    from simulator.models.registry import model

    return bool(getattr(model(s.broker).capabilities, capability))


def _validate_model_sections(s: Scenario, file: str) -> None:
    """What the model can do, then every model section's own checks (under any broker)."""
    from simulator.models.registry import model, sections

    if not model(s.broker).capabilities.transactions:
        for i, g in enumerate(s.groups):
            if g.commit == "transactional":
                raise InputError(
                    file,
                    f"$.groups[{i}].commit",
                    f"transactional needs {_needs('transactions')}: the {s.broker} model has no"
                    " consume-and-produce transactions (use after-process and idempotent handlers)",
                )
    for owned in sections():
        if owned.validate is not None:
            owned.validate(s, file)


# -- stream processors and sagas ---------------------------------------------------------------


def _validate_processors(s: Scenario, file: str) -> None:
    """``[[processors]]``: names unique, topics known, windows sane, saga roles with a saga."""
    for i, p in enumerate(s.processors):
        check_name(file, f"$.processors[{i}].name", p.name, "processor")
    _unique(file, [p.name for p in s.processors], "$.processors", "processor")
    steps = s.saga.steps if s.saga is not None else []
    for i, p in enumerate(s.processors):
        at = f"$.processors[{i}]"
        if isinstance(p, StreamProcessorSpec):
            _validate_stream_processor(s, file, at, p)
        elif s.saga is None:
            raise InputError(file, at, "a saga processor needs a [saga] section")
        elif isinstance(p, SagaServiceSpec):
            ref(file, f"{at}.step", p.step, steps, "saga step")


def _validate_stream_processor(s: Scenario, file: str, at: str, p: StreamProcessorSpec) -> None:
    topics = [t.name for t in s.topics]
    for field in ("late_topic", "output_topic", "changelog_topic"):
        target = getattr(p, field)
        if target is not None:
            ref(file, f"{at}.{field}", target, topics, "topic")
    if p.late == "side-output" and p.late_topic is None:
        raise InputError(file, f"{at}.late_topic", 'late = "side-output" needs a late_topic')
    if p.window == "hopping":
        if p.advance_ms is None or p.advance_ms >= p.size_ms:
            raise InputError(
                file, f"{at}.advance_ms", "hopping windows need advance_ms below size_ms"
            )
        if p.size_ms // p.advance_ms > 100:
            raise InputError(file, f"{at}.advance_ms", "at most 100 overlapping windows")


def _validate_saga(s: Scenario, file: str) -> None:
    """``[saga]``: steps named well, topics known, orchestration with a commands topic."""
    saga = s.saga
    if saga is None:
        return
    topics = [t.name for t in s.topics]
    if not _has(s, "processors"):
        raise InputError(file, "$.saga", f"sagas run on {_needs('processors')}")
    if not saga.steps:
        raise InputError(file, "$.saga.steps", "a saga needs at least one step")
    for j, step in enumerate(saga.steps):
        if not re.fullmatch(r"[a-z][a-z0-9-]*", step) or step == "order":
            raise InputError(
                file, f"$.saga.steps[{j}]", f"bad step name {step!r} (lower-case words)"
            )
    for j, step in enumerate(saga.compensable):
        ref(file, f"$.saga.compensable[{j}]", step, saga.steps, "saga step")
    ref(file, "$.saga.events_topic", saga.events_topic, topics, "topic")
    if saga.mode == "orchestration":
        if saga.commands_topic is None:
            raise InputError(file, "$.saga.commands_topic", "orchestration needs a commands_topic")
        ref(file, "$.saga.commands_topic", saga.commands_topic, topics, "topic")


def _validate_processor_groups(s: Scenario, file: str) -> None:
    """A group that names a processor runs it on a model that can, as its only output."""
    names = [p.name for p in s.processors]
    for i, g in enumerate(s.groups):
        if g.processor is None:
            continue
        at = f"$.groups[{i}].processor"
        ref(file, at, g.processor, names, "processor")
        if not _has(s, "processors"):
            raise InputError(file, at, f"processors run on {_needs('processors')}")
        if g.output_topic is not None:
            raise InputError(
                file, f"$.groups[{i}].output_topic", "a processor writes its own outputs"
            )
        spec = s.processors[names.index(g.processor)]
        if not isinstance(spec, StreamProcessorSpec) and len(g.consumer_names()) != 1:
            raise InputError(
                file,
                f"$.groups[{i}].consumers",
                "a saga service or manager runs as one consumer here (its database is its own)",
            )


# -- user code ---------------------------------------------------------------------------------


def _validate_code(s: Scenario, file: str) -> None:
    """Code a scenario names exists and fits its role; it is used where it can run."""
    from simulator.usercode.properties import PROPERTIES
    from simulator.usercode.refs import check_code

    for i, name in enumerate(s.properties):
        ref(file, f"$.properties[{i}]", name, sorted(PROPERTIES), "property")
    for i, g in enumerate(s.groups):
        if g.handler is None:
            continue
        for field in ("processor", "output_topic"):
            if getattr(g, field) is not None:
                raise InputError(
                    file,
                    f"$.groups[{i}].{field}",
                    "a group with its own handler publishes with ctx.publish (or the outbox),"
                    f" not through {field}",
                )
    rebuilt = {r.projector for r in s.rebuilds}
    for i, p in enumerate(s.projectors):
        if p.apply is not None and p.name in rebuilt:
            raise InputError(
                file,
                f"$.projectors[{i}].apply",
                "a projector with your own apply cannot be rebuilt",
            )
    for i, h in enumerate(s.handlers):
        at = f"$.handlers[{i}]"
        if h.decider is not None and h.command_handler is not None:
            raise InputError(
                file,
                f"{at}.decider",
                "name the command_handler only: its @command_handler(decider=...) names the"
                " decider",
            )
        if (h.decider is not None or h.command_handler is not None) and h.snapshot_every:
            raise InputError(
                file, f"{at}.snapshot_every", "the state of your own decider is not snapshotted"
            )
    check_code(s, file)
