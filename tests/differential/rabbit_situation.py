"""One RabbitMQ situation, described once, and the outcome a run of it shows.

A *situation* is a queue (its type and arguments), what is published to it
(with or without publisher confirms, with or without a per-message TTL), and
scripted consumers. ``rabbit_real`` plays it against a real broker through
pika; ``rabbit_model`` turns it into an evsim scenario and reads the trace.
Both return an ``Outcome`` written in the same notation, so a test compares
orders and sets, never timings.

The timeline is the same on both sides:

1. the queue is declared (bound to a fanout exchange ``jobs``; with a DLX, its
   dead letters go to the exchange ``jobs-dlx`` and the queue ``dead``);
2. consumers attach first if ``consumers_first`` (dispatch situations);
3. the messages are published, in order;
4. with a ``ttl_witness_ms``, a second queue ``witness`` with that
   ``x-message-ttl`` gets a copy of every message; once it is empty, that
   much time has certainly passed (a condition to wait for, not a sleep);
5. otherwise the consumers attach now, in order, after the number of ready
   messages is read (``waiting``);
6. each consumer lives through its *sessions*, one channel each: it acks or
   holds what it gets, and closes the channel after ``close_after``
   deliveries (unacked deliveries go back to the queue); the next session
   opens a new channel once every message is accounted for again;
7. the run ends once every accepted message is settled (acked, dead-lettered,
   dropped), held, or ready with no consumer room left — or after
   ``observe`` deliveries for a requeue loop that would never end.

Notation: a delivery is ``m3``, or ``m3(r)`` when flagged redelivered; a
consumer's deliveries are keyed ``a#1`` (consumer ``a``, first session);
``x-delivery-count`` is ``-`` when the header is absent.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Literal

from live.outcome import delivery
from live.topology import queue_arguments

__all__ = ["delivery"]  # the notation is live mode's own (``live.outcome``)

QueueType = Literal["classic", "quorum"]
Settle = Literal["ack", "hold"]
PoisonSettle = Literal["nack-requeue", "nack", "reject"]

ASPECTS = (
    "confirms",
    "waiting",
    "deliveries",
    "dead_letters",
    "x_death",
    "delivery_counts",
)
"""What a run shows, one test per aspect: publisher confirms (ack/nack per
confirmed publish), ready messages when the consumers attach, deliveries per
consumer session, what reached the dead-letter queue (message and reason),
the full ``x-death`` header there, and quorum ``x-delivery-count`` headers."""


@dataclass(frozen=True)
class Session:
    """One channel of a consumer: what it does with each delivery, and when it closes."""

    settle: Settle = "ack"
    """``ack`` each delivery (``basic.ack``) or ``hold`` it unacked until the channel closes."""
    close_after: int | None = None
    """Close the channel after this many deliveries (the last one not acked)."""
    ack_multiple: int = 1
    """Ack with ``multiple=true`` once every this many deliveries."""


@dataclass(frozen=True)
class Consumer:
    name: str
    sessions: tuple[Session, ...] = (Session(),)


@dataclass(frozen=True)
class Publish:
    name: str
    """``m1``, ``m2`` … in publishing order (the model numbers messages the same way)."""
    expiration_ms: int | None = None
    """The per-message TTL (the ``expiration`` property)."""
    confirm: bool = True
    """Wait for the publisher confirm (``basic.ack``/``basic.nack``) of this message."""


@dataclass(frozen=True)
class QueueArgs:
    type: QueueType = "classic"
    message_ttl_ms: int | None = None
    max_length: int | None = None
    overflow: Literal["drop-head", "reject-publish", "reject-publish-dlx"] | None = None
    delivery_limit: int | None = None
    dead_letter_exchange: bool = False

    def arguments(self, dlx_name: str) -> dict[str, object]:
        """The ``queue.declare`` arguments of this queue (as live mode declares them)."""
        return queue_arguments(
            queue_type=self.type,
            message_ttl_ms=self.message_ttl_ms,
            max_length=self.max_length,
            overflow=self.overflow,
            delivery_limit=self.delivery_limit,
            dead_letter_exchange=dlx_name if self.dead_letter_exchange else None,
        )


@dataclass(frozen=True)
class Situation:
    name: str
    queue: QueueArgs
    publishes: tuple[Publish, ...]
    consumers: tuple[Consumer, ...] = ()
    prefetch: int = 0
    """``basic.qos`` prefetch count of every consumer (0 = unlimited)."""
    consumers_first: bool = False
    poison: tuple[str, ...] = ()
    """Messages every consumer fails on, every time, and settles with ``poison_settle``."""
    poison_settle: PoisonSettle = "reject"
    observe: int | None = None
    """Stop after this many deliveries (a requeue loop never ends on its own)."""
    ttl_witness_ms: int | None = None


def publishes(*names: str, confirm: bool = True) -> tuple[Publish, ...]:
    return tuple(Publish(n, confirm=confirm) for n in names)


def messages(n: int, *, confirm: bool = True) -> tuple[Publish, ...]:
    return publishes(*(f"m{i}" for i in range(1, n + 1)), confirm=confirm)


# -- outcomes ------------------------------------------------------------------------------


@dataclass
class Outcome:
    """What one run showed, in the notation of the references."""

    confirms: str = ""
    waiting: int | None = None
    deliveries: dict[str, str] = field(default_factory=dict)
    dead_letters: str = ""
    x_death: dict[str, dict[str, object]] = field(default_factory=dict)
    delivery_counts: dict[str, str] = field(default_factory=dict)

    def aspect(self, name: str) -> object:
        return getattr(self, name)


def delivery_count(value: object) -> str:
    return "-" if value is None else str(int(value))  # type: ignore[call-overload]


@dataclass(frozen=True)
class Racy:
    """A reference that is a property, not one value: the real outcome depends on timing."""

    description: str
    holds: Callable[[object], bool]

    def __repr__(self) -> str:
        return f"Racy({self.description})"


def matches(expected: object, actual: object) -> bool:
    if isinstance(expected, Racy):
        return expected.holds(actual)
    return expected == actual
