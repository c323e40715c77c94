"""Messages as the application sees them, independent of any broker.

A message gets its id (``m1``, ``m2`` …) and, if it has a key, its place in
that key's sequence when the workload produces it. The checker judges every
broker by these two numbers: the same id processed twice by one group is a
duplicate; a lower key sequence after a higher one is out of order.
"""

from __future__ import annotations

__all__ = ["Message"]


class Message:
    """One application message (shared by every copy a broker makes of it)."""

    __slots__ = ("at_ms", "id", "key", "key_seq", "producer", "tombstone", "value")

    def __init__(
        self,
        id: int,
        producer: str,
        key: str | None,
        key_seq: int,
        value: str,
        at_ms: int,
        tombstone: bool = False,
    ) -> None:
        self.id = id
        self.producer = producer
        self.key = key
        self.key_seq = key_seq
        self.value = value
        self.at_ms = at_ms
        self.tombstone = tombstone

    def __repr__(self) -> str:
        return f"Message(m{self.id}, key={self.key!r}, key_seq={self.key_seq})"
