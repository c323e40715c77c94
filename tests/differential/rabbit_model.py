"""Play a situation on evsim's RabbitMQ-style model: a scenario in, the trace read back.

The model is reached only the way a lesson reaches it — scenario TOML through
``decode_scenario``, ``Simulation(scenario, seed).run()``, and the records of
``simulator.trace`` — so these tests survive any reorganisation of the
broker packages.

The situation's timeline becomes virtual time with generous gaps:
publishes at 10, 11, 12 … ms; consumers attach at 0 ms (``consumers_first``)
or at ``ATTACH_MS``, after every publish and any witness TTL. A *held*
delivery is one the consumer's handler never finishes (a ``slow`` fault of
``HOLD_MS`` while the session lasts); closing a channel after n deliveries
is a consumer ``crash`` at the n-th ``after_poll`` (holding) or
``after_process_before_commit`` (acking — the n-th was processed, not
acked); the next session is the consumer's restart ``SESSION_GAP_MS``
later, on a new channel. A situation the scenario format cannot say raises
``Inexpressible``, and its model tests are expected failures.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

import tomli_w
from rabbit_situation import (
    Outcome,
    Publish,
    Situation,
    delivery,
    delivery_count,
)

from simulator.scenario import decode_scenario
from simulator.simulation import Simulation
from simulator.trace import (
    Acked,
    Crashed,
    DeadLettered,
    Delivered,
    MessageExpired,
    ProduceFailed,
    QueueOverflowed,
    Record,
    Routed,
)

PUBLISH_AT_MS = 10
ATTACH_MS = 200
SESSION_GAP_MS = 1_000
HOLD_MS = 10_000_000
HOLD_WINDOW_MS = 500
"""A session's deliveries all arrive within this long of its start (tens of ms in practice)."""
RUN_TAIL_MS = 5_000

QUEUE = "work"


class Inexpressible(Exception):
    """The scenario format has no way to say this part of the situation."""


def _producer_name(p: Publish) -> str:
    name = "app"
    if not p.confirm:
        name += "-unconfirmed"
    if p.expiration_ms is not None:
        name += f"-ttl{p.expiration_ms}"
    return name


def scenario_document(s: Situation) -> dict[str, Any]:
    """The scenario, as the TOML document a lesson author would write."""
    for i, p in enumerate(s.publishes):
        if p.name != f"m{i + 1}":
            raise ValueError(f"{s.name}: publishes are named m1, m2 … in order (got {p.name})")
    if s.poison_settle == "nack" and not s.poison:
        raise ValueError("poison_settle without poison")
    topics = [{"name": "jobs"}]
    groups: list[dict[str, Any]] = []
    faults: list[dict[str, Any]] = []

    producers: dict[str, dict[str, Any]] = {}
    expirations: dict[str, int] = {}
    messages = []
    for i, p in enumerate(s.publishes):
        name = _producer_name(p)
        if name not in producers:
            producers[name] = {"name": name, "topic": "jobs"}
            if not p.confirm:
                producers[name].update(acks=0, idempotent=False)
            if p.expiration_ms is not None:
                expirations[name] = p.expiration_ms
        messages.append(
            {"producer": name, "at_ms": PUBLISH_AT_MS + i, "key": "job", "value": p.name}
        )

    q = s.queue
    rabbit: dict[str, Any] = {
        "queue_type": q.type,
        "prefetch": s.prefetch,
        "requeue_on_failure": s.poison_settle == "nack-requeue",
    }
    for arg in ("message_ttl_ms", "max_length", "overflow", "delivery_limit"):
        value = getattr(q, arg)
        if value is not None:
            rabbit[arg] = value
    multiples = {sess.ack_multiple for c in s.consumers for sess in c.sessions}
    if len(multiples) > 1:
        raise Inexpressible("ack_multiple is per queue in a scenario, not per consumer session")
    if multiples:
        rabbit["ack_multiple"] = multiples.pop()

    start_ms = scenario_start_ms(s)
    work: dict[str, Any] = {
        "name": QUEUE,
        "topic": "jobs",
        "consumers": [c.name for c in s.consumers] if s.consumers else 0,
        "commit": "after-process",
        "processing_ms": 1,
        "start_ms": start_ms,
        "rabbitmq": rabbit,
    }
    if q.dead_letter_exchange:
        topics.append({"name": "jobs-dlx"})
        work["dead_letter_topic"] = "jobs-dlx"
    groups.append(work)
    if q.dead_letter_exchange:
        groups.append({"name": "dead", "topic": "jobs-dlx", "consumers": 0})
    if s.ttl_witness_ms is not None:
        groups.append(
            {
                "name": "witness",
                "topic": "jobs",
                "consumers": 0,
                "rabbitmq": {"message_ttl_ms": s.ttl_witness_ms},
            }
        )

    last_session_ms = start_ms
    for c in s.consumers:
        session_ms = start_ms
        deliveries = 0
        processed = 0
        for n, sess in enumerate(c.sessions):
            more = n + 1 < len(c.sessions)
            if sess.settle == "hold":
                faults.append(
                    {
                        "kind": "slow",
                        "target": c.name,
                        "processing_ms": HOLD_MS,
                        "from_ms": session_ms,
                        "to_ms": session_ms + HOLD_WINDOW_MS,
                    }
                )
            if sess.close_after is None:
                if more:
                    raise ValueError(f"{s.name}: only the last session may stay open")
                break
            crash: dict[str, Any] = {"kind": "crash", "target": c.name}
            if sess.settle == "hold":
                if processed:
                    raise Inexpressible("a held session after an acking one that closed")
                deliveries += sess.close_after
                crash.update(at="after_poll", occurrence=deliveries)
            else:
                if s.poison:
                    raise Inexpressible("closing an acking session that also meets poison")
                processed += sess.close_after
                crash.update(at="after_process_before_commit", occurrence=processed)
            if more:
                crash["restart_after_ms"] = SESSION_GAP_MS
            faults.append(crash)
            session_ms += SESSION_GAP_MS
        last_session_ms = max(last_session_ms, session_ms)

    if s.poison:
        ids = [i + 1 for i, p in enumerate(s.publishes) if p.name in s.poison]
        faults.append({"kind": "poison", "group": QUEUE, "msgs": ids})

    doc: dict[str, Any] = {
        "title": {"en": f"differential: {s.name}", "ko": f"differential: {s.name}"},
        "summary": {"en": "A situation compared with a real RabbitMQ.", "ko": "실제 비교"},
        "broker": "rabbitmq",
        "settle_ms": 1_000,
        "until_ms": last_session_ms + RUN_TAIL_MS,
        "rabbitmq": {"publisher_confirms": True},
        "topics": topics,
        "producers": list(producers.values()),
        "groups": groups,
        "workload": {"messages": messages},
    }
    if expirations:
        doc["rabbitmq"]["message_expiration_ms"] = expirations
    if faults:
        doc["faults"] = faults
    return doc


def scenario_toml(s: Situation) -> str:
    return tomli_w.dumps(scenario_document(s))


def run_model(s: Situation, seed: int = 1) -> Outcome:
    text = scenario_toml(s)
    scenario = decode_scenario(text.encode(), f"{s.name}.toml", s.name)
    sim = Simulation(scenario, seed)
    sim.run()
    return outcome_of(s, list(sim.trace), scenario_start_ms(s))


def scenario_start_ms(s: Situation) -> int:
    """When the consumers attach: after every publish and any witness TTL."""
    return 0 if s.consumers_first else ATTACH_MS + (s.ttl_witness_ms or 0)


def outcome_of(s: Situation, trace: Iterable[Record], start_ms: int) -> Outcome:
    """Read the situation's observable outcome off the trace."""
    records = list(trace)
    out = Outcome()
    name = {i + 1: p.name for i, p in enumerate(s.publishes)}
    confirmed = {i + 1 for i, p in enumerate(s.publishes) if p.confirm}

    answers: dict[int, str] = {}
    for r in records:
        if isinstance(r, Acked) and r.msg in confirmed:
            answers.setdefault(r.msg, "ack")
        elif isinstance(r, ProduceFailed) and r.msg in confirmed:
            answers.setdefault(r.msg, "nack")
    out.confirms = " ".join(answers.get(i, "none") for i in sorted(confirmed))

    if s.consumers and not s.consumers_first:
        out.waiting = _ready_at(records, start_ms)

    sessions: dict[str, int] = {c.name: 1 for c in s.consumers}
    seen: dict[str, list[tuple[str, bool, object]]] = {}
    total = 0
    for r in records:
        if isinstance(r, Crashed) and r.component in sessions:
            sessions[r.component] += 1
        elif isinstance(r, Delivered) and r.group == QUEUE:
            if s.observe is not None and total >= s.observe:
                continue
            total += 1
            key = f"{r.consumer}#{sessions[r.consumer]}"
            # The x-delivery-count a quorum delivery carries (None: the header is absent).
            seen.setdefault(key, []).append((name[r.msg], r.redelivered, r.delivery_count))
    for c in s.consumers:
        for n, sess in enumerate(c.sessions, start=1):
            key = f"{c.name}#{n}"
            got = seen.get(key, [])
            if sess.close_after is not None:
                got = got[: sess.close_after]
            out.deliveries[key] = " ".join(delivery(m, red) for m, red, _ in got)
            if s.queue.type == "quorum":
                out.delivery_counts[key] = " ".join(delivery_count(n) for _, _, n in got)

    letters = [r for r in records if isinstance(r, DeadLettered) and r.group == QUEUE]
    out.dead_letters = " ".join(f"{name[r.msg]}:{r.reason}" for r in letters)
    for r in letters:
        out.x_death[name[r.msg]] = _x_death(r)
    return out


def _x_death(r: DeadLettered) -> dict[str, object]:
    """The ``x-death`` entry of a dead letter (the latest one), as the trace records it.

    ``DeadLettered.headers`` holds the whole header, latest death first, and the
    ``x-first-death-*`` values; the situations compare the entry this death wrote.
    """
    if r.headers is None:
        return {"reason": r.reason, "queue": r.group, "recorded": "no x-death in the trace"}
    death = r.headers.x_death[0]
    return {
        "count": death.count,
        "reason": death.reason,
        "queue": death.queue,
        "exchange": death.exchange,
        "routing-keys": list(death.routing_keys),
    }


def _ready_at(records: list[Record], at_ms: int) -> int:
    """Ready messages in the work queue at ``at_ms`` (before any consumer attached)."""
    ready = 0
    for r in records:
        if r.at >= at_ms:
            break
        if isinstance(r, Routed) and QUEUE in r.queues:
            ready += 1
        elif isinstance(r, QueueOverflowed) and r.group == QUEUE:
            ready -= 1  # drop-head lost the head; reject-publish refused the one just routed
        elif isinstance(r, MessageExpired) and r.group == QUEUE:
            ready -= 1
    return ready
