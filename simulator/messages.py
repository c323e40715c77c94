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

__all__ = ["Message"]


class Message:
    """One application message (shared by every copy a broker makes of it)."""

    __slots__ = (
        "at_ms",
        "dedup_id",
        "event_time_ms",
        "id",
        "key",
        "key_seq",
        "producer",
        "tombstone",
        "value",
    )

    def __init__(
        self,
        id: int,
        producer: str,
        key: str | None,
        key_seq: int,
        value: str,
        at_ms: int,
        tombstone: bool = False,
        event_time_ms: int | None = None,
        dedup_id: str | None = None,
    ) -> None:
        self.id = id
        self.producer = producer
        self.key = key
        self.key_seq = key_seq
        self.value = value
        self.at_ms = at_ms
        self.tombstone = tombstone
        self.event_time_ms = at_ms if event_time_ms is None else event_time_ms
        """When the event happened (defaults to the send time, like Kafka's CreateTime)."""
        self.dedup_id = dedup_id
        """A deduplication id the sender chose (an SQS FIFO ``MessageDeduplicationId``)."""

    def __repr__(self) -> str:
        return f"Message(m{self.id}, key={self.key!r}, key_seq={self.key_seq})"
