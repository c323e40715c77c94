"""Expectations: what a lesson promises about its outcome, checked after the run.

An expectation is one line, ``metric[group] op value`` — ``lost == 0``,
``duplicates[billing] >= 1`` — over the counts of the JSON contract
(``produced``, ``lost``, ``duplicates`` …) and the counts the stream, saga and
CQRS books keep. ``[[predict]]`` questions use the same language for the
answer the run must confirm.
"""

from __future__ import annotations

import re

import msgspec

__all__ = [
    "CQRS_METRICS",
    "EXPECTATION_METRICS",
    "GROUP_METRICS",
    "HEADER_METRICS",
    "LOG_GROUP_METRICS",
    "LOG_METRICS",
    "QUEUE_DURABILITY_METRICS",
    "QUEUE_DURABILITY_TOTALS",
    "SAGA_METRICS",
    "STREAM_METRICS",
    "Expectation",
    "parse_expectation",
]

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
HEADER_METRICS = (
    "max_delivery_count",
    "dead_lettered_rejected",
    "dead_lettered_expired",
    "dead_lettered_maxlen",
    "dead_lettered_delivery_limit",
)
"""Read off the headers a broker puts on messages (``Delivered.delivery_count``, a quorum
queue's ``x-delivery-count``; ``DeadLettered.headers``, RabbitMQ's ``x-death``): the highest
delivery count a group's consumers saw, and the group's dead letters by ``x-death`` reason."""
QUEUE_DURABILITY_METRICS = (
    "lost_on_restart",
    "leader_elections",
    "unavailable_ms",
    "lambda_throttled",
    "lambda_max_concurrency",
)
"""Counted by ``simulator.models.queues.books`` from the trace, per group (queue) or in total:
messages a restart took, quorum leader elections, time unavailable, Lambda throttles and the
most batches a scaled Lambda trigger ran at once."""
QUEUE_DURABILITY_TOTALS = ("publishers_blocked", "blocked_ms", "produce_failed")
"""The same, counted over the whole run only: publishers blocked by the memory alarm, the time
they spent blocked, and publishes that failed (refused with a nack, or given up)."""
LOG_GROUP_METRICS = ("idle_consumers", "generations", "scale_outs", "scale_ins")
"""Per consumer group: members left without a partition by the group's last assignment,
the generations it went through (one per rebalance), and the autoscaler's steps out and in."""
LOG_METRICS = (
    "leader_elections",
    "unclean_elections",
    "isr_shrinks",
    "isr_expansions",
    "not_enough_replicas",
    "not_leader_or_follower",
    "truncated_records",
    "produce_failed",
    "partitions_added",
    *LOG_GROUP_METRICS,
)
"""Counted by ``simulator.models.log.books`` from the trace: what a Kafka cluster did
(leaders elected, cleanly or not; ISR shrinks and expansions; writes refused with
``NOT_ENOUGH_REPLICAS`` or ``NOT_LEADER_OR_FOLLOWER``; records a replica lost to a truncation
or a power loss; sends that failed for good; partitions added) and how groups scaled."""


def _unique(*names: str) -> tuple[str, ...]:
    """The names in order, each once: the queue and the log books share a few
    (``leader_elections``, ``produce_failed``), each counting its own records."""
    return tuple(dict.fromkeys(names))


EXPECTATION_METRICS = _unique(
    "produced",
    "acked",
    "delivered",
    "processed",
    "lost",
    "dropped_unacknowledged",
    "in_flight",
    "deduplicated",
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
    *HEADER_METRICS,
    *QUEUE_DURABILITY_METRICS,
    *QUEUE_DURABILITY_TOTALS,
    *LOG_METRICS,
)
GROUP_METRICS = _unique(
    "delivered",
    "processed",
    "lost",
    "dropped_unacknowledged",
    "in_flight",
    "deduplicated",
    "duplicates",
    "out_of_order",
    "dead_lettered",
    *STREAM_METRICS,
    *SAGA_METRICS,
    *HEADER_METRICS,
    *QUEUE_DURABILITY_METRICS,
    *LOG_GROUP_METRICS,
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
