"""What every queue broker does the same way: its components by name, crashes, restarts.

A RabbitMQ-style broker and an SQS-style service differ in how a message
travels (exchanges and pushed deliveries; topics, receives and visibility
timeouts) but not in what the simulation asks of them: hand a message to its
publisher, crash a component by name and bring it back. A crashed publisher
forgets what was unconfirmed; a crashed broker stops answering (what else it
drops is the model's own ``_broker_down``). A publish that reaches the broker
may crash it right after storing the message and before answering
(``after_append_before_ack``): the message is kept, the publisher never hears
back and sends it again.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, Generic, TypeVar

from simulator.models.queues.publisher import Publisher, PublishRequest
from simulator.trace import Crashed, Restarted

if TYPE_CHECKING:
    from simulator.messages import Message
    from simulator.models.queues.consumer import QueueConsumer
    from simulator.runtime import Runtime

__all__ = ["QueueBroker"]

C = TypeVar("C", bound="QueueConsumer")


class QueueBroker(Generic[C]):
    """Publishers and consumers by name, and the broker's own crash and restart.

    A model's broker subclasses it, builds its queues and consumers into
    ``consumers`` and calls ``_add_publishers`` with the callback that takes a
    publish arriving at the broker.
    """

    def __init__(self, runtime: Runtime) -> None:
        self.runtime = runtime
        self.up = True
        self.consumers: dict[str, C] = {}
        self.publishers: dict[str, Publisher] = {}

    def _add_publishers(
        self, arrive: Callable[[PublishRequest], None], *, broker_confirms: bool = True
    ) -> None:
        """One publisher per producer; ``acks = 0`` (or no broker confirms) fires and forgets."""
        runtime = self.runtime
        for p in runtime.scenario.producers:
            confirms = broker_confirms and p.acks != 0
            self.publishers[p.name] = Publisher(runtime, p, confirms=confirms, arrive=arrive)

    def _start_consumers(self) -> None:
        for consumer in self.consumers.values():
            consumer.start()

    # -- what the simulation asks of a broker model --------------------------------------------

    def send(self, msg: Message) -> None:
        """The workload hands a message to its publisher."""
        self.publishers[msg.producer].send(msg)

    def crash(self, target: str, point: str | None) -> int:
        """Crash a component by name; returns the seq of its Crashed record."""
        consumer = self.consumers.get(target)
        if consumer is not None:
            return consumer.crash(point)
        rec = self.runtime.emit(Crashed, target, None, point=point)
        if target in self.publishers:
            self.publishers[target].crash()
        elif target == "broker":
            self.up = False
            self._broker_down(rec.seq)
        return rec.seq

    def restart(self, target: str, cause_seq: int | None) -> None:
        """Bring ``target`` back after a crash."""
        consumer = self.consumers.get(target)
        if consumer is not None:
            consumer.restart()
            return
        self.runtime.emit(Restarted, target, cause_seq)
        if target in self.publishers:
            self.publishers[target].restart()
        elif target == "broker":
            self.up = True
            self._broker_up()

    # -- what a model's broker may add ---------------------------------------------------------

    def _broker_down(self, cause_seq: int) -> None:
        """The broker crashed (``up`` is False already); stored messages survive."""

    def _broker_up(self) -> None:
        """The broker is back (``up`` is True already)."""

    def _crashed_before_answering(self) -> bool:
        """The ``after_append_before_ack`` point: stored, but the answer never leaves."""
        return self.runtime.faults.crashes_at("broker", "after_append_before_ack")
