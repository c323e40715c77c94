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

from simulator.messages import DetailedMessage, GeneratedMessage, Message
from simulator.rng import SeedSequence
from simulator.scenario import Scenario

__all__ = ["expand_workload"]


def expand_workload(scenario: Scenario, rng: SeedSequence) -> list[Message]:
    """Every message of the workload, in send order, with ids and key sequences."""
    # (send time, order in the file, producer, key, value, tombstone, event time, dedup id)
    planned: list[tuple[int, int, str, str | None, str, bool, int | None, str | None]] = []
    interned: dict[str, str] = {}
    """One string object per key name, however many messages carry it."""
    order = 0
    for m in scenario.workload.messages:
        named = None if m.key is None else interned.setdefault(m.key, m.key)
        planned.append(
            (m.at_ms, order, m.producer, named, m.value, m.tombstone, m.event_time_ms, m.dedup_id)
        )
        order += 1
    sources = 1 if planned else 0
    messages: list[Message] = []
    key_seqs: dict[str, dict[str, int]] = {}
    """Producer → key → the key sequence its last message of that key got."""
    numbers = list(range(257))
    """``numbers[n]`` is ``n``: one int object per key sequence, shared by every message
    that has it (Python caches only those up to 256; a long run has far more)."""
    # One generator alone is already in send order: its messages are built as they are
    # drawn, without a plan to sort (the common shape of a large workload).
    direct = sources == 0 and len(scenario.workload.generators) == 1
    for gi, gen in enumerate(scenario.workload.generators):
        sources += 1
        stream = rng.stream(f"workload:{gi}")
        skewed = gen.event_time_skew_ms > 0 or gen.late_probability > 0
        lateness = rng.stream(f"workload:{gi}:event-time") if skewed else None
        names = [
            interned.setdefault(name, name)
            for name in (f"{gen.key_prefix}{k}" for k in range(gen.keys))
        ]
        round_robin = gen.key_choice == "round-robin"
        producer, start_ms, rate = gen.producer, gen.start_ms, gen.rate_per_s
        prefix = gen.value_prefix
        counted = key_seqs.setdefault(producer, {})
        at_ms = -1
        for i in range(gen.count):
            due = start_ms + (i * 1000) // rate
            if due != at_ms:
                at_ms = due  # one int object per millisecond, shared by its messages
            key: str | None = None
            if names:
                key = names[i % len(names) if round_robin else stream.randrange(len(names))]
            event_time: int | None = None
            if lateness is not None:
                lag = lateness.randint(0, gen.event_time_skew_ms)
                if gen.late_probability and lateness.random() < gen.late_probability:
                    lag += gen.late_by_ms
                event_time = max(0, at_ms - lag)
            order += 1
            if direct:
                key_seq = 0
                if key is not None:
                    key_seq = counted.get(key, 0) + 1
                    if key_seq == len(numbers):
                        numbers.append(key_seq)
                    key_seq = counted[key] = numbers[key_seq]
                if event_time is None:
                    # m{i + 1} is the generator's i-th message: its value is built when read.
                    messages.append(GeneratedMessage(order, producer, key, key_seq, prefix, at_ms))
                else:
                    messages.append(
                        DetailedMessage(
                            order, producer, key, key_seq, f"{prefix}{i}", at_ms, False, event_time
                        )
                    )
            else:
                value = f"{prefix}{i}"
                planned.append((at_ms, order - 1, producer, key, value, False, event_time, None))
    if direct:
        return messages
    if sources > 1:
        planned.sort()  # by send time, ties in file order (``order`` is unique, so it decides)
    for i, (at_ms, _, producer, key, value, tombstone, event_time, dedup_id) in enumerate(
        planned, start=1
    ):
        key_seq = 0
        if key is not None:
            seqs = key_seqs.get(producer)
            if seqs is None:
                seqs = key_seqs[producer] = {}
            key_seq = seqs.get(key, 0) + 1
            if key_seq == len(numbers):
                numbers.append(key_seq)
            key_seq = seqs[key] = numbers[key_seq]
        if tombstone or event_time is not None or dedup_id is not None:
            messages.append(
                DetailedMessage(
                    i, producer, key, key_seq, value, at_ms, tombstone, event_time, dedup_id
                )
            )
        else:
            messages.append(Message(i, producer, key, key_seq, value, at_ms))
    return messages
