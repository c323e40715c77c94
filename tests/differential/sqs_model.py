"""Play an SQS situation on evsim's SQS-style model: a scenario in, the trace read back.

As for RabbitMQ, the model is reached only through scenario TOML,
``decode_scenario``, ``Simulation`` and ``simulator.trace`` records. The
situation's vocabulary maps onto the scenario like this: sends at 10, 11 …
ms from producer ``app`` (the FIFO message group is the message key); an SDK
resend is a lost first response (a ``network`` fault) and a 500 ms request
timeout; consumers start at 100 ms, once everything is sent; a failing
message is a ``poison`` fault, a failing first receive a ``handler-error``
before half the visibility timeout; a held first receive is a ``slow`` fault
on the first consumer. The standard queue's random extra
copies and late messages are off (``[sqs]`` probabilities 0).
"""

from __future__ import annotations

from typing import Any

import tomli_w
from sqs_situation import SqsOutcome, SqsSituation, receive_mark

from simulator.scenario import decode_scenario
from simulator.simulation import Simulation
from simulator.trace import DeadLettered, Delivered

SEND_AT_MS = 10
CONSUME_AT_MS = 100
"""Consumers start once everything is sent, as in ``sqs_real``."""
RELEASE_WINDOW_MS = 4
"""The first try ends 3 ms after the consumers start (receive and response 1 ms each, the
handler 1 ms); the given-back message is received again no sooner than 2 ms after that."""
HOLD_MS = {"until-redelivered": 1_500, "past-visibility": 2_500, "until-others-idle": 200}
"""How long the first consumer holds (the first two against a 1 s visibility timeout)."""


class Inexpressible(Exception):
    """The scenario format has no way to say this part of the situation."""


def scenario_document(s: SqsSituation) -> dict[str, Any]:
    for i, m in enumerate(s.sends):
        if m.name != f"m{i + 1}":
            raise ValueError(f"{s.name}: sends are named m1, m2 … in order (got {m.name})")
    vis_ms = s.visibility_timeout_s * 1000
    if s.hold in ("until-redelivered", "past-visibility") and s.visibility_timeout_s != 1:
        raise ValueError("these holds are timed against a 1 s visibility timeout")
    topics: list[dict[str, Any]] = [{"name": "jobs"}]
    producer: dict[str, Any] = {"name": "app", "topic": "jobs"}
    faults: list[dict[str, Any]] = []
    messages = []
    for i, m in enumerate(s.sends):
        msg: dict[str, Any] = {"producer": "app", "at_ms": SEND_AT_MS + i, "value": m.text}
        if m.group is not None:
            msg["key"] = m.group
        if m.dedup_id is not None:
            msg["dedup_id"] = m.dedup_id  # the model's own default is the name, m1, m2 …
        messages.append(msg)
        if m.resent:
            producer["request_timeout_ms"] = 500
            faults.append(
                {
                    "kind": "network",
                    "source": "broker",
                    "destination": "app",
                    "drop_probability": 1.0,
                    "to_ms": 100,
                    "msgs": [i + 1],
                }
            )
    sqs: dict[str, Any] = {
        "visibility_timeout_ms": vis_ms,
        "batch_size": s.batch_size,
        "duplicate_probability": 0.0,
        "reorder_probability": 0.0,
    }
    if s.max_receive_count is not None:
        sqs["max_receive_count"] = s.max_receive_count
    if s.content_based_dedup:
        sqs["content_based_dedup"] = True
    if s.extend:
        sqs["extend_visibility"] = True
    if s.release_first_receive:
        sqs["visibility_on_failure_ms"] = 0
    work: dict[str, Any] = {
        "name": "work",
        "topic": "jobs",
        "consumers": list(s.consumers),
        "commit": "after-process",
        "commit_every": "message",
        "processing_ms": 1,
        "start_ms": CONSUME_AT_MS,
        "sqs": sqs,
    }
    groups = [work]
    if s.max_receive_count is not None:
        topics.append({"name": "jobs-dlq"})
        work["dead_letter_topic"] = "jobs-dlq"
        groups.append({"name": "dead", "topic": "jobs-dlq", "consumers": 0})
    if s.poison:
        ids = [i + 1 for i, m in enumerate(s.sends) if m.name in s.poison]
        faults.append({"kind": "poison", "group": "work", "msgs": ids})
    if s.release_first_receive:
        # Give the first receive back: it "fails" (the consumer will not process it now)
        # and the consumer sets its visibility to 0. The window closes before the next try.
        if len(s.sends) != 1:
            raise Inexpressible("giving back the first receive of each of several messages")
        faults.append(
            {
                "kind": "handler-error",
                "group": "work",
                "probability": 1.0,
                "to_ms": CONSUME_AT_MS + RELEASE_WINDOW_MS,
            }
        )
    if s.fail_first_receive:
        if len(s.sends) != 1:
            raise Inexpressible("a failing first receive of each of several messages")
        faults.append(
            {
                "kind": "handler-error",
                "group": "work",
                "probability": 1.0,
                "to_ms": CONSUME_AT_MS + vis_ms // 2,
            }
        )
    if s.hold is not None:
        faults.append(
            {
                "kind": "slow",
                "target": s.consumers[0],
                "processing_ms": HOLD_MS[s.hold],
                "from_ms": CONSUME_AT_MS,
                "to_ms": CONSUME_AT_MS + 50,
            }
        )
    doc: dict[str, Any] = {
        "title": {"en": f"differential: {s.name}", "ko": f"differential: {s.name}"},
        "summary": {"en": "A situation compared with SQS.", "ko": "SQS와 비교"},
        "broker": "sqs-fifo" if s.fifo else "sqs",
        "settle_ms": 1_000,
        "until_ms": 60_000,
        "sqs": {"duplicate_probability": 0.0, "reorder_probability": 0.0},
        "topics": topics,
        "producers": [producer],
        "groups": groups,
        "workload": {"messages": messages},
    }
    if faults:
        doc["faults"] = faults
    return doc


def run_model(s: SqsSituation, seed: int = 1) -> SqsOutcome:
    text = tomli_w.dumps(scenario_document(s))
    scenario = decode_scenario(text.encode(), f"{s.name}.toml", s.name)
    sim = Simulation(scenario, seed)
    sim.run()
    name = {i + 1: m.name for i, m in enumerate(s.sends)}
    group = {i + 1: (m.group or "-") for i, m in enumerate(s.sends)}
    out = SqsOutcome()
    counts: dict[int, int] = {}
    receives: dict[str, list[str]] = {c: [] for c in s.consumers}
    dead: list[str] = []
    for r in sim.trace:
        if isinstance(r, Delivered) and r.group == "work":
            # The model counts receives per stored message; a receive is one more.
            counts[r.msg] = counts.get(r.msg, 0) + 1
            receives[r.consumer].append(receive_mark(name[r.msg], counts[r.msg]))
            if s.fifo:
                g = group[r.msg]
                seen = out.groups.get(g)
                out.groups[g] = f"{seen} {name[r.msg]}" if seen else name[r.msg]
        elif isinstance(r, DeadLettered) and r.group == "work":
            dead.append(name[r.msg])
    out.receives = {c: " ".join(v if s.fifo else sorted(v)) for c, v in receives.items()}
    out.dead_letters = " ".join(sorted(dead))
    return out
