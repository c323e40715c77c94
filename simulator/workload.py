"""Expand a scenario's workload into the list of messages to produce.

Explicit messages and generators merge into one list ordered by send time;
ties keep the order they appear in the file. Ids and per-key sequence numbers
are assigned in that order, so they are the same in every run. Random key
choice draws from the ``workload`` stream of the seed.
"""

from __future__ import annotations

from simulator.messages import Message
from simulator.rng import SeedSequence
from simulator.scenario import Scenario

__all__ = ["expand_workload"]


def expand_workload(scenario: Scenario, rng: SeedSequence) -> list[Message]:
    """Every message of the workload, in send order, with ids and key sequences."""
    planned: list[tuple[int, int, str, str | None, str, bool]] = []
    order = 0
    for m in scenario.workload.messages:
        planned.append((m.at_ms, order, m.producer, m.key, m.value, m.tombstone))
        order += 1
    for gi, gen in enumerate(scenario.workload.generators):
        stream = rng.stream(f"workload:{gi}")
        for i in range(gen.count):
            at_ms = gen.start_ms + (i * 1000) // gen.rate_per_s
            key: str | None = None
            if gen.keys:
                k = i % gen.keys if gen.key_choice == "round-robin" else stream.randrange(gen.keys)
                key = f"{gen.key_prefix}{k}"
            planned.append((at_ms, order, gen.producer, key, f"{gen.value_prefix}{i}", False))
            order += 1
    planned.sort(key=lambda p: (p[0], p[1]))
    key_seqs: dict[str, int] = {}
    messages: list[Message] = []
    interned: dict[str, str] = {}
    for i, (at_ms, _, producer, key, value, tombstone) in enumerate(planned, start=1):
        key_seq = 0
        if key is not None:
            key = interned.setdefault(key, key)
            key_seq = key_seqs.get(key, 0) + 1
            key_seqs[key] = key_seq
        messages.append(Message(i, producer, key, key_seq, value, at_ms, tombstone))
    return messages
