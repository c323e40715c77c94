"""The same workload through different brokers, or under different delivery semantics.

``evsim compare SCENARIO --vary broker`` runs one scenario on every registered
broker model (``simulator.models.registry``: the Kafka-style log,
RabbitMQ-style queues, SQS standard and SQS FIFO) with the same seed, so the
workload and the faults are identical and only the broker differs. ``--vary
semantics`` keeps the broker and switches every group between at-most-once
(commit or ack or delete *before* processing), at-least-once (*after*
processing) and exactly-once, where the model has transactions (the
Kafka-style log, with ``read_committed``); the queue models have no
transaction that covers a consumer's ack and its side effects, so that
variant is reported as unsupported, with the model's own reason, instead of run.

Each variant is judged by the checker's common books, plus the worst latency
from a message being produced to its first processing in each group.
"""

from __future__ import annotations

from typing import Any

import msgspec

from simulator.lessons.summary import RunSummary, as_dict, summarize
from simulator.models.registry import model, models
from simulator.scenario import Scenario, validate
from simulator.scenario.validation import refuse_over_memory
from simulator.simulation import Simulation
from simulator.trace import Processed, Produced, Record

__all__ = [
    "SEMANTICS",
    "VARY",
    "Variant",
    "compare",
    "max_latency_ms",
    "plan_variants",
    "variant_dicts",
]

VARY = ("broker", "semantics")
SEMANTICS = ("at-most-once", "at-least-once", "exactly-once")

_COMMIT_FOR = {"at-most-once": "before-process", "at-least-once": "after-process"}


class Variant(msgspec.Struct, frozen=True):
    """One column of the comparison: a run, or why there is none."""

    label: str
    broker: str
    summary: RunSummary | None
    max_latency_ms: int | None
    note: str = ""
    baseline: bool = False
    """This variant is the scenario exactly as written."""


def _semantics_of(scenario: Scenario) -> str:
    commits = {g.commit for g in scenario.groups}
    if commits == {"before-process"}:
        return "at-most-once"
    if commits == {"transactional"}:
        return "exactly-once"
    if commits and commits <= {"after-process", "auto"}:
        return "at-least-once"
    return "mixed"


def _with(scenario: Scenario, *, broker: str | None = None, commit: str | None = None) -> Scenario:
    groups = scenario.groups
    if commit is not None:
        groups = [msgspec.structs.replace(g, commit=commit) for g in groups]
    elif broker is not None and not model(broker).capabilities.transactions:
        groups = [
            msgspec.structs.replace(g, commit="after-process") if g.commit == "transactional" else g
            for g in groups
        ]
    return msgspec.structs.replace(
        scenario, broker=broker if broker is not None else scenario.broker, groups=groups
    )


def plan_variants(scenario: Scenario, vary: str) -> list[tuple[str, str, Scenario | None, str]]:
    """(label, broker, scenario to run or None, note) for each variant of ``vary``."""
    if vary not in VARY:
        raise ValueError(f"cannot vary {vary!r} (choose from {', '.join(VARY)})")
    plans: list[tuple[str, str, Scenario | None, str]] = []
    if vary == "broker":
        transactional = any(g.commit == "transactional" for g in scenario.groups)
        for spec in models():
            note = ""
            if transactional and not spec.capabilities.transactions:
                note = "transactional groups run as after-process (no transactions here)"
            plans.append((spec.label, spec.name, _with(scenario, broker=spec.name), note))
        return plans
    broker = scenario.broker
    own = model(broker)
    for semantics in SEMANTICS:
        if semantics == "exactly-once":
            if not own.capabilities.transactions:
                plans.append((semantics, broker, None, f"unsupported: {own.no_exactly_once}"))
                continue
            if any(g.retry_topics for g in scenario.groups):
                why = "unsupported: retry topics do not mix with transactions"
                plans.append((semantics, broker, None, why))
                continue
            plans.append((semantics, broker, _with(scenario, commit="transactional"), ""))
            continue
        plans.append((semantics, broker, _with(scenario, commit=_COMMIT_FOR[semantics]), ""))
    return plans


def max_latency_ms(records: list[Record]) -> int | None:
    """The longest wait from Produced to a group's first Processed of that message."""
    produced: dict[int, int] = {}
    seen: set[tuple[str, int]] = set()
    worst: int | None = None
    for r in records:
        if type(r) is Produced:
            produced.setdefault(r.msg, r.at)
        elif type(r) is Processed:
            start = produced.get(r.msg)
            if start is None or (r.group, r.msg) in seen:
                continue
            seen.add((r.group, r.msg))
            latency = r.at - start
            if worst is None or latency > worst:
                worst = latency
    return worst


def compare(scenario: Scenario, vary: str, seed: int | None = None) -> list[Variant]:
    """Run every variant of ``vary`` with the same seed; raises ``InputError`` for a bad variant."""
    own_broker = scenario.broker
    own_semantics = _semantics_of(scenario)
    out: list[Variant] = []
    for label, broker, variant, note in plan_variants(scenario, vary):
        baseline = broker == own_broker if vary == "broker" else label == own_semantics
        if variant is None:
            out.append(Variant(label, broker, None, None, note, baseline))
            continue
        where = f"{scenario.name or 'scenario'} (variant {label})"
        validate(variant, where)
        refuse_over_memory(variant, where, on_disk=False)  # every variant's trace is held
        sim = Simulation(variant, seed)
        summary = summarize(sim)
        latency = max_latency_ms(sim.trace.records)
        out.append(Variant(label, broker, summary, latency, note, baseline))
    return out


def variant_dicts(variants: list[Variant]) -> list[dict[str, Any]]:
    """The JSON of ``evsim compare --json``: each run's contract object, plus the variant."""
    out: list[dict[str, Any]] = []
    for v in variants:
        if v.summary is None:
            out.append({"variant": v.label, "broker": v.broker, "supported": False, "note": v.note})
            continue
        d = as_dict(v.summary)
        d.update(
            variant=v.label,
            supported=True,
            baseline=v.baseline,
            max_latency_ms=v.max_latency_ms,
            note=v.note,
        )
        out.append(d)
    return out
