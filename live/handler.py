"""What a live consumer does with one message: the lesson's handler.

A live consumer process receives deliveries from the broker and hands each
message to a *handler*, one at a time; the handler's answer decides what the
consumer tells the broker (``basic.ack`` after success; after a failure, a
retry in place, then ``basic.nack`` with or without requeue). The handler is
the one piece a student's own code can replace: anything with a
``handle(message)`` method that returns ``None`` when done, or a short word for
what went wrong, fits.

``LessonHandler`` is the handler a lesson describes with its faults, and asks
them exactly as the simulated consumer does — through the simulator's own
``FaultPlan`` over a recorded runtime whose clock is the run's virtual time
(wall-clock time since the start, times the speed). So a ``poison`` fault
fails the same messages, a ``slow`` fault slows the same consumer in the same
window, and a ``handler-error`` fails with its probability. Its randomness is
seeded, but each consumer process draws on its own copy of the stream, and
wall-clock timing decides which message meets which draw: a live run repeats
the lesson, not the exact trace.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Protocol

from live.message import LiveMessage
from live.runtime import RecordedRuntime
from simulator.faults import FaultPlan
from simulator.scenario import Scenario

__all__ = ["LessonHandler", "LiveMessage", "MessageHandler"]


class MessageHandler(Protocol):
    """The consumer's business logic: process one message."""

    def handle(self, message: LiveMessage) -> str | None:
        """Process ``message``; None when done, else the error (``poison``, ``transient`` …)."""
        ...


class LessonHandler:
    """The lesson's handler: takes ``processing_ms`` (or a slow fault's), fails as faults say."""

    def __init__(
        self,
        scenario: Scenario,
        seed: int,
        group: str,
        consumer: str,
        virtual_now_ms: Callable[[], int],
        speed: float,
    ) -> None:
        self.group = group
        self.consumer = consumer
        self._processing_ms = next(g.processing_ms for g in scenario.groups if g.name == group)
        self._now = virtual_now_ms
        self._speed = speed
        self._runtime = RecordedRuntime(scenario, seed)
        self._faults = FaultPlan(self._runtime)

    def handle(self, message: LiveMessage) -> str | None:
        # As in the model, the time the handler takes is fixed when it starts, and
        # whether it fails is decided when it ends.
        self._runtime.kernel.now_ms = self._now()
        duration_ms = self._faults.processing_ms(self.consumer, self._processing_ms)
        if duration_ms:
            time.sleep(duration_ms / 1000 / self._speed)
        self._runtime.kernel.now_ms = self._now()
        return self._faults.handler_error(
            self.group, self.consumer, message.msg, message.key, message.value
        )
