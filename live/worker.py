"""The processes of a live run: one per producer, one per consumer.

Each is a real operating-system process with its own connection to the
broker, so that killing one is what killing a service is: the broker sees the
connection drop and requeues what that consumer had not acknowledged. Each
writes what it observes to its own file (``live.events``).

A **producer** waits for the run to start, then publishes each of its messages
when it is due (``at_ms`` divided by the speed), persistent, to its exchange
with the message key as routing key; the message's evsim identity (``m7``, its
key and place in the key's order) rides in its headers. With publisher
confirms on, each publish waits for the broker's ``basic.ack`` (``Acked``) or
``basic.nack`` (``ProduceFailed``); without them a message counts as sent when
it leaves, as in the model.

A **consumer** sets its prefetch (``basic.qos``), waits until the run lets it
subscribe (``basic.consume``; the run subscribes consumers one by one, so the
broker's round-robin starts where the model's does), and then does two things
at once, as a real client does: its connection thread takes deliveries as the
broker pushes them (``Delivered``, into an inbox) and sends acks and nacks; its
handler thread works through the inbox one message at a time (``Processed``,
or ``ProcessingFailed`` and a retry in place, then ``Nacked``). A crash at a
named point is the consumer writing ``Crashed`` and sending itself ``SIGKILL``.
"""

from __future__ import annotations

import contextlib
import functools
import os
import queue
import signal
import threading
import time
from collections import Counter
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

import msgspec

from live.broker import BrokerAddress, connect
from live.events import EventLog
from live.handler import LessonHandler, MessageHandler
from live.message import (
    LiveMessage,
    delivery_count,
    identity_headers,
    latest_death,
    message_of,
)
from live.plan import ConsumerPlan, ProducerPlan
from live.topology import wall_ms
from simulator.retry import backoff_ms, may_retry
from simulator.rng import SeedSequence
from simulator.scenario import Scenario

if TYPE_CHECKING:
    from multiprocessing.connection import Connection
    from multiprocessing.sharedctypes import Synchronized
    from multiprocessing.synchronize import Event

    from pika import BlockingConnection
    from pika.adapters.blocking_connection import BlockingChannel

__all__ = ["Controls", "Setup", "run_consumer", "run_producer"]


@dataclass(frozen=True)
class Setup:
    """What every process of one run shares."""

    url: str
    prefix: str
    scenario_json: bytes
    """The scenario, as JSON: its class is built at run time from the model registry's
    sections, so it travels as data and is decoded again in each process."""
    seed: int
    speed: float
    log_dir: str

    @classmethod
    def of(
        cls, url: str, prefix: str, scenario: Scenario, seed: int, speed: float, log_dir: str
    ) -> Setup:
        return cls(url, prefix, msgspec.json.encode(scenario), seed, speed, log_dir)

    @functools.cached_property
    def scenario(self) -> Scenario:
        from simulator.models.registry import scenario_type

        decoded: Scenario = msgspec.json.decode(self.scenario_json, type=scenario_type())
        return decoded


@dataclass(frozen=True)
class Controls:
    """How the run and one process signal each other (``multiprocessing`` events)."""

    connected: Event
    """Set by the process once its channel is open."""
    start: Event
    """Set by the run: a consumer may subscribe; a producer may start publishing."""
    subscribed: Event
    """Set by a consumer once ``basic.consume`` is answered."""
    t0_ns: Synchronized[int]
    """``time.monotonic_ns()`` of the run's start, written by the run before ``start``."""
    lifeline: Connection
    """The reading end of a pipe only the run can write to: end-of-file means it is gone."""


def _exit_with_the_run(controls: Controls) -> None:
    # At the end of a run the remaining processes are told to go; nothing they
    # still hold matters then, so there is nothing to clean up.
    signal.signal(signal.SIGTERM, lambda *_: os._exit(0))

    # A run killed outright cannot tell them. Only the run holds the other end of
    # the lifeline: when it dies the pipe reads end-of-file, and the worker goes
    # too instead of consuming for ever.
    def watch() -> None:
        with contextlib.suppress(EOFError, OSError):
            controls.lifeline.recv()
        os._exit(0)

    threading.Thread(target=watch, name="lifeline", daemon=True).start()


def _wait(conn: BlockingConnection, event: Event) -> None:
    """Wait for ``event``, keeping the connection serviced (heartbeats)."""
    while not event.wait(0.02):
        conn.process_data_events(time_limit=0)


def _log(setup: Setup, name: str, incarnation: int) -> EventLog:
    return EventLog(Path(setup.log_dir) / f"{name}.{incarnation}.jsonl")


# -- producers -----------------------------------------------------------------------------


def run_producer(setup: Setup, plan: ProducerPlan, controls: Controls) -> None:
    """The producer process: publish every message when it is due."""
    _exit_with_the_run(controls)
    log = _log(setup, plan.name, 1)
    try:
        _produce(setup, plan, controls, log)
    except Exception as err:
        log.write("WorkerFailed", plan.name, error=f"{type(err).__name__}: {err}")
        raise SystemExit(3) from None


def _produce(setup: Setup, plan: ProducerPlan, controls: Controls, log: EventLog) -> None:
    import pika
    from pika.exceptions import NackError

    conn = connect(BrokerAddress.parse(setup.url))
    channel = conn.channel()
    if plan.confirms:
        channel.confirm_delivery()
    controls.connected.set()
    _wait(conn, controls.start)
    t0 = controls.t0_ns.value
    exchange = setup.prefix + plan.exchange
    for m in plan.messages:
        due = t0 + int(m.at_ms / setup.speed * 1_000_000)
        late_s = (due - time.monotonic_ns()) / 1e9
        if late_s > 0:
            conn.sleep(late_s)
        log.write(
            "Produced",
            plan.name,
            producer=plan.name,
            msg=m.id,
            key=m.key,
            key_seq=m.key_seq,
            topic=plan.exchange,
        )
        props = pika.BasicProperties(
            delivery_mode=2,
            headers=identity_headers(m.id, m.key, m.key_seq, plan.name),
            expiration=None
            if plan.expiration_ms is None
            else str(wall_ms(plan.expiration_ms, setup.speed)),
        )
        try:
            channel.basic_publish(exchange, m.key or "", m.value.encode(), props)
        except NackError:
            log.write(
                "ProduceFailed",
                plan.name,
                producer=plan.name,
                msg=m.id,
                reason="basic.nack: a queue refused it (x-overflow reject-publish)",
            )
            continue
        log.write(
            "Acked",
            plan.name,
            producer=plan.name,
            msg=m.id,
            topic=plan.exchange,
            partition=None,
            offset=None,
        )
    conn.close()


# -- consumers -----------------------------------------------------------------------------


def run_consumer(
    setup: Setup,
    plan: ConsumerPlan,
    incarnation: int,
    arrivals: dict[str, int],
    controls: Controls,
) -> None:
    """The consumer process (``incarnation`` 2, 3 … after restarts)."""
    _exit_with_the_run(controls)
    log = _log(setup, plan.name, incarnation)
    try:
        LiveConsumer(setup, plan, incarnation, arrivals, controls, log).run()
    except Exception as err:
        log.write("WorkerFailed", plan.name, error=f"{type(err).__name__}: {err}")
        raise SystemExit(3) from None


class LiveConsumer:
    """One consumer on one queue: a connection thread and a handler thread."""

    def __init__(
        self,
        setup: Setup,
        plan: ConsumerPlan,
        incarnation: int,
        arrivals: dict[str, int],
        controls: Controls,
        log: EventLog,
    ) -> None:
        self.setup = setup
        self.plan = plan
        self.name = plan.name
        self.group = plan.group
        self.topic = next(g.topic for g in setup.scenario.groups if g.name == plan.group)
        self.incarnation = incarnation
        self.controls = controls
        self.log = log
        self.arrivals: Counter[str] = Counter(arrivals)
        """Times this consumer reached each crash point, over all its incarnations."""
        self.inbox: queue.Queue[tuple[int, LiveMessage]] = queue.Queue()
        self.unacked: dict[int, int] = {}
        """Delivery tag → message, not yet acked or nacked (the connection thread's)."""
        self.conn = connect(BrokerAddress.parse(setup.url))
        self.channel: BlockingChannel = self.conn.channel()
        if not plan.auto_ack:
            self.channel.basic_qos(prefetch_count=plan.prefetch)
        self.handler: MessageHandler = LessonHandler(
            setup.scenario, setup.seed, plan.group, plan.name, self.virtual_now_ms, setup.speed
        )
        self._retry_rng = SeedSequence(setup.seed).stream(f"retry:{plan.group}")
        self._policy = next(g.retry for g in setup.scenario.groups if g.name == plan.group)

    def _lesson_name(self, broker_name: str) -> str:
        return broker_name.removeprefix(self.setup.prefix)

    def virtual_now_ms(self) -> int:
        """The run's virtual time: wall-clock time since the start, times the speed."""
        elapsed_ms = (time.monotonic_ns() - self.controls.t0_ns.value) / 1_000_000
        return int(elapsed_ms * self.setup.speed)

    def run(self) -> None:
        self.controls.connected.set()
        _wait(self.conn, self.controls.start)
        if self.incarnation > 1:
            self.log.write("Restarted", self.name)
        self.channel.basic_consume(
            self.setup.prefix + self.group, self._on_delivery, auto_ack=self.plan.auto_ack
        )
        self.controls.subscribed.set()
        threading.Thread(target=self._work, name="handler", daemon=True).start()
        self.channel.start_consuming()

    # -- the connection thread ----------------------------------------------------------------

    def _on_delivery(self, ch: Any, method: Any, props: Any, body: bytes) -> None:
        message = message_of(props.headers, body, bool(method.redelivered))
        # A message that came through a dead-letter exchange: its Delivered record is
        # placed after the tap's DeadLettered for that dead-lettering (live.assemble).
        death = latest_death(props.headers, self._lesson_name)
        self.log.write(
            "Delivered",
            self.name,
            meta=None if death is None else {"after": death.event(message.msg)},
            group=self.group,
            consumer=self.name,
            msg=message.msg,
            key=message.key,
            topic=self.topic,
            partition=None,
            offset=None,
            redelivered=message.redelivered,
            delivery_count=delivery_count(props.headers),
        )
        tag = int(method.delivery_tag)
        if not self.plan.auto_ack:
            self.unacked[tag] = message.msg
        self._arrive("after_poll")
        if self.plan.auto_ack:
            self._arrive("after_commit_before_process")
        self.inbox.put((tag, message))

    def _ack(self, tag: int, multiple: bool) -> None:
        tags = [t for t in self.unacked if t <= tag] if multiple else [tag]
        tags = [t for t in tags if t in self.unacked]
        if not tags:
            return
        msg = self.unacked[tags[-1]]
        for t in tags:
            del self.unacked[t]
        self.log.write(
            "DeliveryAcked",
            self.name,
            group=self.group,
            consumer=self.name,
            msg=msg,
            delivery_tag=tags[-1],
            multiple=multiple,
            count=len(tags),
        )
        self.channel.basic_ack(tag, multiple=multiple)

    def _nack(self, tag: int, requeue: bool) -> None:
        msg = self.unacked.pop(tag)
        self.log.write(
            "Nacked",
            self.name,
            group=self.group,
            consumer=self.name,
            msg=msg,
            delivery_tag=tag,
            requeue=requeue,
        )
        self.channel.basic_nack(tag, requeue=requeue)
        if not requeue and not self.plan.has_dlx:
            # The client knows its queue has no DLX: the broker drops what it rejects.
            self.log.write(
                "Skipped",
                self.name,
                group=self.group,
                consumer=self.name,
                msg=msg,
                reason="rejected without requeue; no dead-letter exchange: dropped",
            )

    def _arrive(self, point: str) -> None:
        """Count one arrival at ``point``; crash here if the fault plan says so."""
        self.arrivals[point] += 1
        count = self.arrivals[point]
        for crash in self.plan.crashes:
            if crash.point == point and crash.occurrence == count:
                self.log.write("Crashed", self.name, point=point)
                os.kill(os.getpid(), signal.SIGKILL)

    def _later(self, action: Any, *args: Any) -> None:
        """Run ``action`` on the connection thread (pika's channels are not thread-safe)."""
        self.conn.add_callback_threadsafe(functools.partial(action, *args))

    # -- the handler thread -------------------------------------------------------------------

    def _work(self) -> None:
        done_unacked = 0
        while True:
            tag, message = self.inbox.get()
            error, attempt = self._handle(message)
            if error is None:
                self.log.write(
                    "Processed",
                    self.name,
                    group=self.group,
                    consumer=self.name,
                    msg=message.msg,
                    key=message.key,
                    key_seq=message.key_seq,
                    topic=self.topic,
                    partition=None,
                    offset=None,
                )
                if self.plan.auto_ack:
                    continue
                self._arrive("after_process_before_commit")
                done_unacked += 1
                # As in the model: ack once per ``ack_multiple``, and whenever the inbox is empty.
                if done_unacked >= self.plan.ack_multiple or self.inbox.empty():
                    self._later(self._ack, tag, self.plan.ack_multiple > 1)
                    done_unacked = 0
                continue
            if self.plan.auto_ack:
                self.log.write(
                    "Skipped",
                    self.name,
                    group=self.group,
                    consumer=self.name,
                    msg=message.msg,
                    reason=f"{error} error after {attempt} attempt(s); auto-ack: already gone",
                )
                continue
            requeue = self.plan.requeue_on_failure
            if requeue:
                self.log.write(
                    "RetryScheduled",
                    self.name,
                    group=self.group,
                    consumer=self.name,
                    msg=message.msg,
                    attempt=attempt + 1,
                    delay_ms=0,
                    via="requeue",
                )
            self._later(self._nack, tag, requeue)

    def _handle(self, message: LiveMessage) -> tuple[str | None, int]:
        """Run the handler, retrying in place as the group's policy says; (error, tries)."""
        attempt = 1
        while True:
            error = self.handler.handle(message)
            if error is None:
                return None, attempt
            self.log.write(
                "ProcessingFailed",
                self.name,
                group=self.group,
                consumer=self.name,
                msg=message.msg,
                error=error,
                attempt=attempt,
            )
            if not may_retry(self._policy, attempt):
                return error, attempt
            delay = backoff_ms(self._policy, attempt, self._retry_rng)
            self.log.write(
                "RetryScheduled",
                self.name,
                group=self.group,
                consumer=self.name,
                msg=message.msg,
                attempt=attempt + 1,
                delay_ms=delay,
                via=None,
            )
            time.sleep(delay / 1000 / self.setup.speed)
            attempt += 1
