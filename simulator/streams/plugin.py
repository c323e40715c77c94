"""How a consumer group hands its records to a processor (a stream task or a saga role).

A group with ``processor = "name"`` runs the ``[[processors]]`` entry of that
name on each of its consumers. The consumer keeps doing what consumers do —
poll, commit, crash, rejoin — and asks the processor three things: what to
write for a processed record (``process``), what to do when it is given
partitions (``on_assigned``: restore state) and when it crashes (``on_crash``:
lose what was in memory). Outputs go through the consumer, so they land inside
its transaction when it has one, exactly like ``output_topic``.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Protocol

from simulator.messages import Message
from simulator.scenario import SagaManagerSpec, SagaServiceSpec, StreamProcessorSpec

if TYPE_CHECKING:
    from simulator.models.log.assignors import TopicPartition
    from simulator.models.log.consumer import Consumer
    from simulator.models.log.partition import Entry, Partition
    from simulator.runtime import Runtime

__all__ = ["Output", "Processor", "build_processor", "new_message"]

Output = tuple[str, Message]
"""A record to write: (topic, message)."""


class Processor(Protocol):
    """What a consumer asks of the processor its group names."""

    def process(self, part: Partition, entry: Entry, processed_seq: int) -> list[Output]:
        """Handle one processed record; return the records to write (results, changelog)."""

    def on_assigned(self, partitions: list[TopicPartition], cause_seq: int | None) -> None:
        """The consumer now owns ``partitions`` (after a join, a rebalance, a restart)."""

    def on_crash(self, crash_seq: int) -> None:
        """The consumer died: in-memory state and timers are gone."""


def build_processor(consumer: Consumer) -> Processor:
    """The processor a consumer's group names, bound to that consumer."""
    name = consumer.spec.processor
    spec = next(p for p in consumer.runtime.scenario.processors if p.name == name)
    if isinstance(spec, StreamProcessorSpec):
        from simulator.streams.processor import StreamProcessor

        return StreamProcessor(consumer, spec)
    if isinstance(spec, SagaServiceSpec):
        from simulator.sagas.service import SagaService

        return SagaService(consumer, spec)
    assert isinstance(spec, SagaManagerSpec)
    from simulator.sagas.manager import SagaManager

    return SagaManager(consumer, spec)


def new_message(
    runtime: Runtime,
    source: int,
    label: str,
    key: str,
    value: str,
    *,
    event_time_ms: int | None = None,
    tombstone: bool = False,
) -> Message:
    """A message written from inside the system, derived from message ``source``.

    The same ``(source, label)`` always gives the same message id, so a replay
    after a crash writes the *same* message again — which downstream readers
    recognise as a duplicate, and a transaction's abort hides. ``key_seq`` is 0:
    derived records make no per-key order claim of their own.
    """
    out = runtime.derived_message(source, label)
    out.key = key
    out.key_seq = 0
    out.body = value
    out.tombstone = tombstone
    out.event_time_ms = out.at_ms if event_time_ms is None else event_time_ms
    return out
