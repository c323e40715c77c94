"""The SQS model's scenario sections, their checks and the settings it reports.

``[sqs]`` holds what the service does on its own — a standard queue's rare
extra copy and late delivery — and ``[groups.sqs]`` the attributes of each
group's queue (visibility timeout, redrive policy, long polling, batch size,
the Lambda trigger). The standard and the FIFO model share both sections. A
file may hold them under any ``broker`` (one lesson runs on every model); the
model reads them through ``service_args`` and ``queue_attributes``.
``settings_for`` lists every setting in force for the trace header.
"""

from __future__ import annotations

from typing import Annotated, Literal

import msgspec

from simulator.errors import InputError
from simulator.scenario.schema import Group, NonNegative, Positive, Probability, Scenario, Table
from simulator.scenario.validation import cap

__all__ = [
    "DEDUP_WINDOW_MS",
    "LAMBDA_MAX_BATCHES",
    "LAMBDA_SCALE_UP_MS",
    "LAMBDA_START_BATCHES",
    "Sqs",
    "SqsQueue",
    "queue_attributes",
    "service_args",
    "settings_for",
    "validate",
]

DEDUP_WINDOW_MS = 300_000
"""A FIFO queue remembers deduplication ids for 5 minutes."""

LAMBDA_START_BATCHES = 5
"""Lambda starts polling an SQS queue with five concurrent batches."""
LAMBDA_SCALE_UP_MS = 200
"""While messages wait it adds up to 300 concurrent batches a minute: one per 200 ms."""
LAMBDA_MAX_BATCHES = 1_000
"""At most 1,000 batches at once per event source mapping."""


class SqsQueue(Table, frozen=True):
    """Queue attributes and consumer options of a group under ``broker = "sqs"``/``"sqs-fifo"``.

    ``[groups.sqs]``; the group's name is the queue's name. Defaults are Amazon
    SQS's, except ``wait_time_seconds`` (consumers here long-poll, as SDK listeners do).
    """

    visibility_timeout_ms: Annotated[int, msgspec.Meta(ge=0, le=43_200_000)] = 30_000
    """``VisibilityTimeout``: how long a received message stays hidden (max 12 h)."""
    max_receive_count: Annotated[int, msgspec.Meta(ge=1, le=1000)] | None = None
    """Redrive policy ``maxReceiveCount``: past it the message moves to ``dead_letter_topic``."""
    wait_time_seconds: Annotated[int, msgspec.Meta(ge=0, le=20)] = 20
    """``WaitTimeSeconds`` of each ReceiveMessage (0 = short polling)."""
    batch_size: Annotated[int, msgspec.Meta(ge=1, le=10)] | None = None
    """``MaxNumberOfMessages`` per receive (SQS default 1; a Lambda trigger's default 10)."""
    duplicate_probability: Probability | None = None
    """Chance that a standard queue stores an extra copy (None: the ``[sqs]`` default)."""
    reorder_probability: Probability | None = None
    """Chance that a standard queue returns a message late (None: the ``[sqs]`` default)."""
    content_based_dedup: bool = False
    """FIFO ``ContentBasedDeduplication``: the dedup id is the SHA-256 of the body."""
    delay_seconds: Annotated[int, msgspec.Meta(ge=0, le=900)] = 0
    """``DelaySeconds``: new messages stay invisible this long."""
    message_retention_ms: Annotated[int, msgspec.Meta(ge=60_000, le=1_209_600_000)] = 345_600_000
    """``MessageRetentionPeriod``: older messages are deleted (default 4 days)."""
    extend_visibility: bool = False
    """While processing, call ChangeMessageVisibility at half the timeout to extend it."""
    visibility_on_failure_ms: Annotated[int, msgspec.Meta(ge=0, le=43_200_000)] | None = None
    """After a failed try, ChangeMessageVisibility to this (0: visible again at once);
    None: leave the message hidden until its visibility timeout runs out."""
    concurrency: Annotated[int, msgspec.Meta(ge=1, le=100)] = 1
    """Workers per consumer, each running its own receive → process → delete loop (a
    listener's thread pool; with ``trigger = "lambda"``, concurrent invocations per poller)."""
    trigger: Literal["consumer", "lambda"] = "consumer"
    """``lambda``: an event source mapping polls and invokes a function per batch."""
    report_batch_item_failures: bool = False
    """Lambda ``ReportBatchItemFailures``: only failed messages return to the queue."""
    redrive_back_at_ms: NonNegative | None = None
    """Move this queue's messages from its DLQ back at this time (a DLQ redrive)."""
    lambda_scaling: bool = False
    """Scale with the queue as Lambda's SQS event source mapping does: 5 batches at once at
    first, one more every 200 ms (300 a minute) while messages wait, one fewer whenever a
    poll comes back empty (never below 5); ``concurrency`` is then ignored."""
    maximum_concurrency: Annotated[int, msgspec.Meta(ge=2, le=1000)] | None = None
    """The event source mapping's ``ScalingConfig.MaximumConcurrency``: it never runs more
    batches at once than this (None: up to 1000)."""
    reserved_concurrency: Annotated[int, msgspec.Meta(ge=0, le=1000)] | None = None
    """The function's reserved concurrency: above it an invocation is throttled and its batch
    comes back after the visibility timeout (None: the account's pool, never reached here)."""


class Sqs(Table, frozen=True):
    """``[sqs]``: service-wide behaviour of standard queues (not settable on a real queue)."""

    duplicate_probability: Probability = 0.01
    """Chance a standard queue stores a message twice (at-least-once delivery)."""
    reorder_probability: Probability = 0.01
    """Chance a standard queue returns a message up to ``reorder_window_ms`` late."""
    reorder_window_ms: Positive = 1_000


_DEFAULT_QUEUE = SqsQueue()
_DEFAULT_SERVICE = Sqs()


def queue_attributes(group: Group) -> SqsQueue:
    """The group's ``[groups.sqs]`` (its defaults if the file has none)."""
    attrs = getattr(group, "sqs", None)
    return attrs if isinstance(attrs, SqsQueue) else _DEFAULT_QUEUE


def service_args(s: Scenario) -> Sqs:
    """The scenario's ``[sqs]`` (its defaults if the file has none)."""
    args = getattr(s, "sqs", None)
    return args if isinstance(args, Sqs) else _DEFAULT_SERVICE


# -- checks ----------------------------------------------------------------------------------


def validate(s: Scenario, file: str) -> None:
    """A redrive needs a DLQ, batch failure reports need Lambda, a redrive time under the cap."""
    limit = cap(s, "virtual_ms")
    for i, g in enumerate(s.groups):
        at = f"$.groups[{i}].sqs"
        q = queue_attributes(g)
        if q.redrive_back_at_ms is not None and q.redrive_back_at_ms > limit:
            raise InputError(
                file,
                f"{at}.redrive_back_at_ms",
                f"{q.redrive_back_at_ms} ms is past the virtual-time cap of {limit} ms"
                " ([limits] virtual_ms)",
            )
        if q.max_receive_count is not None and g.dead_letter_topic is None:
            raise InputError(
                file,
                f"{at}.max_receive_count",
                "a redrive policy needs a DLQ: set dead_letter_topic",
            )
        if q.redrive_back_at_ms is not None and g.dead_letter_topic is None:
            raise InputError(
                file, f"{at}.redrive_back_at_ms", "redriving back needs dead_letter_topic"
            )
        if q.visibility_on_failure_ms is not None and q.trigger == "lambda":
            raise InputError(
                file,
                f"{at}.visibility_on_failure_ms",
                "a Lambda event source mapping gives nothing back early: a failed batch"
                " returns after its visibility timeout",
            )
        if q.report_batch_item_failures and q.trigger != "lambda":
            raise InputError(
                file,
                f"{at}.report_batch_item_failures",
                'partial batch failure reporting is a Lambda setting: set trigger = "lambda"',
            )
        for field in ("lambda_scaling", "maximum_concurrency", "reserved_concurrency"):
            if getattr(q, field) not in (None, False) and q.trigger != "lambda":
                raise InputError(
                    file, f"{at}.{field}", f'{field} is a Lambda setting: set trigger = "lambda"'
                )


# -- the trace header ------------------------------------------------------------------------


def settings_for(s: Scenario, *, fifo: bool) -> dict[str, str]:
    """Every setting that shapes behaviour, defaults included, for the trace header."""
    service = service_args(s)
    out: dict[str, str] = {"network.latency_ms": str(s.network.latency_ms)}
    out["queue.type"] = "FIFO" if fifo else "standard"
    if not fifo:
        out["standard.duplicate_probability"] = str(service.duplicate_probability)
        out["standard.reorder_probability"] = str(service.reorder_probability)
        out["standard.reorder_window_ms"] = str(service.reorder_window_ms)
    for t in s.topics:
        subs = [g.name for g in s.groups if g.topic == t.name]
        out[f"topic.{t.name}"] = (
            f"SNS-style fan-out to {','.join(subs)}"
            if len(subs) > 1
            else f"the queue {subs[0]}"
            if subs
            else "no subscribers"
        )
    for p in s.producers:
        prefix = f"producer.{p.name}"
        out[f"{prefix}.waits_for_response"] = str(p.acks != 0).lower()
        out[f"{prefix}.request_timeout_ms"] = str(p.request_timeout_ms)
        out[f"{prefix}.retries"] = str(p.retries)
        if fifo:
            out[f"{prefix}.MessageGroupId"] = "the message key"
    for g in s.groups:
        q = queue_attributes(g)
        prefix = f"queue.{g.name}"
        lam = q.trigger == "lambda"
        out[f"{prefix}.VisibilityTimeout_ms"] = str(q.visibility_timeout_ms)
        out[f"{prefix}.WaitTimeSeconds"] = str(q.wait_time_seconds)
        out[f"{prefix}.MaxNumberOfMessages"] = str(q.batch_size or (10 if lam else 1))
        out[f"{prefix}.DelaySeconds"] = str(q.delay_seconds)
        out[f"{prefix}.MessageRetentionPeriod_ms"] = str(q.message_retention_ms)
        if g.dead_letter_topic is not None and q.max_receive_count is not None:
            out[f"{prefix}.RedrivePolicy"] = (
                f"maxReceiveCount={q.max_receive_count} → {g.dead_letter_topic}"
            )
        else:
            out[f"{prefix}.RedrivePolicy"] = "none"
        if fifo:
            out[f"{prefix}.ContentBasedDeduplication"] = str(q.content_based_dedup).lower()
        elif q.duplicate_probability is not None or q.reorder_probability is not None:
            out[f"{prefix}.duplicate_probability"] = str(
                service.duplicate_probability
                if q.duplicate_probability is None
                else q.duplicate_probability
            )
            out[f"{prefix}.reorder_probability"] = str(
                service.reorder_probability
                if q.reorder_probability is None
                else q.reorder_probability
            )
        out[f"{prefix}.consumers"] = str(len(g.consumer_names()))
        out[f"{prefix}.trigger"] = (
            "lambda" + (" (ReportBatchItemFailures)" if q.report_batch_item_failures else "")
            if lam
            else "consumer"
        )
        before = g.commit == "before-process"
        out[f"{prefix}.delete"] = (
            "before processing"
            if before
            else (
                "after each message"
                if g.commit_every == "message" and not lam
                else "after the batch"
            )
        )
        out[f"{prefix}.extend_visibility"] = str(q.extend_visibility).lower()
        out[f"{prefix}.on_failure"] = (
            "hidden until the visibility timeout runs out"
            if q.visibility_on_failure_ms is None
            else f"ChangeMessageVisibility {q.visibility_on_failure_ms} ms"
        )
        if q.lambda_scaling:
            cap = q.maximum_concurrency or LAMBDA_MAX_BATCHES
            out[f"{prefix}.concurrency"] = (
                f"scales with the queue: {min(LAMBDA_START_BATCHES, cap)} at first, +1 every"
                f" {LAMBDA_SCALE_UP_MS} ms while messages wait, at most {cap}"
            )
        else:
            out[f"{prefix}.concurrency"] = f"{q.concurrency} " + (
                "invocations per poller" if lam else "workers per consumer"
            )
        if q.maximum_concurrency is not None:
            out[f"{prefix}.MaximumConcurrency"] = str(q.maximum_concurrency)
        if q.reserved_concurrency is not None:
            out[f"{prefix}.ReservedConcurrentExecutions"] = str(q.reserved_concurrency)
        out[f"{prefix}.processing_ms"] = str(g.processing_ms)
        if g.retry.policy != "none" and not lam:
            out[f"{prefix}.retry"] = f"{g.retry.policy} x{g.retry.attempts} (in place)"
        if q.redrive_back_at_ms is not None:
            out[f"{prefix}.redrive_back_at_ms"] = str(q.redrive_back_at_ms)
    return out
