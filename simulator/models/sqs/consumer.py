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
the DLQ; with ``visibility_on_failure_ms`` the consumer gives it back sooner
(``ChangeMessageVisibility``, 0: at once). With ``extend_visibility`` the
consumer calls ChangeMessageVisibility while it is still working on a
message, so a slow handler keeps it hidden.

A consumer process may run several *workers* (``concurrency``: a thread pool,
as SDK listeners have), each running that loop on its own. Then one process
holds several messages at once — and when one worker is slower than the
visibility timeout, another worker of the same process can receive the same
message again: the first worker's receipt handle is stale, and its delete fails.

With ``trigger = "lambda"`` the consumer is a Lambda event source mapping: it
invokes the function once per batch (``concurrency`` invocations at a time).
If the function fails, the whole batch returns to the queue (the messages
that succeeded too: duplicates) — unless the function reports partial batch
failures (``ReportBatchItemFailures``), in which case only the failed
messages return.

Lambda scales such a mapping with the queue (``lambda_scaling``, the Amazon
case): five batches at once at first, one more poller every 200 ms while
messages wait, up to the mapping's ``maximum_concurrency``, and one fewer
whenever a long poll comes back empty. The *function* has a limit of its own,
its reserved concurrency: an invocation above it is throttled
(``LambdaThrottled``) — the pollers took the batch from the queue but nobody
runs it, so its messages come back after the visibility timeout with one more
receive counted, and a low ``maxReceiveCount`` sends them to the DLQ without
their ever failing. Capping the mapping (``maximum_concurrency`` at or below
the reserve) keeps the pollers from taking more than the function can run.
How Lambda decides to scale is not published; this is its documented outline.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from simulator.models.queues.consumer import QueueConsumer
from simulator.models.sqs.settings import (
    LAMBDA_MAX_BATCHES,
    LAMBDA_SCALE_UP_MS,
    LAMBDA_START_BATCHES,
    queue_attributes,
)
from simulator.scenario import Group as GroupSpec
from simulator.trace import (
    BatchItemFailed,
    Delivered,
    LambdaInvoked,
    LambdaScaled,
    LambdaThrottled,
    RetryScheduled,
)

if TYPE_CHECKING:
    from simulator.models.sqs.broker import SqsBroker
    from simulator.models.sqs.queue import Queue, SqsMessage
    from simulator.runtime import Runtime

__all__ = ["LambdaFunction", "SqsConsumer", "Worker"]

UNAVAILABLE_BACKOFF_MS = 1_000
"""How long a client waits before receiving again after the service refused a call."""


class LambdaFunction:
    """The function a group's event source mappings invoke: how many of it run at once."""

    __slots__ = ("reserved", "running")

    def __init__(self, reserved: int | None) -> None:
        self.reserved = reserved
        """Its reserved concurrency (None: no limit here)."""
        self.running = 0


Received = tuple["SqsMessage", int, int]
"""(the stored message, its receipt handle, seq of the Delivered record)."""


class Worker:
    """One worker of a consumer (a thread, or one concurrent Lambda invocation): its own loop."""

    __slots__ = ("attempt", "batch", "failed_any", "i", "invoking", "succeeded", "token")

    def __init__(self) -> None:
        self.token = 0
        """The poll it waits for; a response or timer holding another token is void."""
        self.batch: list[Received] = []
        self.i = 0
        """The message of ``batch`` in hand."""
        self.attempt = 1
        """Tries of the message in hand in this round (the retry policy counts them)."""
        self.succeeded: list[Received] = []
        self.failed_any = False
        self.invoking = False
        """Counted in its function's running invocations."""


Step = tuple[Worker, int]
"""(the worker, the token it held when the step was scheduled)."""


class SqsConsumer(QueueConsumer):
    """One consumer process (or one Lambda poller) of one queue, with its workers."""

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
        self.give_back_ms = attrs.visibility_on_failure_ms
        self.scaling = self.is_lambda and attrs.lambda_scaling
        self.max_batches = attrs.maximum_concurrency or LAMBDA_MAX_BATCHES
        """The most batches this mapping runs at once."""
        start = LAMBDA_START_BATCHES if self.scaling else attrs.concurrency
        self.workers = [Worker() for _ in range(min(start, self.max_batches))]
        self._polls = 0
        """Tokens handed out so far, over every worker (a token names one poll)."""
        self.function: LambdaFunction | None = None
        """The function it invokes, when its concurrency is limited or scaled."""
        if self.is_lambda and (self.scaling or attrs.reserved_concurrency is not None):
            self.function = broker.function(spec.name, attrs.reserved_concurrency)
        self._scale_due = False

    # -- lifecycle -----------------------------------------------------------------------------

    def start(self) -> None:
        kernel = self.runtime.kernel
        for w in self.workers:
            kernel.schedule(self.spec.start_ms, self._poll, (w, w.token))

    def _renew(self, w: Worker) -> int:
        self._polls += 1
        w.token = self._polls
        return w.token

    def _stop(self, cause_seq: int) -> None:
        """Crashed: received messages stay hidden until their visibility timeout runs out."""
        for w in self.workers:
            self._renew(w)
            w.batch = []
            self._invocation_over(w)

    def _resume(self) -> None:
        for w in self.workers:
            self._poll((w, self._renew(w)))

    def _worker(self, token: int) -> Worker | None:
        """The worker waiting for the poll ``token`` names, if any still is."""
        for w in self.workers:
            if w.token == token:
                return w
        return None

    # -- receiving -----------------------------------------------------------------------------

    def _poll(self, step: Step) -> None:
        w, token = step
        if self.crashed or token != w.token:
            return
        token = self._renew(w)
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
        runtime.kernel.after(slack, self._no_answer, (w, token), background=True)

    def _no_answer(self, step: Step) -> None:
        w, token = step
        if token == w.token and not w.batch:
            self._poll(step)

    def on_unavailable(self, token: int) -> None:
        """ReceiveMessage failed (the service is down): try again after a second."""
        w = self._worker(token)
        if not self.crashed and w is not None:
            self.runtime.kernel.after(
                UNAVAILABLE_BACKOFF_MS, self._poll, (w, token), background=True
            )

    def on_messages(self, arg: tuple[int, list[tuple[SqsMessage, int, bool]]]) -> None:
        """The ReceiveMessage response arrives."""
        token, batch = arg
        w = None if self.crashed else self._worker(token)
        if w is None:
            return  # nobody is waiting for it: the messages stay hidden, then return
        if not batch:
            if self.scaling and len(self.workers) > LAMBDA_START_BATCHES:
                self._retire(w)  # nothing waiting: Lambda scales back
                return
            self.runtime.kernel.after(0, self._poll, (w, token), background=True)
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
        w.batch = received
        w.i = 0
        w.attempt = 1
        w.succeeded = []
        w.failed_any = False
        if self._crash_point("after_poll"):
            return
        if self.scaling:
            self._maybe_scale_up()
        function = self.function
        if function is not None:
            reserved = function.reserved
            if reserved is not None and function.running >= reserved:
                self._throttled(w, token, received, function.running, reserved)
                return
            function.running += 1
            w.invoking = True
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
        self._start_item((w, token))

    # -- processing ----------------------------------------------------------------------------

    def _start_item(self, step: Step) -> None:
        w = step[0]
        runtime = self.runtime
        duration = runtime.faults.processing_ms(self.name, self._processing_ms)
        self._timers.after(duration, self._finish_item, step)
        if self.extend and duration >= self.queue.visibility_ms // 2 > 0:
            runtime.kernel.after(
                self.queue.visibility_ms // 2, self._extend, (w, step[1], w.i), background=True
            )

    def _extend(self, arg: tuple[Worker, int, int]) -> None:
        """Still working on it: ChangeMessageVisibility before the timeout runs out."""
        w, token, i = arg
        if self.crashed or token != w.token or w.i != i or i >= len(w.batch):
            return
        entry, receipt, delivered_seq = w.batch[i]
        timeout = self.queue.visibility_ms
        self.broker.change_visibility(self, entry, receipt, timeout, delivered_seq)
        self.runtime.kernel.after(timeout // 2, self._extend, arg, background=True)

    def _finish_item(self, step: Step) -> None:
        w, token = step
        if self.crashed or token != w.token:
            return
        item = w.batch[w.i]
        entry, _, delivered_seq = item
        msg = entry.msg
        entry.tries += 1
        error = self._handler_error(self.spec.name, self.name, msg.id, msg.key, msg.value)
        if error is not None:
            self._failed(w, item, error, token)
            return
        self._processed(msg, delivered_seq)
        if not self.delete_first:
            if self.delete_each:
                if self._crash_point("after_process_before_commit"):
                    return
                self._delete([item])
            else:
                w.succeeded.append(item)
        self._next_item(w, token)

    def _failed(self, w: Worker, item: Received, error: str, token: int) -> None:
        entry, _, delivered_seq = item
        msg = entry.msg
        # A Lambda function does not retry in place: the whole invocation fails.
        failed_seq, delay = self._failure(
            msg,
            delivered_seq,
            error,
            attempt=w.attempt,
            tries=entry.tries,
            retries=not self.is_lambda,
        )
        if delay is not None:
            w.attempt += 1
            self._timers.after(delay, self._start_item, (w, token))
            return  # tried again after the backoff
        if self.delete_first:
            self._skipped(msg, failed_seq, f"{error} error; deleted before processing: gone")
            self._next_item(w, token)
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
            self._next_item(w, token)
            return
        if self.is_lambda:
            # The function threw: the invocation failed and no message of the batch is deleted.
            w.failed_any = True
            for other in w.batch:
                self._returns(other, failed_seq)
            w.succeeded = []
            self._end_batch(w, token)
            return
        self._returns(item, failed_seq, give_back=True)
        self._next_item(w, token)

    def _returns(self, item: Received, cause_seq: int, *, give_back: bool = False) -> None:
        """Not deleted: it comes back when its visibility timeout runs out — or sooner.

        With ``visibility_on_failure_ms`` (and ``give_back``) the consumer calls
        ChangeMessageVisibility so the message is visible again after that long
        (0: at once) instead of after the rest of its timeout.
        """
        entry, receipt, _ = item
        remaining = max(0, entry.visible_at - self.runtime.kernel.now_ms)
        back_in = remaining
        if give_back and self.give_back_ms is not None:
            back_in = self.give_back_ms
        rec = self.runtime.emit(
            RetryScheduled,
            self.name,
            cause_seq,
            group=self.spec.name,
            consumer=self.name,
            msg=entry.msg.id,
            attempt=entry.tries + 1,
            delay_ms=back_in,
            via="visibility-timeout",
        )
        if back_in != remaining:
            self.broker.change_visibility(self, entry, receipt, back_in, rec.seq)

    def _next_item(self, w: Worker, token: int) -> None:
        w.attempt = 1
        w.i += 1
        if w.i < len(w.batch):
            self._start_item((w, token))
        else:
            self._end_batch(w, token)

    def _end_batch(self, w: Worker, token: int) -> None:
        self._invocation_over(w)
        if w.succeeded:
            if self._crash_point("after_process_before_commit"):
                return
            self._delete(w.succeeded)
        w.batch = []
        w.succeeded = []
        self._poll((w, token))

    # -- Lambda's concurrency ------------------------------------------------------------------

    def _invocation_over(self, w: Worker) -> None:
        if w.invoking and self.function is not None:
            w.invoking = False
            self.function.running -= 1

    def _throttled(
        self, w: Worker, token: int, received: list[Received], running: int, reserved: int
    ) -> None:
        """``TooManyRequestsException``: nobody runs the batch; it returns after its timeout."""
        runtime = self.runtime
        spec = self.spec
        throttled = runtime.emit(
            LambdaThrottled,
            self.name,
            received[0][2],
            group=spec.name,
            consumer=self.name,
            msgs=[e.msg.id for e, _, _ in received],
            running=running,
            reserved=reserved,
        )
        for item in received:
            self._returns(item, throttled.seq)
        w.batch = []
        runtime.kernel.after(UNAVAILABLE_BACKOFF_MS, self._poll, (w, token), background=True)

    def _maybe_scale_up(self) -> None:
        """Messages still wait after a receive: add a poller in a moment (300 a minute)."""
        if self._scale_due or len(self.workers) >= self.max_batches:
            return
        if not self.queue.visible_count():
            return
        self._scale_due = True
        self.runtime.kernel.after(LAMBDA_SCALE_UP_MS, self._scale_up)

    def _scale_up(self, _: object = None) -> None:
        self._scale_due = False
        if self.crashed or len(self.workers) >= self.max_batches:
            return
        waiting = self.queue.visible_count()
        if not waiting:
            return
        w = Worker()
        self.workers.append(w)
        self.runtime.emit(
            LambdaScaled,
            self.name,
            None,
            group=self.spec.name,
            consumer=self.name,
            concurrency=len(self.workers),
            reason=f"{waiting} messages waiting",
        )
        self._poll((w, self._renew(w)))
        self._maybe_scale_up()

    def _retire(self, w: Worker) -> None:
        """A poll came back empty: one poller fewer (never below five)."""
        self._renew(w)
        self.workers.remove(w)
        self.runtime.emit(
            LambdaScaled,
            self.name,
            None,
            group=self.spec.name,
            consumer=self.name,
            concurrency=len(self.workers),
            reason="a poll came back empty",
        )

    def _delete(self, items: list[Received]) -> None:
        """DeleteMessage / DeleteMessageBatch with the receipt handles we hold."""
        self.broker.delete(self, [(e, r, seq) for e, r, seq in items])
