"""The settings the log model reports in the trace header.

The log model has no scenario section of its own: Kafka's settings are the
core ones (``[[topics]]`` partitions and retention, producer acks and
idempotence, group commit and poll settings), and stream processors and sagas
run on it. ``settings_for`` lists every one in force, defaults included, under
Kafka's own names where Kafka has one (``enable.idempotence``).
"""

from __future__ import annotations

import msgspec

from simulator.scenario.schema import Scenario

__all__ = ["settings_for"]


def settings_for(s: Scenario) -> dict[str, str]:
    """Every setting that shapes behaviour, defaults included, for the trace header."""
    out: dict[str, str] = {"network.latency_ms": str(s.network.latency_ms)}
    for t in s.topics:
        out[f"topic.{t.name}.partitions"] = str(t.partitions)
        if t.retention_messages:
            out[f"topic.{t.name}.retention_messages"] = str(t.retention_messages)
        if t.retention_ms:
            out[f"topic.{t.name}.retention.ms"] = str(t.retention_ms)
        if t.compaction:
            out[f"topic.{t.name}.cleanup.policy"] = "compact"
    for p in s.producers:
        prefix = f"producer.{p.name}"
        out[f"{prefix}.acks"] = str(p.acks)
        out[f"{prefix}.enable.idempotence"] = str(p.idempotent).lower()
        out[f"{prefix}.retries"] = str(p.retries)
        out[f"{prefix}.retry.backoff.ms"] = str(p.retry_backoff_ms)
        out[f"{prefix}.request.timeout.ms"] = str(p.request_timeout_ms)
        out[f"{prefix}.delivery.timeout.ms"] = str(p.delivery_timeout_ms)
        out[f"{prefix}.max.in.flight.requests.per.connection"] = str(p.max_in_flight)
        out[f"{prefix}.partitioner"] = "murmur2(key) % partitions; unkeyed: " + p.partitioner
    for g in s.groups:
        prefix = f"group.{g.name}"
        out[f"{prefix}.consumers"] = str(len(g.consumer_names()))
        out[f"{prefix}.partition.assignment.strategy"] = g.assignor
        out[f"{prefix}.commit"] = g.commit
        if g.commit == "auto":
            out[f"{prefix}.enable.auto.commit"] = "true"
            out[f"{prefix}.auto.commit.interval.ms"] = str(g.auto_commit_interval_ms)
        out[f"{prefix}.session.timeout.ms"] = str(g.session_timeout_ms)
        out[f"{prefix}.heartbeat.interval.ms"] = str(g.heartbeat_interval_ms)
        out[f"{prefix}.max.poll.interval.ms"] = str(g.max_poll_interval_ms)
        out[f"{prefix}.max.poll.records"] = str(g.max_poll_records)
        out[f"{prefix}.isolation.level"] = g.isolation
        out[f"{prefix}.auto.offset.reset"] = g.auto_offset_reset
        out[f"{prefix}.processing_ms"] = str(g.processing_ms)
        if g.retry.policy != "none":
            out[f"{prefix}.retry"] = f"{g.retry.policy} x{g.retry.attempts}"
        if g.retry_topics:
            out[f"{prefix}.retry_topics"] = ",".join(str(d) for d in g.retry_topics)
        if g.dead_letter_topic:
            out[f"{prefix}.dead_letter_topic"] = g.dead_letter_topic
        if g.processor:
            out[f"{prefix}.processor"] = g.processor
    # Stream processors and saga roles: every setting, so time semantics and
    # lateness are on screen next to the broker's own.
    for processor in s.processors:
        for field, value in msgspec.structs.asdict(processor).items():
            if field != "name" and value is not None and value != []:
                out[f"processor.{processor.name}.{field}"] = str(value)
    if s.saga is not None:
        for field, value in msgspec.structs.asdict(s.saga).items():
            if value is not None:
                out[f"saga.{field}"] = str(value)
    return out
