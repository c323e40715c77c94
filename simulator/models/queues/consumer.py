"""What every queue-broker consumer does the same way, whatever the broker.

A RabbitMQ consumer is pushed deliveries and an SQS consumer receives
batches, but around that both run the same life: a crash records ``Crashed``
and voids whatever the process held in memory (a token guards against timers
of the dead incarnation), a restart records ``Restarted`` and starts over, a
named crash point asks the fault plan, and the handler's outcome — processed
with its output sent, or failed and retried after a backoff — is recorded
through ``simulator.models.handling``. What a crash leaves behind (a closed
channel, messages hidden until their visibility timeout) and how a message is
settled stay in each model's consumer.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Protocol

from simulator.kernel import Timers
from simulator.models.handling import (
    record_failure,
    record_output_produced,
    record_output_sent,
    record_processed,
)
from simulator.trace import Crashed, Restarted, Skipped

if TYPE_CHECKING:
    from simulator.messages import Message
    from simulator.runtime import Runtime
    from simulator.scenario import Group as GroupSpec
    from simulator.usercode.consumer import GroupCode

__all__ = ["OutputTarget", "QueueConsumer"]


class OutputTarget(Protocol):
    """Where a consumer's handler output goes: the broker, as a publish from inside."""

    def publish_internal(self, topic: str, msg: Message, cause_seq: int | None) -> None:
        """Publish ``msg`` to ``topic`` at once (it needs no confirm)."""
        ...


class QueueConsumer:
    """One consumer of one queue: identity, crash and restart, and the handler's outcome.

    A model's consumer subclasses it and fills in ``start``, ``_stop`` (what a
    crash voids) and ``_resume`` (how it starts consuming again); it runs its
    handler through ``self._timers``, so a crash calls the work in hand off.
    """

    def __init__(self, runtime: Runtime, output: OutputTarget, spec: GroupSpec, name: str) -> None:
        self.runtime = runtime
        self.spec = spec
        self.name = name
        self.crashed = False
        self.crash_seq: int | None = None
        self._output = output
        self._token = 0
        """Bumped whenever in-memory work is void: a timer holding an older token does nothing."""
        self._processing_ms = spec.processing_ms
        self._retry_rng = runtime.rng.stream(f"retry:{spec.name}")
        self._timers = Timers(runtime.kernel, cancellable=runtime.faults.may_crash(name))
        """Processing and retry-backoff timers: a crash calls them off."""
        self._crashes_at = runtime.faults.crashes_at
        self._handler_error = runtime.faults.handler_error
        self.code: GroupCode | None = None
        """The group's own handler (``[[groups]] handler``), run where the built-in one decides."""
        if spec.handler is not None:
            from simulator.usercode.consumer import group_code

            self.code = group_code(runtime, spec, name, self._send_output)

    # -- what a model's consumer fills in --------------------------------------------------------

    def start(self) -> None:
        """Begin consuming at the group's ``start_ms``."""
        raise NotImplementedError

    def _stop(self, cause_seq: int) -> None:
        """The process died (after ``Crashed``, token bumped): drop what it held."""
        raise NotImplementedError

    def _resume(self) -> None:
        """The process is back (after ``Restarted``): start consuming again."""
        raise NotImplementedError

    # -- crashes and restarts --------------------------------------------------------------------

    def crash(self, point: str | None) -> int:
        """Stop dead; returns the seq of the ``Crashed`` record."""
        crashed = self.runtime.emit(Crashed, self.name, None, point=point)
        self.crashed = True
        self.crash_seq = crashed.seq
        self._token += 1
        self._timers.cancel_all()
        self._stop(crashed.seq)
        return crashed.seq

    def restart(self) -> None:
        if not self.crashed:
            return
        self.runtime.emit(Restarted, self.name, self.crash_seq)
        self.crashed = False
        self._resume()

    def _crash_point(self, point: str) -> bool:
        """Whether the fault plan crashes this consumer here (it is down if so)."""
        return self._crashes_at(self.name, point)  # asked at every message: bound once

    # -- the handler's outcome -------------------------------------------------------------------

    def _outcome(self, msg: Message, delivered_seq: int) -> str | None:
        """Run the handler on ``msg``: None when it succeeded, else the error (a fault's word)."""
        error = self._handler_error(self.spec.name, self.name, msg.id, msg.key, msg.value)
        if self.code is not None:
            error = self.code.run(msg, self.spec.topic, delivered_seq, error)
        return error

    def _processed(self, msg: Message, delivered_seq: int) -> int:
        """The handler finished ``msg``: record it, and send its output; the ``Processed`` seq."""
        runtime = self.runtime
        spec = self.spec
        processed_seq, out = record_processed(runtime, spec, self.name, msg, delivered_seq)
        if self.code is not None:
            self.code.processed(processed_seq)
        elif out is not None and spec.output_topic is not None:
            self._send_output(spec.output_topic, out, processed_seq)
        return processed_seq

    def _send_output(self, topic: str, out: Message, cause_seq: int | None) -> int:
        """Publish a handler's output to ``topic`` at once; the seq of its ``Produced``."""
        runtime = self.runtime
        produced = record_output_produced(runtime, self.name, out, topic, cause_seq)
        self._output.publish_internal(topic, out, produced)
        record_output_sent(runtime, self.name, out, topic, produced)
        return produced

    def _failure(
        self,
        msg: Message,
        delivered_seq: int,
        error: str,
        *,
        attempt: int,
        tries: int,
        retries: bool = True,
    ) -> tuple[int, int | None]:
        """The handler failed: record it, and a blocking retry if the policy has one left.

        ``attempt`` counts the tries of this round (the retry policy's own
        count); ``tries`` every try of this stored message so far, this one
        included — over earlier deliveries too (a requeue, a receive after the
        visibility timeout), so attempt numbers in the trace keep counting up.
        Returns the ``ProcessingFailed`` seq and the backoff before the next
        try, or None when the model's own failure path takes over.
        """
        spec = self.spec
        return record_failure(
            self.runtime,
            consumer=self.name,
            group=spec.name,
            msg=msg.id,
            cause_seq=delivered_seq,
            error=error,
            attempt=attempt,
            policy=spec.retry,
            rng=self._retry_rng,
            retries_allowed=retries,
            earlier=tries - attempt,
        )

    def _skipped(self, msg: Message, failed_seq: int, reason: str) -> None:
        """The message was settled before processing, so a failure cannot bring it back."""
        spec = self.spec
        self.runtime.emit(
            Skipped,
            self.name,
            failed_seq,
            group=spec.name,
            consumer=self.name,
            msg=msg.id,
            reason=reason,
        )
