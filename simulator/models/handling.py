"""What a consumer's handler does with a message — the same on every broker.

A handler either processes a message or fails on it. Both outcomes are
recorded the same way whatever the broker (the checker judges every model by
these records), and a failure first goes through the group's retry policy:
a blocking retry after a backoff while tries are left. What happens after
the last try differs by broker — a retry topic or dead-letter topic on the
log, a requeue or dead-letter exchange on RabbitMQ, redrive on SQS — and
stays in each broker's consumer.
"""

from __future__ import annotations

import random
from typing import TYPE_CHECKING

from simulator.messages import Message
from simulator.retry import backoff_ms, may_retry
from simulator.scenario import Group, RetryPolicy
from simulator.trace import Acked, Processed, ProcessingFailed, Produced, RetryScheduled

if TYPE_CHECKING:
    from simulator.runtime import Runtime

__all__ = ["record_failure", "record_output_produced", "record_output_sent", "record_processed"]


def record_failure(
    runtime: Runtime,
    *,
    consumer: str,
    group: str,
    msg: int,
    cause_seq: int,
    error: str,
    attempt: int,
    policy: RetryPolicy,
    rng: random.Random,
    retries_allowed: bool = True,
    earlier: int = 0,
) -> tuple[int, int | None]:
    """A handler failed on try ``attempt``: record it, and a blocking retry if one is due.

    Every broker model's consumer calls this the same way; what happens when no
    retry is left (retry topic, dead letter, requeue, redrive, skip) is the
    broker's own business. ``earlier`` counts tries made before this round (in
    earlier retry topics), so attempt numbers in the trace keep counting up.
    Returns the ``ProcessingFailed`` seq and the delay before the next try, or
    None when the policy has no try left.
    """
    failed: ProcessingFailed = runtime.emit(
        ProcessingFailed,
        consumer,
        cause_seq,
        group=group,
        consumer=consumer,
        msg=msg,
        error=error,
        attempt=earlier + attempt,
    )
    if not retries_allowed or not may_retry(policy, attempt):
        return failed.seq, None
    delay = backoff_ms(policy, attempt, rng)
    runtime.emit(
        RetryScheduled,
        consumer,
        failed.seq,
        group=group,
        consumer=consumer,
        msg=msg,
        attempt=earlier + attempt + 1,
        delay_ms=delay,
        via=None,
    )
    return failed.seq, delay


def record_processed(
    runtime: Runtime, spec: Group, consumer: str, msg: Message, cause_seq: int
) -> tuple[int, Message | None]:
    """A queue consumer's handler finished ``msg``: record it, and its output if any.

    Returns the ``Processed`` seq and the output message the caller must
    publish to ``spec.output_topic`` (it counts as sent once published).
    """
    processed = runtime.record(
        Processed(
            seq=runtime.next_seq,
            at=runtime.kernel.now_ms,
            component=consumer,
            cause_seq=cause_seq,
            group=spec.name,
            consumer=consumer,
            msg=msg.id,
            key=msg.key,
            key_seq=msg.key_seq,
            topic=spec.topic,
            partition=None,
            offset=None,
        )
    )
    if spec.output_topic is None:
        return processed.seq, None
    return processed.seq, runtime.derived_message(msg.id, spec.output_topic)


def record_output_produced(
    runtime: Runtime, consumer: str, out: Message, topic: str, cause_seq: int | None
) -> int:
    """A consumer hands its output to ``topic``: it is that message's producer.

    The record names the consumer as the producer, so producer counts agree with
    the ``Acked`` records that follow, and the checker judges the output's order
    by its writer (two writers of one key have no order between them). Returns
    the ``Produced`` seq.
    """
    produced = runtime.record(
        Produced(
            seq=runtime.next_seq,
            at=runtime.kernel.now_ms,
            component=consumer,
            cause_seq=cause_seq,
            producer=consumer,
            msg=out.id,
            key=out.key,
            key_seq=out.key_seq,
            topic=topic,
        )
    )
    return produced.seq


def record_output_sent(
    runtime: Runtime, consumer: str, out: Message, topic: str, cause_seq: int
) -> None:
    """The output of a processed message was handed to its topic: it counts as sent."""
    runtime.emit(
        Acked,
        consumer,
        cause_seq,
        producer=consumer,
        msg=out.id,
        topic=topic,
        partition=None,
        offset=None,
    )
