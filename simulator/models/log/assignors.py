"""Partition assignors: how a consumer group shares a topic's partitions.

Each partition is owned by exactly one member of a group; a member may own
several, and members beyond the partition count sit idle. Kafka ships three
strategies, reproduced here as pure functions of (members, partitions):

- ``range`` (the default): per topic, consecutive blocks; the first members get
  one extra when partitions do not divide evenly.
- ``round-robin``: all partitions in order, dealt like cards.
- ``sticky``: balanced like round-robin, but keeps every partition with its
  previous owner where it can, so a rebalance moves as little as possible.

Members are ordered by name, as Kafka orders member ids.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

__all__ = ["ASSIGNORS", "Assignment", "TopicPartition", "assign"]

TopicPartition = tuple[str, int]
Assignment = dict[str, list[TopicPartition]]


def range_assign(members: Sequence[str], partitions: Sequence[TopicPartition]) -> Assignment:
    result: Assignment = {m: [] for m in sorted(members)}
    ordered = sorted(members)
    topics = sorted({t for t, _ in partitions})
    for topic in topics:
        tps = sorted(tp for tp in partitions if tp[0] == topic)
        per, extra = divmod(len(tps), len(ordered))
        start = 0
        for i, member in enumerate(ordered):
            n = per + (1 if i < extra else 0)
            result[member].extend(tps[start : start + n])
            start += n
    return result


def round_robin_assign(members: Sequence[str], partitions: Sequence[TopicPartition]) -> Assignment:
    ordered = sorted(members)
    result: Assignment = {m: [] for m in ordered}
    for i, tp in enumerate(sorted(partitions)):
        result[ordered[i % len(ordered)]].append(tp)
    return result


def sticky_assign(
    members: Sequence[str],
    partitions: Sequence[TopicPartition],
    previous: Mapping[str, Sequence[TopicPartition]],
) -> Assignment:
    ordered = sorted(members)
    base, extra = divmod(len(partitions), len(ordered))
    existing = set(partitions)
    kept: Assignment = {}
    for m in ordered:
        kept[m] = sorted(tp for tp in previous.get(m, ()) if tp in existing)[
            : base + (1 if extra else 0)
        ]
    # At most `extra` members may hold base + 1; trim the others, fewest-kept last.
    over = sorted((m for m in ordered if len(kept[m]) > base), key=lambda m: (-len(kept[m]), m))
    for m in over[extra:]:
        kept[m] = kept[m][:base]
    taken = {tp for tps in kept.values() for tp in tps}
    big = sum(1 for m in ordered if len(kept[m]) > base)
    for tp in sorted(existing - taken):
        candidates = [
            m for m in ordered if len(kept[m]) < base or (len(kept[m]) == base and big < extra)
        ]
        m = min(candidates, key=lambda c: (len(kept[c]), c))
        if len(kept[m]) == base:
            big += 1
        kept[m].append(tp)
    return {m: sorted(kept[m]) for m in ordered}


ASSIGNORS = ("range", "round-robin", "sticky")


def assign(
    assignor: str,
    members: Sequence[str],
    partitions: Sequence[TopicPartition],
    previous: Mapping[str, Sequence[TopicPartition]] | None = None,
) -> Assignment:
    """Assign ``partitions`` to ``members`` with the named strategy."""
    if not members:
        return {}
    if assignor == "range":
        return range_assign(members, partitions)
    if assignor == "round-robin":
        return round_robin_assign(members, partitions)
    if assignor == "sticky":
        return sticky_assign(members, partitions, previous or {})
    raise ValueError(f"unknown assignor {assignor!r}")
