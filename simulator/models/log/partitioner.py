"""Which partition a record goes to: Kafka's default partitioner, exactly.

A keyed record goes to ``toPositive(murmur2(key bytes)) % partitions`` — the
same function Kafka's Java client uses (``Utils.murmur2``, seed 0x9747b28c), so
a student can predict where a real cluster would put a key. All records with
one key land in one partition, which is why order holds *per key*. Unkeyed
records are spread: ``round-robin`` cycles through partitions record by record;
``sticky`` (the default since Kafka 2.4) fills a batch for one partition before
moving on, which batches better but bunches records together.
"""

from __future__ import annotations

__all__ = ["Partitioner", "murmur2", "partition_for_key", "to_positive"]

_MASK = 0xFFFFFFFF
_M = 0x5BD1E995
_SEED = 0x9747B28C


def murmur2(data: bytes) -> int:
    """Kafka's 32-bit murmur2 of ``data``, as a signed Java int."""
    length = len(data)
    h = (_SEED ^ length) & _MASK
    tail = length & ~3
    for i in range(0, tail, 4):
        k = data[i] | (data[i + 1] << 8) | (data[i + 2] << 16) | (data[i + 3] << 24)
        k = (k * _M) & _MASK
        k ^= k >> 24
        k = (k * _M) & _MASK
        h = (h * _M) & _MASK
        h ^= k
    rest = length & 3
    if rest == 3:
        h ^= data[tail + 2] << 16
    if rest >= 2:
        h ^= data[tail + 1] << 8
    if rest >= 1:
        h ^= data[tail]
        h = (h * _M) & _MASK
    h ^= h >> 13
    h = (h * _M) & _MASK
    h ^= h >> 15
    return h - (1 << 32) if h & 0x80000000 else h


def to_positive(n: int) -> int:
    """Kafka's ``Utils.toPositive``: clear the sign bit (not ``abs``, which overflows)."""
    return n & 0x7FFFFFFF


def partition_for_key(key: str, partitions: int) -> int:
    """The partition Kafka's default partitioner picks for a string key (UTF-8 bytes)."""
    return to_positive(murmur2(key.encode("utf-8"))) % partitions


class Partitioner:
    """Chooses partitions for one producer's records to one topic."""

    __slots__ = ("_count", "_next", "_sent_to_current", "batch", "keyed", "partitions", "strategy")

    def __init__(self, partitions: int, strategy: str, batch: int = 16) -> None:
        self.partitions = partitions
        self.strategy = strategy
        self.batch = batch
        self._next = 0
        self._sent_to_current = 0
        self._count = 0
        self.keyed: dict[str, int] = {}
        """Key → its partition, for the keys seen so far (a producer reads it per record)."""

    def choose(self, key: str | None) -> int:
        if key is not None:
            p = self.keyed.get(key)
            if p is None:
                p = partition_for_key(key, self.partitions)
                self.keyed[key] = p
            return p
        if self.strategy == "round-robin":
            p = self._next
            self._next = (p + 1) % self.partitions
            return p
        # sticky: stay on one partition for a batch, then move to the next
        if self._sent_to_current >= self.batch:
            self._next = (self._next + 1) % self.partitions
            self._sent_to_current = 0
        self._sent_to_current += 1
        return self._next
