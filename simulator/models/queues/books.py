"""What the durability and scaling lessons count, read off the trace.

``QUEUE_DURABILITY_METRICS`` (``simulator.scenario.expectations``) are counted
here, per group (queue) and in total, so a lesson can say what its run must
show: ``lost_on_restart[sessions] >= 1`` (messages a restart took from the
queue), ``leader_elections[orders] == 1`` (a quorum queue elected a new
leader after its first), ``unavailable_ms[classic] > 3000`` (how long the
queue could serve nobody), ``publishers_blocked >= 1`` and ``blocked_ms``
(the memory alarm's back-pressure), ``produce_failed`` (publishes refused or
given up), ``lambda_throttled[fulfil]`` (invocations refused at the
function's reserved concurrency) and ``lambda_max_concurrency[fulfil]`` (the
most batches the event source mapping ran at once after scaling).
"""

from __future__ import annotations

from collections.abc import Iterable

from simulator.trace import (
    LambdaScaled,
    LambdaThrottled,
    MessageLostOnRestart,
    ProduceFailed,
    PublisherBlocked,
    PublisherUnblocked,
    QueueAvailable,
    QueueUnavailable,
    QuorumLeaderElected,
    Record,
)

__all__ = ["durability_metrics"]

Metrics = dict[str, dict[str | None, int]]
"""Metric → group (None: every group) → value."""


def _add(per: dict[str | None, int], group: str | None, n: int = 1) -> None:
    if group is not None:
        per[group] = per.get(group, 0) + n
    per[None] = per.get(None, 0) + n


def _most(per: dict[str | None, int], group: str, n: int) -> None:
    per[group] = max(per.get(group, 0), n)
    per[None] = max(per.get(None, 0), n)


def durability_metrics(trace: Iterable[Record]) -> Metrics:
    """Every durability metric, per group and in total (key None), from one pass."""
    names = (
        "lost_on_restart",
        "leader_elections",
        "unavailable_ms",
        "publishers_blocked",
        "blocked_ms",
        "produce_failed",
        "lambda_throttled",
        "lambda_max_concurrency",
    )
    out: Metrics = {name: {} for name in names}
    down_since: dict[str, int] = {}
    blocked_since: dict[str, int] = {}
    end = 0
    for r in trace:
        end = r.at
        if isinstance(r, MessageLostOnRestart):
            _add(out["lost_on_restart"], r.group)
        elif isinstance(r, QuorumLeaderElected):
            if r.term > 1:
                _add(out["leader_elections"], r.group)
        elif isinstance(r, QueueUnavailable):
            down_since.setdefault(r.group, r.at)
        elif isinstance(r, QueueAvailable):
            since = down_since.pop(r.group, None)
            if since is not None:
                _add(out["unavailable_ms"], r.group, r.at - since)
        elif isinstance(r, PublisherBlocked):
            _add(out["publishers_blocked"], None)
            blocked_since.setdefault(r.producer, r.at)
        elif isinstance(r, PublisherUnblocked):
            blocked_since.pop(r.producer, None)
            _add(out["blocked_ms"], None, r.blocked_ms)
        elif isinstance(r, ProduceFailed):
            _add(out["produce_failed"], None)
        elif isinstance(r, LambdaThrottled):
            _add(out["lambda_throttled"], r.group)
        elif isinstance(r, LambdaScaled):
            _most(out["lambda_max_concurrency"], r.group, r.concurrency)
    # Still down, or still blocked, when the run ended: count up to its end.
    for group, since in down_since.items():
        _add(out["unavailable_ms"], group, end - since)
    for since in blocked_since.values():
        _add(out["blocked_ms"], None, end - since)
    return out
