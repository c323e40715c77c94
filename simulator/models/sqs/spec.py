"""The SQS-style service as the registry knows it: ``broker = "sqs"`` and ``"sqs-fifo"``.

One implementation serves both; the FIFO model makes every queue (and topic)
a FIFO one. They share the ``[sqs]`` and ``[groups.sqs]`` sections.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from simulator.models.spec import BrokerModel, Capabilities, Knob, ModelSpec, Sections
from simulator.models.sqs.settings import DEDUP_WINDOW_MS, Sqs, SqsQueue, settings_for, validate

if TYPE_CHECKING:
    from simulator.runtime import Runtime
    from simulator.scenario import Scenario

__all__ = ["FIFO_FOLLOWS", "SECTIONS", "SQS", "SQS_FIFO", "STANDARD_FOLLOWS"]

STANDARD_FOLLOWS = "Amazon SQS standard queues (with SNS-style fan-out and a Lambda-style trigger)"
FIFO_FOLLOWS = "Amazon SQS FIFO queues (with SNS FIFO-style fan-out and a Lambda-style trigger)"

SECTIONS = Sections(name="sqs", broker=Sqs, group=SqsQueue, validate=validate)
"""``[sqs]`` and ``[groups.sqs]``, for standard and FIFO queues alike."""


def build_standard(runtime: Runtime) -> BrokerModel:
    """An ``SqsBroker`` with standard queues (imported here: reading the registry stays cheap)."""
    from simulator.models.sqs.broker import SqsBroker

    return SqsBroker(runtime, fifo=False)


def build_fifo(runtime: Runtime) -> BrokerModel:
    """An ``SqsBroker`` with FIFO queues."""
    from simulator.models.sqs.broker import SqsBroker

    return SqsBroker(runtime, fifo=True)


def standard_settings(s: Scenario) -> dict[str, str]:
    """The trace header's settings with standard queues."""
    return settings_for(s, fifo=False)


def fifo_settings(s: Scenario) -> dict[str, str]:
    """The trace header's settings with FIFO queues."""
    return settings_for(s, fifo=True)


KNOBS = (
    Knob(
        scope="group",
        field="commit",
        values=("before-process", "after-process"),
        label="delete (before-process: on receipt)",
    ),
    Knob(scope="group", field="consumers", values=(1, 2, 3, 4, 6, 8)),
    Knob(
        scope="group",
        section="sqs",
        field="visibility_timeout_ms",
        values=(100, 500, 1_000, 5_000, 30_000),
        label="VisibilityTimeout (ms)",
    ),
    Knob(
        scope="group",
        section="sqs",
        field="max_receive_count",
        values=(None, 1, 2, 3, 5),
        label="maxReceiveCount",
    ),
    Knob(scope="group", section="sqs", field="extend_visibility", values=(False, True)),
    Knob(
        scope="group",
        section="sqs",
        field="batch_size",
        values=(None, 1, 5, 10),
        label="MaxNumberOfMessages",
    ),
    Knob(
        scope="group",
        section="sqs",
        field="delay_seconds",
        values=(0, 1, 5),
        label="DelaySeconds",
    ),
)
"""SQS's knobs: visibility timeout, redrive's maxReceiveCount, batch size, delay."""

SQS = ModelSpec(
    name="sqs",
    bytes_per_message=500,  # measured 332 with the trace on disk
    follows=STANDARD_FOLLOWS,
    build=build_standard,
    settings_for=standard_settings,
    capabilities=Capabilities(),
    sections=SECTIONS,
    template="sqs.toml",
    no_exactly_once="a standard SQS queue delivers at least once and now and then twice:"
    " use at-least-once with an idempotent consumer",
    view="tui.views.sqs",
    knobs=KNOBS,
)

SQS_FIFO = ModelSpec(
    name="sqs-fifo",
    bytes_per_message=750,  # measured 510 with the trace on disk (its dedup and group books)
    follows=FIFO_FOLLOWS,
    build=build_fifo,
    settings_for=fifo_settings,
    capabilities=Capabilities(key_order="per-message-group", dedup_window_ms=DEDUP_WINDOW_MS),
    sections=SECTIONS,
    template="sqs-fifo.toml",
    no_exactly_once="SQS FIFO deduplicates sends for 5 minutes, but a consumer slower than its"
    " visibility timeout still processes a message twice: no exactly-once variant to run",
    view="tui.views.sqs",
    knobs=KNOBS,
)
