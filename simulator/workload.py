"""Expand a scenario's workload into the list of messages to produce.

Explicit messages and generators merge into one list ordered by send time;
ties keep the order they appear in the file. Ids and key sequence numbers are
assigned in that order, so they are the same in every run. A key sequence is
the producer's own: each producer numbers its messages of a key 1, 2, 3 … (two
producers writing one key have no order between them). Random key
choice draws from the ``workload`` stream of the seed.

Event times: an explicit message may state ``event_time_ms``; a generator with
``event_time_skew_ms`` or ``late_probability`` gives each message an event time
earlier than its send time, drawn from its own ``workload:{i}:event-time``
stream (so adding lateness never changes which keys were picked).
"""

from __future__ import annotations

from simulator.messages import Message
from simulator.rng import SeedSequence
from simulator.scenario import Scenario

__all__ = ["expand_workload"]


def expand_workload(scenario: Scenario, rng: SeedSequence) -> list[Message]:
    """Every message of the workload, in send order, with ids and key sequences."""
    planned: list[tuple[int, int, str, str | None, str, bool, int | None]] = []
    dedup_ids: dict[int, str] = {}
    """Planned order → the deduplication id an explicit message sets by hand."""
    order = 0
    for m in scenario.workload.messages:
        planned.append((m.at_ms, order, m.producer, m.key, m.value, m.tombstone, m.event_time_ms))
        if m.dedup_id is not None:
            dedup_ids[order] = m.dedup_id
        order += 1
    for gi, gen in enumerate(scenario.workload.generators):
        stream = rng.stream(f"workload:{gi}")
        skewed = gen.event_time_skew_ms > 0 or gen.late_probability > 0
        lateness = rng.stream(f"workload:{gi}:event-time") if skewed else None
        for i in range(gen.count):
            at_ms = gen.start_ms + (i * 1000) // gen.rate_per_s
            key: str | None = None
            if gen.keys:
                k = i % gen.keys if gen.key_choice == "round-robin" else stream.randrange(gen.keys)
                key = f"{gen.key_prefix}{k}"
            event_time: int | None = None
            if lateness is not None:
                lag = lateness.randint(0, gen.event_time_skew_ms)
                if gen.late_probability and lateness.random() < gen.late_probability:
                    lag += gen.late_by_ms
                event_time = max(0, at_ms - lag)
            value = f"{gen.value_prefix}{i}"
            planned.append((at_ms, order, gen.producer, key, value, False, event_time))
            order += 1
    planned.sort(key=lambda p: (p[0], p[1]))
    key_seqs: dict[tuple[str, str], int] = {}
    messages: list[Message] = []
    interned: dict[str, str] = {}
    for i, (at_ms, n, producer, key, value, tombstone, event_time) in enumerate(planned, start=1):
        key_seq = 0
        if key is not None:
            key = interned.setdefault(key, key)
            key_seq = key_seqs.get((producer, key), 0) + 1
            key_seqs[(producer, key)] = key_seq
        messages.append(
            Message(
                i, producer, key, key_seq, value, at_ms, tombstone, event_time, dedup_ids.get(n)
            )
        )
    return messages
