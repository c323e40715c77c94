"""An SQS consumer: receive a batch, process it, delete what succeeded — and a Lambda trigger.

The loop is the one every SQS client runs: ``ReceiveMessage`` (a long poll of
up to ``wait_time_seconds``, up to ``batch_size`` messages), process each one,
``DeleteMessage``. When the delete happens is the delivery guarantee:

- ``commit = "before-process"``: delete the batch first, then process — a
  crash loses the rest of the batch (at-most-once).
- ``"after-process"``/``"auto"``: delete after processing (each message with
  ``commit_every = "message"``, else one ``DeleteMessageBatch`` per batch) — a
  crash, or processing slower than the visibility timeout, brings the message
  back (at-least-once, and duplicates).

A failed message is simply not deleted: it becomes visible again when its
visibility timeout runs out — the retry — until the redrive policy moves it to
the DLQ. With ``extend_visibility`` the consumer calls ChangeMessageVisibility
while it is still working on a message, so a slow handler keeps it hidden.

With ``trigger = "lambda"`` the consumer is a Lambda event source mapping: it
invokes the function once per batch. If the function fails, the whole batch
returns to the queue (the messages that succeeded too: duplicates) — unless the
function reports partial batch failures (``ReportBatchItemFailures``), in which
case only the failed messages return.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from simulator.models.queues.consumer import QueueConsumer
from simulator.models.sqs.settings import queue_attributes
from simulator.scenario import Group as GroupSpec
from simulator.trace import BatchItemFailed, Delivered, LambdaInvoked, RetryScheduled

if TYPE_CHECKING:
    from simulator.models.sqs.broker import SqsBroker
    from simulator.models.sqs.queue import Queue, SqsMessage
    from simulator.runtime import Runtime

__all__ = ["SqsConsumer"]

UNAVAILABLE_BACKOFF_MS = 1_000
"""How long a client waits before receiving again after the service refused a call."""

Received = tuple["SqsMessage", int, int]
"""(the stored message, its receipt handle, seq of the Delivered record)."""


class SqsConsumer(QueueConsumer):
    """One consumer (or one concurrent Lambda poller) of one queue."""

    def __init__(
        self, runtime: Runtime, broker: SqsBroker, queue: Queue, spec: GroupSpec, name: str
    ) -> None:
        super().__init__(runtime, broker, spec, name)
        self.broker = broker
        self.queue = queue
        attrs = queue_attributes(spec)
        self.is_lambda = attrs.trigger == "lambda"
        self.batch_size = attrs.batch_size or (10 if self.is_lambda else 1)
        self.wait_ms = attrs.wait_time_seconds * 1000
        self.delete_first = spec.commit == "before-process"
        self.delete_each = spec.commit_every == "message" and not self.is_lambda
        self.partial = attrs.report_batch_item_failures
        self.extend = attrs.extend_visibility
        self._batch: list[Received] = []
        self._i = 0
        self._succeeded: list[Received] = []
        self._failed_any = False

    # -- lifecycle -----------------------------------------------------------------------------

    def start(self) -> None:
        self.runtime.kernel.schedule(self.spec.start_ms, self._poll, self._token)

    def _stop(self, cause_seq: int) -> None:
        """Crashed: received messages stay hidden until their visibility timeout runs out."""
        self._batch = []

    def _resume(self) -> None:
        self._token += 1
        self._poll(self._token)

    # -- receiving -----------------------------------------------------------------------------

    def _poll(self, token: int) -> None:
        if self.crashed or token != self._token:
            return
        self._token += 1
        token = self._token
        runtime = self.runtime
        runtime.network.send(
            self.name,
            "broker",
            "receive",
            None,
            self.broker.on_receive,
            (self, token),
            background=True,
        )
        # No answer at all (broker down, request lost): ask again after the long poll.
        slack = self.wait_ms + 4 * runtime.network.latency_ms + 1_000
        runtime.kernel.after(slack, self._no_answer, token, background=True)

    def _no_answer(self, token: int) -> None:
        if token == self._token and not self._batch:
            self._poll(token)

    def on_unavailable(self, token: int) -> None:
        """ReceiveMessage failed (the service is down): try again after a second."""
        if not self.crashed and token == self._token:
            self.runtime.kernel.after(UNAVAILABLE_BACKOFF_MS, self._poll, token, background=True)

    def on_messages(self, arg: tuple[int, list[tuple[SqsMessage, int, bool]]]) -> None:
        """The ReceiveMessage response arrives."""
        token, batch = arg
        if self.crashed or token != self._token:
            return  # nobody is waiting for it: the messages stay hidden, then return
        if not batch:
            self.runtime.kernel.after(0, self._poll, token, background=True)
            return
        runtime = self.runtime
        spec = self.spec
        now = runtime.kernel.now_ms
        received: list[Received] = []
        for entry, receipt, redelivered in batch:
            msg = entry.msg
            rec = runtime.record(
                Delivered(
                    seq=runtime.next_seq,
                    at=now,
                    component=self.name,
                    cause_seq=entry.cause_seq,
                    group=spec.name,
                    consumer=self.name,
                    msg=msg.id,
                    key=msg.key,
                    topic=spec.topic,
                    partition=None,
                    offset=None,
                    redelivered=redelivered,
                )
            )
            received.append((entry, receipt, rec.seq))
        self._batch = received
        self._i = 0
        self._attempt = 1
        self._succeeded = []
        self._failed_any = False
        if self._crash_point("after_poll"):
            return
        if self.is_lambda:
            runtime.emit(
                LambdaInvoked,
                self.name,
                received[0][2],
                group=spec.name,
                consumer=self.name,
                msgs=[e.msg.id for e, _, _ in received],
            )
        if self.delete_first:
            self._delete(received)
            if self._crash_point("after_commit_before_process"):
                return
        self._start_item(token)

    # -- processing ----------------------------------------------------------------------------

    def _start_item(self, token: int) -> None:
        runtime = self.runtime
        duration = runtime.faults.processing_ms(self.name, self._processing_ms)
        self._timers.after(duration, self._finish_item, token)
        if self.extend and duration >= self.queue.visibility_ms // 2 > 0:
            runtime.kernel.after(
                self.queue.visibility_ms // 2, self._extend, (token, self._i), background=True
            )

    def _extend(self, arg: tuple[int, int]) -> None:
        """Still working on it: ChangeMessageVisibility before the timeout runs out."""
        token, i = arg
        if self.crashed or token != self._token or self._i != i or i >= len(self._batch):
            return
        entry, receipt, delivered_seq = self._batch[i]
        timeout = self.queue.visibility_ms
        self.broker.change_visibility(self, entry, receipt, timeout, delivered_seq)
        self.runtime.kernel.after(timeout // 2, self._extend, arg, background=True)

    def _finish_item(self, token: int) -> None:
        if self.crashed or token != self._token:
            return
        item = self._batch[self._i]
        entry, _, delivered_seq = item
        msg = entry.msg
        entry.tries += 1
        error = self._handler_error(self.spec.name, self.name, msg.id, msg.key, msg.value)
        if error is not None:
            self._failed(item, error, token)
            return
        self._processed(msg, delivered_seq)
        if not self.delete_first:
            if self.delete_each:
                if self._crash_point("after_process_before_commit"):
                    return
                self._delete([item])
            else:
                self._succeeded.append(item)
        self._next_item(token)

    def _failed(self, item: Received, error: str, token: int) -> None:
        entry, _, delivered_seq = item
        msg = entry.msg
        # A Lambda function does not retry in place: the whole invocation fails.
        failed_seq = self._failed_try(
            msg, delivered_seq, error, token, tries=entry.tries, retries=not self.is_lambda
        )
        if failed_seq is None:
            return  # tried again after the backoff
        if self.delete_first:
            self._skipped(msg, failed_seq, f"{error} error; deleted before processing: gone")
            self._next_item(token)
            return
        spec = self.spec
        if self.is_lambda and self.partial:
            self.runtime.emit(
                BatchItemFailed,
                self.name,
                failed_seq,
                group=spec.name,
                consumer=self.name,
                msg=msg.id,
            )
            self._returns(item, failed_seq)
            self._next_item(token)
            return
        if self.is_lambda:
            # The function threw: the invocation failed and no message of the batch is deleted.
            self._failed_any = True
            for other in self._batch:
                self._returns(other, failed_seq)
            self._succeeded = []
            self._end_batch(token)
            return
        self._returns(item, failed_seq)
        self._next_item(token)

    def _returns(self, item: Received, cause_seq: int) -> None:
        """Not deleted: it comes back when its visibility timeout runs out."""
        entry, _, _ = item
        remaining = max(0, entry.visible_at - self.runtime.kernel.now_ms)
        self.runtime.emit(
            RetryScheduled,
            self.name,
            cause_seq,
            group=self.spec.name,
            consumer=self.name,
            msg=entry.msg.id,
            attempt=entry.tries + 1,
            delay_ms=remaining,
            via="visibility-timeout",
        )

    def _next_item(self, token: int) -> None:
        self._attempt = 1
        self._i += 1
        if self._i < len(self._batch):
            self._start_item(token)
        else:
            self._end_batch(token)

    def _end_batch(self, token: int) -> None:
        if self._succeeded:
            if self._crash_point("after_process_before_commit"):
                return
            self._delete(self._succeeded)
        self._batch = []
        self._succeeded = []
        self._poll(token)

    def _delete(self, items: list[Received]) -> None:
        """DeleteMessage / DeleteMessageBatch with the receipt handles we hold."""
        self.broker.delete(self, [(e, r, seq) for e, r, seq in items])
