"""Messages as the application sees them, independent of any broker.

A message gets its id (``m1``, ``m2`` …) and, if it has a key, its place in
that key's sequence when the workload produces it. The checker judges every
broker by these two numbers: the same id processed twice by one group is a
duplicate; a lower key sequence after a higher one is out of order.

A message may also carry an *event time* (``event_time_ms``): when the thing
it reports happened, as opposed to when it was sent (``at_ms``). Stream
processors window by it; a phone that was offline sends old event times late.
"""

from __future__ import annotations

import msgspec

__all__ = ["DetailedMessage", "GeneratedMessage", "Message"]


class Message(msgspec.Struct, gc=False, eq=False):
    """One application message (shared by every copy a broker makes of it).

    A message holds only numbers and strings, never another object, so it can
    take part in no reference cycle: ``gc=False`` keeps the cyclic garbage
    collector from tracking (and rescanning) the millions a long run creates.
    ``eq=False``: two messages are the same message only if they are one object.

    Most messages are plain: a payload, a key, a send time. The rarer details —
    a tombstone, an event time, a deduplication id — are a ``DetailedMessage``'s;
    a plain message reads as having none. Three fields fewer make a message 64
    bytes instead of 96, and a run keeps every message to its end.
    """

    id: int
    producer: str
    key: str | None
    key_seq: int
    body: str
    """The payload, as the sender wrote it (read it as ``value``)."""
    at_ms: int

    tombstone = False
    """A null value: on a compacted topic, a delete marker for its key. Not a field
    here but a class attribute (a ``DetailedMessage`` has the field): every append
    reads it, and a property would cost twice the time."""

    @property
    def value(self) -> str:
        """The payload."""
        return self.body

    @property
    def event_time(self) -> int | None:
        """When the event happened, if the sender said; None: when it was sent."""
        return None

    @event_time.setter
    def event_time(self, value: int | None) -> None:
        self._plain("an event time")

    @property
    def dedup_id(self) -> str | None:
        """A deduplication id the sender chose (an SQS FIFO ``MessageDeduplicationId``)."""
        return None

    @dedup_id.setter
    def dedup_id(self, value: str | None) -> None:
        self._plain("a deduplication id")

    @property
    def event_time_ms(self) -> int:
        """When the event happened (defaults to the send time, like Kafka's CreateTime)."""
        event_time = self.event_time
        return self.at_ms if event_time is None else event_time

    @event_time_ms.setter
    def event_time_ms(self, value: int) -> None:
        self.event_time = value

    def _plain(self, detail: str) -> None:
        raise AttributeError(f"m{self.id} is a plain Message: a DetailedMessage has {detail}")

    def __repr__(self) -> str:
        return f"Message(m{self.id}, key={self.key!r}, key_seq={self.key_seq})"


class DetailedMessage(Message, gc=False, eq=False):
    """A message with the details a plain one lacks; built where any may be set."""

    tombstone: bool = False
    event_time: int | None = None
    dedup_id: str | None = None


class GeneratedMessage(Message, gc=False, eq=False):
    """A message of a workload generator, whose payload is its prefix and its number.

    A generator's ``i``-th message carries ``f"{value_prefix}{i}"``. Stored, that
    string would be the largest part of the message (about 56 bytes beside the
    struct's 88); it is built when read instead, which is seldom (a poison rule,
    a stream processor). ``body`` holds the prefix, and the number is ``id - 1``:
    the workload builds these only for a lone generator, whose ``i``-th message
    is ``m{i + 1}``.
    """

    @property
    def value(self) -> str:
        """The payload: the generator's prefix and the message's number in it."""
        return f"{self.body}{self.id - 1}"
