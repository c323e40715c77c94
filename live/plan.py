"""What of a lesson a real broker can run, and when each piece of it happens.

A lesson runs live when everything it asks for is something a client can do
to a real RabbitMQ: publish (with or without publisher confirms), consume with
a prefetch and manual or automatic acks, fail in a handler (poison and
transient errors, slow handlers, retries in place), reject or requeue, and
crash a consumer — a ``SIGKILL`` at a time or at a named point. What it cannot
do is refused in one line before anything is declared: another broker model
(no Kafka broker or SQS can be installed on these machines, so those lessons
stay simulated), an event store or stream processors, network faults (the
loopback network cannot be made to drop a confirm), crashes of a producer or
of the broker itself, and handlers that publish.

Pacing: every duration of the scenario — a message's ``at_ms``, a crash's
``at_ms`` and ``restart_after_ms``, ``processing_ms``, a slow fault's window,
a retry's backoff, and the TTLs declared on the broker (``x-message-ttl``, a
message's ``expiration``) — becomes wall-clock time divided by the *speed*: at
speed 1 a virtual millisecond takes a real one, at speed 0.5 it takes two, so
every race of the lesson (a slow consumer against a TTL) keeps its shape with
wider margins. Counts are not durations: prefetch, length limits and delivery
limits are declared as the lesson gives them.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from simulator.messages import Message
from simulator.models.rabbitmq.settings import broker_args, queue_args
from simulator.models.registry import model
from simulator.rng import SeedSequence
from simulator.scenario import Crash, NetworkFault, PartitionFault, Scenario
from simulator.workload import expand_workload

__all__ = [
    "CONSUMER_POINTS",
    "ConsumerPlan",
    "LivePlan",
    "ProducerPlan",
    "TimedCrash",
    "plan",
    "refusal",
]

LIVE_BROKER = "rabbitmq"
"""The one broker model live mode has a real target for."""

CONSUMER_POINTS = (
    "after_poll",
    "after_process_before_commit",
    "after_commit_before_process",
)
"""Named crash points a live consumer reaches (a delivery arrived; processed, not acked;
acked by auto-ack, not processed)."""


def refusal(scenario: Scenario) -> str | None:
    """Why this lesson cannot run on a real broker, or None if it can."""
    if scenario.broker != LIVE_BROKER:
        follows = model(scenario.broker).follows
        return (
            f"it runs on the {scenario.broker} model ({follows}); live mode has a RabbitMQ"
            " target only — no Kafka broker or SQS can be installed here, so it stays simulated"
        )
    if scenario.store is not None:
        return "it has an event store; live mode runs broker lessons only"
    if scenario.processors:
        return "it has stream processors or saga services; live mode runs broker lessons only"
    consumers = {c for g in scenario.groups for c in g.consumer_names()}
    for i, f in enumerate(scenario.faults):
        where = f"faults[{i}]"
        if isinstance(f, NetworkFault | PartitionFault):
            return (
                f"{where} is a network fault; the loopback network to a real broker"
                " cannot be made to drop, delay or partition"
            )
        if isinstance(f, Crash):
            if f.target not in consumers:
                return f"{where} crashes {f.target!r}; live mode kills consumer processes only"
            if f.at is not None and f.at not in CONSUMER_POINTS:
                return f"{where}: a live consumer never reaches the point {f.at!r}"
    for i, g in enumerate(scenario.groups):
        if g.output_topic is not None:
            return f"groups[{i}] publishes its output; live handlers do not publish"
        if g.commit == "transactional":
            return f"groups[{i}]: RabbitMQ has no transaction over a consumer's ack"
    return None


@dataclass(frozen=True)
class PointCrash:
    point: str
    occurrence: int
    restart_after_ms: int | None


@dataclass(frozen=True)
class TimedCrash:
    target: str
    at_ms: int
    restart_after_ms: int | None


@dataclass(frozen=True)
class PlannedMessage:
    """One message of the workload, as its producer publishes it."""

    id: int
    key: str | None
    key_seq: int
    value: str
    at_ms: int


@dataclass(frozen=True)
class ProducerPlan:
    name: str
    exchange: str
    """The lesson's exchange name."""
    confirms: bool
    expiration_ms: int | None
    messages: tuple[PlannedMessage, ...]


@dataclass(frozen=True)
class ConsumerPlan:
    name: str
    group: str
    """The group's (queue's) lesson name."""
    auto_ack: bool
    prefetch: int
    ack_multiple: int
    requeue_on_failure: bool
    has_dlx: bool
    start_ms: int
    crashes: tuple[PointCrash, ...] = ()


@dataclass(frozen=True)
class LivePlan:
    """Everything a live run does, in the scenario's virtual time."""

    scenario: Scenario
    seed: int
    producers: tuple[ProducerPlan, ...]
    consumers: tuple[ConsumerPlan, ...]
    timed_crashes: tuple[TimedCrash, ...]
    keys: tuple[str | None, ...] = field(default=())

    @property
    def until_ms(self) -> int | None:
        return self.scenario.until_ms

    def consumer(self, name: str) -> ConsumerPlan:
        return next(c for c in self.consumers if c.name == name)

    def crash_for(self, consumer: str, point: str | None, count: int) -> int | None:
        """``restart_after_ms`` of the crash that fired (None: it stays down)."""
        if point is None:
            return next(
                (c.restart_after_ms for c in self.timed_crashes if c.target == consumer), None
            )
        for c in self.consumer(consumer).crashes:
            if c.point == point and c.occurrence == count:
                return c.restart_after_ms
        return None


def plan(scenario: Scenario, seed: int | None = None) -> LivePlan:
    """The live run of a lesson that ``refusal`` accepts (the same messages as the model's)."""
    seed = scenario.seed if seed is None else seed
    messages = expand_workload(scenario, SeedSequence(seed))
    args = broker_args(scenario)
    producers = tuple(
        ProducerPlan(
            p.name,
            p.topic,
            args.publisher_confirms and p.acks != 0,
            args.message_expiration_ms.get(p.name),  # divided by the speed when published
            tuple(_planned(m) for m in messages if m.producer == p.name),
        )
        for p in scenario.producers
    )
    points: dict[str, list[PointCrash]] = {}
    timed: list[TimedCrash] = []
    for f in scenario.faults:
        if isinstance(f, Crash):
            if f.at is not None:
                points.setdefault(f.target, []).append(
                    PointCrash(f.at, f.occurrence, f.restart_after_ms)
                )
            elif f.at_ms is not None:
                timed.append(TimedCrash(f.target, f.at_ms, f.restart_after_ms))
    consumers = []
    for g in scenario.groups:
        q = queue_args(g)
        for name in g.consumer_names():
            consumers.append(
                ConsumerPlan(
                    name=name,
                    group=g.name,
                    auto_ack=g.commit == "before-process",
                    prefetch=q.prefetch,
                    ack_multiple=q.ack_multiple,
                    requeue_on_failure=q.requeue_on_failure,
                    has_dlx=g.dead_letter_topic is not None,
                    start_ms=g.start_ms,
                    crashes=tuple(points.get(name, [])),
                )
            )
    return LivePlan(
        scenario,
        seed,
        producers,
        tuple(consumers),
        tuple(sorted(timed, key=lambda c: c.at_ms)),
        tuple(m.key for m in messages),
    )


def _planned(m: Message) -> PlannedMessage:
    return PlannedMessage(m.id, m.key, m.key_seq, m.value, m.at_ms)
