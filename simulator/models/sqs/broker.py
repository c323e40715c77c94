"""The SQS-style service: topics fanning out to queues, and the queue API over the network.

The scenario's sections map onto AWS like this: a *topic* is an SNS-style topic
that fans each message out to every queue subscribed to it (with one subscriber
it is simply that queue); a *group* is a queue of the same name, and the
group's consumers compete for its messages; a group's ``dead_letter_topic`` is
the queue's DLQ (redrive policy). The standard model makes every queue a
standard queue, the FIFO model a FIFO queue (and the topics FIFO topics).

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
from simulator.models.sqs.consumer import LambdaFunction, SqsConsumer
from simulator.models.sqs.queue import Queue, Receive, SqsMessage
from simulator.models.sqs.settings import queue_attributes
from simulator.trace import Redriven

if TYPE_CHECKING:
    from simulator.runtime import Runtime

__all__ = ["SqsBroker"]


class SqsBroker(QueueBroker[SqsConsumer]):
    """Topics, queues, producers and consumers of an SQS-style scenario."""

    def __init__(self, runtime: Runtime, *, fifo: bool) -> None:
        super().__init__(runtime)
        scenario = runtime.scenario
        self.fifo = fifo
        """Every queue (and topic) is a FIFO one."""
        self.queues: dict[str, Queue] = {}
        self.subscribers: dict[str, list[Queue]] = {t.name: [] for t in scenario.topics}
        self.dlq_store: dict[str, list[tuple[str, Message]]] = {}
        """DLQ (topic) name → (source queue, message) moved there, oldest first."""
        self.functions: dict[str, LambdaFunction] = {}
        """Group → the Lambda function its event source mappings invoke (when limited)."""
        for g in scenario.groups:
            queue = Queue(runtime, self, g, self.fifo)
            self.queues[g.name] = queue
            self.subscribers[g.topic].append(queue)
            for name in g.consumer_names():
                self.consumers[name] = SqsConsumer(runtime, self, queue, g, name)
            redrive_at = queue_attributes(g).redrive_back_at_ms
            if redrive_at is not None:
                runtime.kernel.schedule(redrive_at, self._redrive_back, g.name)
        self._add_publishers(self._on_send)
        self._start_consumers()

    # -- what the simulation asks of a broker model --------------------------------------------

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

    def function(self, group: str, reserved: int | None) -> LambdaFunction:
        """The function a group's mappings share (its reserved concurrency counts them all)."""
        found = self.functions.get(group)
        if found is None:
            found = self.functions[group] = LambdaFunction(reserved)
        return found

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
