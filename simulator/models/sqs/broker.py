"""The SQS-style service: topics fanning out to queues, and the queue API over the network.

The scenario's sections map onto AWS like this: a *topic* is an SNS-style topic
that fans each message out to every queue subscribed to it (with one subscriber
it is simply that queue); a *group* is a queue of the same name, and the
group's consumers compete for its messages; a group's ``dead_letter_topic`` is
the queue's DLQ (redrive policy). ``broker = "sqs"`` makes every queue a
standard queue, ``"sqs-fifo"`` a FIFO queue (and the topics FIFO topics).

The producer's ``SendMessage`` (or ``Publish``) counts as sent when the response
arrives (the common ``Acked``); a lost response makes the SDK send again — a
duplicate in a standard queue, a dropped repeat in a FIFO queue (same
deduplication id). Every call crosses the network: receive, delete and
change-visibility requests all pay latency and can be lost.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from simulator.messages import Message
from simulator.models.queues.broker import QueueBroker
from simulator.models.queues.publisher import PublishRequest
from simulator.models.sqs.consumer import SqsConsumer
from simulator.models.sqs.queue import Queue, Receive, SqsMessage
from simulator.trace import Redriven

if TYPE_CHECKING:
    from simulator.runtime import Runtime

__all__ = ["FIFO_FOLLOWS", "STANDARD_FOLLOWS", "SqsBroker"]

STANDARD_FOLLOWS = "Amazon SQS standard queues (with SNS-style fan-out and a Lambda-style trigger)"
FIFO_FOLLOWS = "Amazon SQS FIFO queues (with SNS FIFO-style fan-out and a Lambda-style trigger)"


class SqsBroker(QueueBroker[SqsConsumer]):
    """Topics, queues, producers and consumers of an SQS-style scenario."""

    def __init__(self, runtime: Runtime) -> None:
        super().__init__(runtime)
        scenario = runtime.scenario
        self.fifo = scenario.broker == "sqs-fifo"
        self.queues: dict[str, Queue] = {}
        self.subscribers: dict[str, list[Queue]] = {t.name: [] for t in scenario.topics}
        self.dlq_store: dict[str, list[tuple[str, Message]]] = {}
        """DLQ (topic) name → (source queue, message) moved there, oldest first."""
        for g in scenario.groups:
            queue = Queue(runtime, self, g, self.fifo)
            self.queues[g.name] = queue
            self.subscribers[g.topic].append(queue)
            for name in g.consumer_names():
                self.consumers[name] = SqsConsumer(runtime, self, queue, g, name)
            if g.sqs.redrive_back_at_ms is not None:
                runtime.kernel.schedule(g.sqs.redrive_back_at_ms, self._redrive_back, g.name)
        self._add_publishers(self._on_send)
        self._start_consumers()

    # -- what the simulation asks of a broker model --------------------------------------------

    @staticmethod
    def settings_for(runtime: Runtime) -> dict[str, str]:
        """Every setting that shapes behaviour, defaults included, for the trace header."""
        s = runtime.scenario
        fifo = s.broker == "sqs-fifo"
        out: dict[str, str] = {"network.latency_ms": str(s.network.latency_ms)}
        out["queue.type"] = "FIFO" if fifo else "standard"
        if not fifo:
            out["standard.duplicate_probability"] = str(s.sqs.duplicate_probability)
            out["standard.reorder_probability"] = str(s.sqs.reorder_probability)
            out["standard.reorder_window_ms"] = str(s.sqs.reorder_window_ms)
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
            q = g.sqs
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
                    s.sqs.duplicate_probability
                    if q.duplicate_probability is None
                    else q.duplicate_probability
                )
                out[f"{prefix}.reorder_probability"] = str(
                    s.sqs.reorder_probability
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
            out[f"{prefix}.processing_ms"] = str(g.processing_ms)
            if g.retry.policy != "none" and not lam:
                out[f"{prefix}.retry"] = f"{g.retry.policy} x{g.retry.attempts} (in place)"
            if q.redrive_back_at_ms is not None:
                out[f"{prefix}.redrive_back_at_ms"] = str(q.redrive_back_at_ms)
        return out

    # -- the API, as requests arriving over the network ----------------------------------------

    def _on_send(self, request: PublishRequest) -> None:
        """SendMessage (or Publish to a topic) arrives."""
        if not self.up:
            return
        publisher = request.publisher
        self._fan_out(publisher.topic, request.msg, request.cause_seq)
        if self._crashed_before_answering():
            return  # stored, but the response never leaves: the SDK will send again
        publisher.confirm(request, request.cause_seq)

    def _fan_out(self, topic: str, msg: Message, cause_seq: int | None) -> None:
        for queue in self.subscribers[topic]:
            queue.send(msg, cause_seq)

    def publish_internal(self, topic: str, msg: Message, cause_seq: int | None) -> None:
        """A send from inside the system (a handler's output)."""
        self._fan_out(topic, msg, cause_seq)

    def on_receive(self, arg: tuple[SqsConsumer, int]) -> None:
        """ReceiveMessage arrives; the answer goes back over the network."""
        consumer, token = arg
        runtime = self.runtime
        if not self.up:
            # The service is unavailable: the call fails fast and the client backs off.
            runtime.network.send(
                "broker",
                consumer.name,
                "unavailable",
                None,
                consumer.on_unavailable,
                token,
                background=True,
            )
            return

        def respond(batch: list[tuple[SqsMessage, int, bool]]) -> None:
            runtime.network.send(
                "broker",
                consumer.name,
                "messages",
                [e.msg.id for e, _, _ in batch],
                consumer.on_messages,
                (token, batch),
                background=not batch,
            )

        consumer.queue.receive(Receive(consumer.batch_size, respond), consumer.wait_ms)

    def delete(self, consumer: SqsConsumer, items: list[tuple[SqsMessage, int, int]]) -> None:
        """DeleteMessage (one item) or DeleteMessageBatch, sent by ``consumer``."""
        self.runtime.network.send(
            consumer.name,
            "broker",
            "delete",
            [e.msg.id for e, _, _ in items],
            self._delete_arrives,
            (consumer, items),
        )

    def _delete_arrives(self, arg: tuple[SqsConsumer, list[tuple[SqsMessage, int, int]]]) -> None:
        consumer, items = arg
        if not self.up:
            return
        queue = consumer.queue
        for entry, receipt, cause_seq in items:
            queue.delete(entry, receipt, consumer.name, cause_seq)

    def change_visibility(
        self, consumer: SqsConsumer, entry: SqsMessage, receipt: int, timeout_ms: int, cause: int
    ) -> None:
        self.runtime.network.send(
            consumer.name,
            "broker",
            "change visibility",
            entry.msg.id,
            self._change_arrives,
            (consumer, entry, receipt, timeout_ms, cause),
        )

    def _change_arrives(self, arg: tuple[SqsConsumer, SqsMessage, int, int, int]) -> None:
        consumer, entry, receipt, timeout_ms, cause = arg
        if self.up:
            consumer.queue.change_visibility(entry, receipt, timeout_ms, consumer.name, cause)

    # -- dead-letter queues --------------------------------------------------------------------

    def to_dead_letter_queue(self, queue: Queue, msg: Message, cause_seq: int) -> None:
        """Redrive policy: the message moves to the DLQ (and to any queue reading that topic)."""
        dlq = queue.spec.dead_letter_topic
        if dlq is None:
            return
        self.dlq_store.setdefault(dlq, []).append((queue.name, msg))
        self._fan_out(dlq, msg, cause_seq)

    def _redrive_back(self, queue_name: str) -> None:
        """A DLQ redrive (StartMessageMoveTask): messages go back to their source queue."""
        queue = self.queues[queue_name]
        dlq = queue.spec.dead_letter_topic or ""
        stored = self.dlq_store.get(dlq, [])
        keep: list[tuple[str, Message]] = []
        for source, msg in stored:
            if source != queue_name:
                keep.append((source, msg))
                continue
            rec = self.runtime.emit(
                Redriven, queue_name, None, group=queue_name, msg=msg.id, source=dlq
            )
            queue.redrive_in(msg, rec.seq)
        self.dlq_store[dlq] = keep
