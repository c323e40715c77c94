"""One SQS situation, described once: played on moto (boto3) and on evsim's SQS-style model.

A situation is a queue (standard or FIFO, its visibility timeout, a redrive
policy, content-based deduplication), the messages sent to it (a FIFO message
group, an SDK resend with the same deduplication id), and consumers running
the usual loop — receive, process, delete — where some messages fail (they
are simply not deleted) and the first consumer may *hold* its first receive:

- ``until-redelivered``: past the visibility timeout, until another consumer
  has received the same message (a consumer slower than its timeout);
- ``past-visibility``: for the visibility timeout and a margin, extending it
  with ``ChangeMessageVisibility`` first (``extend``), so nobody else may get it;
- ``until-others-idle``: until the other consumers find nothing to receive
  (a FIFO group stays locked meanwhile).

The outcome, in the same notation on both sides: each consumer's receives as
``m1#2`` (message ``m1`` on its 2nd receive), what the redrive policy moved to
the DLQ, and what a FIFO queue took from the sends. Orders and sets, never
timings; ``sqs_real`` waits for conditions, with deadlines.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Literal

Hold = Literal["until-redelivered", "past-visibility", "until-others-idle"]


@dataclass(frozen=True)
class Send:
    name: str
    group: str | None = None
    """FIFO ``MessageGroupId`` (the message key in the model)."""
    body: str | None = None
    """The body (default: the name); equal bodies collide under content-based dedup."""
    resent: bool = False
    """The SDK sends it twice with the same deduplication id (its first response was lost)."""
    dedup_id: str | None = None
    """A ``MessageDeduplicationId`` set by hand (default: the name)."""

    @property
    def text(self) -> str:
        return self.body if self.body is not None else self.name


@dataclass(frozen=True)
class SqsSituation:
    name: str
    sends: tuple[Send, ...]
    fifo: bool = False
    visibility_timeout_s: int = 1
    max_receive_count: int | None = None
    content_based_dedup: bool = False
    consumers: tuple[str, ...] = ("c0",)
    batch_size: int = 1
    poison: tuple[str, ...] = ()
    """Messages every receive fails on (never deleted)."""
    fail_first_receive: bool = False
    """Every message's first receive fails; later ones succeed."""
    hold: Hold | None = None
    """How long the first consumer holds its first receive before processing it."""
    extend: bool = False
    release_first_receive: bool = False
    """Instead of failing, ``ChangeMessageVisibility(0)``: give it back at once."""


@dataclass
class SqsOutcome:
    receives: dict[str, str] = field(default_factory=dict)
    dead_letters: str = ""
    groups: dict[str, str] = field(default_factory=dict)
    """FIFO: every message received, in receive order, per message group."""

    def aspect(self, name: str) -> object:
        return getattr(self, name)


def receive_mark(name: str, count: int) -> str:
    return f"{name}#{count}"
