"""The log's own outcomes, counted from a trace: replication and scaling out.

``evsim`` judges every lesson by the checker's books (lost, duplicates …);
a Kafka cluster lesson also promises things about the cluster itself — that a
write was refused with ``NOT_ENOUGH_REPLICAS``, that an election was unclean,
that a group was left with idle members or rebalanced a dozen times. These
counts (``LOG_METRICS``) are read off the records, so a trace file gives the
same numbers as the run that wrote it.
"""

from __future__ import annotations

from collections.abc import Iterable

from simulator.scenario import LOG_GROUP_METRICS, LOG_METRICS
from simulator.trace import (
    IsrExpanded,
    IsrShrunk,
    LeaderElected,
    LogTruncatedToEpoch,
    MetadataRefreshed,
    PageCacheLost,
    PartitionsAdded,
    ProduceFailed,
    ProduceRefused,
    Rebalanced,
    Record,
    ScaledIn,
    ScaledOut,
)

__all__ = ["log_metrics"]

FlowMetrics = dict[str, dict[str | None, int]]


def log_metrics(trace: Iterable[Record]) -> FlowMetrics:
    """``LOG_METRICS`` in total (key None) and, for the group ones, per group."""
    flow: FlowMetrics = {metric: {} for metric in LOG_METRICS}

    def bump(metric: str, by: int = 1, group: str | None = None) -> None:
        per = flow[metric]
        per[None] = per.get(None, 0) + by
        if group is not None:
            per[group] = per.get(group, 0) + by

    last: dict[str, Rebalanced] = {}
    refused_not_leader: set[int] = set()
    """Seqs of producers' NOT_LEADER_OR_FOLLOWER refusals: the metadata refresh each one causes
    is the same error seen once, not a second one."""
    for r in trace:
        kind = type(r)
        if kind is LeaderElected:
            assert isinstance(r, LeaderElected)
            if r.reason != "created":
                bump("leader_elections")
            if r.unclean:
                bump("unclean_elections")
        elif kind is IsrShrunk:
            bump("isr_shrinks")
        elif kind is IsrExpanded:
            bump("isr_expansions")
        elif kind is ProduceRefused:
            assert isinstance(r, ProduceRefused)
            if r.error.startswith("NOT_ENOUGH_REPLICAS"):
                bump("not_enough_replicas")
            elif r.error == "NOT_LEADER_OR_FOLLOWER":
                bump("not_leader_or_follower")
                refused_not_leader.add(r.seq)
        elif kind is MetadataRefreshed:
            assert isinstance(r, MetadataRefreshed)
            # A consumer learns of a moved leader only from its refresh; a producer was refused.
            if r.reason == "NOT_LEADER_OR_FOLLOWER" and r.cause_seq not in refused_not_leader:
                bump("not_leader_or_follower")
        elif kind is LogTruncatedToEpoch or kind is PageCacheLost:
            assert isinstance(r, LogTruncatedToEpoch | PageCacheLost)
            bump("truncated_records", r.removed)
        elif kind is ProduceFailed:
            bump("produce_failed")
        elif kind is PartitionsAdded:
            assert isinstance(r, PartitionsAdded)
            bump("partitions_added", r.added)
        elif kind is Rebalanced:
            assert isinstance(r, Rebalanced)
            last[r.group] = r
        elif kind is ScaledOut:
            assert isinstance(r, ScaledOut)
            bump("scale_outs", group=r.group)
        elif kind is ScaledIn:
            assert isinstance(r, ScaledIn)
            bump("scale_ins", group=r.group)
    for group, rebalanced in last.items():
        bump("generations", rebalanced.generation, group)
        idle = sum(1 for owned in rebalanced.assignment.values() if not owned)
        bump("idle_consumers", idle, group)
    for metric in LOG_GROUP_METRICS:
        flow[metric].setdefault(None, 0)
    return flow
