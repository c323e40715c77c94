"""The outcome of a run, as the JSON contract of ``evsim play --json``.

One flat object with the counts a lesson is judged by (see ARCHITECTURE.md
for the definitions), per-group breakdowns, and each expectation of the
scenario checked against them.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

import msgspec

from simulator.checker import Checker
from simulator.scenario import (
    CQRS_METRICS,
    HEADER_METRICS,
    LOG_METRICS,
    QUEUE_DURABILITY_METRICS,
    QUEUE_DURABILITY_TOTALS,
    SAGA_METRICS,
    STREAM_METRICS,
    Expectation,
    Scenario,
    parse_expectation,
)
from simulator.simulation import Simulation
from simulator.trace import DeadLettered, Delivered, Record, Trace

__all__ = ["ExpectationResult", "RunSummary", "summarize"]


class ExpectationResult(msgspec.Struct, frozen=True):
    name: str
    ok: bool
    detail: str


class GroupSummary(msgspec.Struct, frozen=True):
    delivered: int
    processed: int
    lost: int
    dropped_unacknowledged: int
    in_flight: int
    deduplicated: int
    duplicates: int
    out_of_order: int
    dead_lettered: int


class RunSummary(msgspec.Struct, frozen=True):
    scenario: str
    seed: int
    broker: str
    finished: str
    """How the run ended: ``quiescent`` (no work left), ``until`` (its time limit) or
    ``max_records`` (cut at the record cap: the counts are partial and the run fails)."""
    virtual_ms: int
    trace_records: int
    trace_digest: str
    produced: int
    acked: int
    delivered: int
    processed: int
    lost: int
    dropped_unacknowledged: int
    """Sent without asking for an acknowledgement, never processed: the silent loss."""
    in_flight: int
    """Still on their way when the run was cut short (never counted as lost)."""
    deduplicated: int
    """Sends a queue dropped as repeats of an earlier message (the same logical message)."""
    duplicates: int
    out_of_order: int
    retries: int
    dead_lettered: int
    rebalances: int
    events_stored: int
    read_model_digest: str | None
    groups: dict[str, GroupSummary]
    expectations: list[ExpectationResult]
    ok: bool


FlowMetrics = dict[str, dict[str | None, int]]


def header_metrics(trace: Iterable[Record]) -> FlowMetrics:
    """``HEADER_METRICS`` per group and in total (key None), from the headers in the trace.

    ``max_delivery_count`` is the highest ``x-delivery-count`` a group's consumers
    saw; ``dead_lettered_<reason>`` counts the group's dead letters whose latest
    ``x-death`` entry gives that reason.
    """
    flow: FlowMetrics = {metric: {} for metric in HEADER_METRICS}
    highest = flow["max_delivery_count"]
    for r in trace:
        if type(r) is Delivered:
            count = r.delivery_count
            if count is not None:
                highest[r.group] = max(highest.get(r.group, 0), count)
                highest[None] = max(highest.get(None, 0), count)
        elif type(r) is DeadLettered and r.headers is not None:
            per = flow.get(f"dead_lettered_{r.headers.x_death[0].reason}")
            if per is not None:
                per[r.group] = per.get(r.group, 0) + 1
                per[None] = per.get(None, 0) + 1
    return flow


def flow_metrics(scenario: Scenario, trace: Trace) -> FlowMetrics:
    """Stream, saga, CQRS, header, durability and log outcomes (``STREAM_METRICS`` …)."""
    flow: FlowMetrics = {}
    used = {_metric_of(text) for text in _expectations(scenario)}
    if used & set(HEADER_METRICS):
        flow.update(header_metrics(trace))
    if used & _DURABILITY:
        from simulator.models.queues.books import durability_metrics

        _add(flow, durability_metrics(trace))
    if used & set(LOG_METRICS):
        from simulator.models.log.books import log_metrics

        _add(flow, log_metrics(trace))
    if scenario.processors:
        from simulator.sagas.books import saga_metrics
        from simulator.streams.books import stream_metrics

        flow.update(stream_metrics(trace))
        flow.update(saga_metrics(trace))
    if scenario.store is not None:
        from simulator.cqrs.books import cqrs_metrics

        flow.update(cqrs_metrics(trace))
    return flow


def _expectations(scenario: Scenario) -> list[str]:
    """Every expectation line of the scenario: its ``expect`` and its predictions' answers."""
    return [*scenario.expect, *(p.expect for p in scenario.predict)]


def _metric_of(text: str) -> str | None:
    e = parse_expectation(text)
    return None if isinstance(e, str) else e.metric


_DURABILITY = frozenset((*QUEUE_DURABILITY_METRICS, *QUEUE_DURABILITY_TOTALS))
_FLOW = frozenset(
    (*STREAM_METRICS, *SAGA_METRICS, *CQRS_METRICS, *HEADER_METRICS, *_DURABILITY, *LOG_METRICS)
)


def _add(flow: FlowMetrics, more: FlowMetrics) -> None:
    """Merge ``more`` into ``flow``. For a name both the queue and the log books count
    the larger value stands: ``leader_elections`` counts a quorum queue's elections on
    one side and a partition's on the other, and a run has one broker model, so the
    other side counted 0; ``produce_failed`` counts the same records on both sides."""
    for metric, values in more.items():
        per = flow.setdefault(metric, {})
        for group, value in values.items():
            per[group] = max(per.get(group, 0), value)


def _metric(
    values: dict[str, int],
    groups: dict[str, GroupSummary],
    e: Expectation,
    flow: FlowMetrics | None = None,
) -> int:
    if e.metric in _FLOW:
        return (flow or {}).get(e.metric, {}).get(e.group, 0)
    if e.group is not None:
        value: int = getattr(groups[e.group], e.metric)
        return value
    return values[e.metric]


def summarize(sim: Simulation) -> RunSummary:
    """Summarize a finished simulation and check the scenario's expectations."""
    if not sim.finished:
        sim.run()
    cqrs = sim.cqrs
    return summarize_books(
        sim.scenario,
        sim.seed,
        sim.checker,
        sim.trace,
        finished=sim.finish_reason,
        virtual_ms=sim.kernel.now_ms,
        events_stored=cqrs.events_stored if cqrs is not None else 0,
        read_model_digest=cqrs.read_model_digest() if cqrs is not None else None,
    )


def summarize_books(
    scenario: Scenario,
    seed: int,
    checker: Checker,
    trace: Trace,
    *,
    finished: str,
    virtual_ms: int,
    events_stored: int = 0,
    read_model_digest: str | None = None,
) -> RunSummary:
    """The outcome of a run from the checker's books over its trace, expectations checked.

    A simulation and a live run on a real broker (``live/``) are judged by the
    same books, so both report through this one function.
    """
    books = checker.groups.values()
    groups = {
        b.name: GroupSummary(
            delivered=b.delivered,
            processed=b.processed,
            lost=b.lost,
            dropped_unacknowledged=b.dropped_unacknowledged,
            in_flight=b.in_flight,
            deduplicated=b.deduplicated,
            duplicates=b.duplicates,
            out_of_order=b.out_of_order,
            dead_lettered=b.dead_lettered,
        )
        for b in books
    }
    values: dict[str, int] = {
        "produced": checker.produced,
        "acked": checker.acked,
        "delivered": sum(b.delivered for b in books),
        "processed": sum(b.processed for b in books),
        "lost": sum(b.lost for b in books),
        "dropped_unacknowledged": sum(b.dropped_unacknowledged for b in books),
        "in_flight": sum(b.in_flight for b in books),
        "deduplicated": sum(b.deduplicated for b in books),
        "duplicates": sum(b.duplicates for b in books),
        "out_of_order": sum(b.out_of_order for b in books),
        "retries": checker.retries,
        "dead_lettered": sum(b.dead_lettered for b in books),
        "rebalances": checker.rebalances,
        "events_stored": events_stored,
        "trace_records": len(trace),
        "virtual_ms": virtual_ms,
    }
    flow = flow_metrics(scenario, trace)
    results: list[ExpectationResult] = []
    for text in scenario.expect:
        e = parse_expectation(text)
        if isinstance(e, str):  # validated on load; kept for scenarios built in code
            results.append(ExpectationResult(name=text, ok=False, detail=e))
            continue
        actual = _metric(values, groups, e, flow)
        ok = e.holds(actual)
        results.append(
            ExpectationResult(name=e.text, ok=ok, detail=f"{e.text.split()[0]} = {actual}")
        )
    return RunSummary(
        scenario=scenario.name,
        seed=seed,
        broker=scenario.broker,
        finished=finished,
        trace_digest=trace.digest(),
        read_model_digest=read_model_digest,
        groups=groups,
        expectations=results,
        # A run cut at the record cap never finished: whatever it shows is partial.
        ok=all(r.ok for r in results) and finished != "max_records",
        **values,
    )


def as_dict(summary: RunSummary) -> dict[str, Any]:
    result: dict[str, Any] = msgspec.to_builtins(summary)
    return result
