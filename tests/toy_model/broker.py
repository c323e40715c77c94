"""The toy broker: one queue per group, each message handed to one idle consumer.

A publish reaches the broker over the network, is copied into the queue of
every group reading its topic and confirmed. A queue hands its oldest (or,
with ``[groups.toy] order = "lifo"``, newest) message to the next idle
consumer, ``[toy] handoff_ms`` later; the consumer processes it and asks for
the next. A consumer that crashes while it holds a message gives it back to the
head of the queue, so the toy is at-least-once. Everything shared with the
real queue models comes from ``simulator.models.queues``: publishers with
confirms, crash and restart by name, the handler's outcome.
"""

from __future__ import annotations

from collections import deque
from typing import TYPE_CHECKING

from simulator.models.queues.broker import QueueBroker
from simulator.models.queues.consumer import QueueConsumer
from simulator.trace import Delivered
from toy_model.settings import group_args, toy_args

if TYPE_CHECKING:
    from simulator.messages import Message
    from simulator.models.queues.publisher import PublishRequest
    from simulator.runtime import Runtime
    from simulator.scenario import Group

__all__ = ["ToyBroker", "ToyConsumer", "ToyQueue"]


class ToyQueue:
    """A group's queue: ready messages and the consumers waiting for one."""

    def __init__(self, broker: ToyBroker, spec: Group) -> None:
        self.broker = broker
        self.lifo = group_args(spec).order == "lifo"
        self.ready: deque[tuple[Message, int | None]] = deque()
        self.idle: deque[ToyConsumer] = deque()
        self.handed_out: set[int] = set()
        """Messages handed out before: handing one out again is a redelivery."""

    def put(self, msg: Message, cause_seq: int | None, *, at_head: bool = False) -> None:
        if at_head:
            self.ready.appendleft((msg, cause_seq))
        else:
            self.ready.append((msg, cause_seq))
        self.dispatch()

    def waiting(self, consumer: ToyConsumer) -> None:
        """``consumer`` is ready for its next message."""
        if consumer not in self.idle:
            self.idle.append(consumer)
        self.dispatch()

    def dispatch(self) -> None:
        if not self.broker.up:
            return
        while self.ready and self.idle:
            consumer = self.idle.popleft()
            if consumer.crashed:
                continue
            msg, cause_seq = self.ready.pop() if self.lifo else self.ready.popleft()
            redelivered = msg.id in self.handed_out
            self.handed_out.add(msg.id)
            consumer.hand(msg, cause_seq, redelivered, self.broker.handoff_ms)


class ToyConsumer(QueueConsumer):
    """One consumer of a toy queue: take a message, process it, ask for the next."""

    def __init__(
        self, runtime: Runtime, broker: ToyBroker, queue: ToyQueue, spec: Group, name: str
    ) -> None:
        super().__init__(runtime, broker, spec, name)
        self.queue = queue
        self.holding: tuple[Message, int, int | None] | None = None
        """The message being processed, its Delivered seq and the record that queued it."""

    def start(self) -> None:
        self.runtime.kernel.schedule(self.spec.start_ms, self._ask, self._token)

    def _ask(self, token: int) -> None:
        if not self.crashed and token == self._token:
            self.queue.waiting(self)

    def hand(self, msg: Message, cause_seq: int | None, redelivered: bool, delay_ms: int) -> None:
        """The queue gives this consumer ``msg`` (after the broker's hand-off time)."""
        self.runtime.kernel.after(delay_ms, self._send, (self._token, msg, cause_seq, redelivered))

    def _send(self, arg: tuple[int, Message, int | None, bool]) -> None:
        self.runtime.network.send(
            "broker", self.name, "deliver", arg[1].id, self._arrived, arg, cause_seq=arg[2]
        )

    def _arrived(self, arg: tuple[int, Message, int | None, bool]) -> None:
        token, msg, cause_seq, redelivered = arg
        if self.crashed or token != self._token:
            self.queue.put(msg, cause_seq, at_head=True)  # nobody took it: back it goes
            return
        runtime = self.runtime
        delivered = runtime.record(
            Delivered(
                seq=runtime.next_seq,
                at=runtime.kernel.now_ms,
                component=self.name,
                cause_seq=cause_seq,
                group=self.spec.name,
                consumer=self.name,
                msg=msg.id,
                key=msg.key,
                topic=self.spec.topic,
                partition=None,
                offset=None,
                redelivered=redelivered,
            )
        )
        self.holding = (msg, delivered.seq, cause_seq)
        self._attempt = 1
        self._start_item(token)

    def _start_item(self, token: int) -> None:
        duration = self.runtime.faults.processing_ms(self.name, self._processing_ms)
        self.runtime.kernel.after(duration, self._finish_item, token)

    def _finish_item(self, token: int) -> None:
        if self.crashed or token != self._token or self.holding is None:
            return
        msg, delivered_seq, _ = self.holding
        error = self._handler_error(self.spec.name, self.name, msg.id, msg.key, msg.value)
        if error is None:
            self._processed(msg, delivered_seq)
        else:
            failed_seq = self._failed_try(msg, delivered_seq, error, token)
            if failed_seq is None:
                return  # tried again after the backoff
            self._skipped(msg, failed_seq, f"{error} error: the toy broker drops it")
        self.holding = None
        self._ask(token)

    def _stop(self, cause_seq: int) -> None:
        if self.holding is not None:
            msg, _, _ = self.holding
            self.queue.put(msg, cause_seq, at_head=True)
            self.holding = None

    def _resume(self) -> None:
        self._token += 1
        self._ask(self._token)


class ToyBroker(QueueBroker[ToyConsumer]):
    """The toy model's broker: queues per group, publishers with confirms."""

    def __init__(self, runtime: Runtime) -> None:
        super().__init__(runtime)
        scenario = runtime.scenario
        self.handoff_ms = toy_args(scenario).handoff_ms
        self.queues: dict[str, ToyQueue] = {}
        self.subscribers: dict[str, list[ToyQueue]] = {t.name: [] for t in scenario.topics}
        for g in scenario.groups:
            queue = ToyQueue(self, g)
            self.queues[g.name] = queue
            self.subscribers[g.topic].append(queue)
            for name in g.consumer_names():
                self.consumers[name] = ToyConsumer(runtime, self, queue, g, name)
        self._add_publishers(self._on_publish)
        self._start_consumers()

    def _on_publish(self, request: PublishRequest) -> None:
        if not self.up:
            return
        self.publish_internal(request.publisher.topic, request.msg, request.cause_seq)
        if self._crashed_before_answering():
            return
        request.publisher.confirm(request, request.cause_seq)

    def publish_internal(self, topic: str, msg: Message, cause_seq: int | None) -> None:
        """Copy ``msg`` into the queue of every group reading ``topic``."""
        for queue in self.subscribers[topic]:
            queue.put(msg, cause_seq)

    def _broker_up(self) -> None:
        for queue in self.queues.values():
            queue.dispatch()
