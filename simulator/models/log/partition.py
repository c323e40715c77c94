"""A partition: an ordered, append-only log addressed by offsets.

Every record appended gets the next offset, and offsets never change — not
when retention deletes old records (the *log start offset* moves up) and not
when compaction removes superseded values (offsets just become sparse). A
consumer's position is simply the next offset it will read. Order is
guaranteed inside one partition and nowhere else.

In a cluster (``simulator.models.log.cluster``) the partition a client sees is
its leader's replica, and consumers read only below the *high watermark*
(``hw``): the records every in-sync replica has. With one broker ``hw`` is None
and every appended record is readable at once.

Transactions add a twist: records written inside an open transaction sit in the
log already. ``read_uncommitted`` readers (Kafka's default) see them at once,
even if the transaction later aborts; ``read_committed`` readers stop at the
first open transaction (the *last stable offset*) and skip aborted records.
"""

from __future__ import annotations

from bisect import bisect_left
from collections.abc import Callable
from operator import attrgetter

import msgspec

from simulator.messages import Message

__all__ = ["Entry", "Partition"]


class Entry(msgspec.Struct, gc=False, eq=False):
    """One record in a partition's log.

    Like a message, an entry refers to nothing that could refer back to it, so
    the cyclic garbage collector need not track it (``gc=False``): a long run
    keeps millions of entries, and scanning them again and again would cost
    more the longer the log grows.
    """

    offset: int
    msg: Message
    timestamp_ms: int
    appended_seq: int
    txn: str | None = None
    due_ms: int = 0
    """For retry topics: not to be processed before this time."""
    level: int = 0
    """For retry topics: how many retry topics the message has been through."""
    seen_by_cleaner: bool = False
    """A tombstone survives the first compaction pass that sees it."""


_offset_of = attrgetter("offset")


class Partition:
    """The log of one partition of one topic."""

    __slots__ = (
        "delayed",
        "dense",
        "entries",
        "hw",
        "index",
        "log_start_offset",
        "name",
        "next_offset",
        "producer_state",
        "topic",
        "tp",
        "waiters",
    )

    def __init__(self, topic: str, index: int) -> None:
        self.topic = topic
        self.index = index
        self.name = f"{topic}/{index}"
        self.tp = (topic, index)
        """The ``(topic, partition)`` pair that names it in assignments and offsets."""
        self.entries: list[Entry] = []
        self.log_start_offset = 0
        self.next_offset = 0
        """The log end offset: where the next append goes."""
        self.dense = True
        """True until compaction leaves gaps between offsets."""
        self.delayed = False
        """A retry topic's partition: records wait until their ``due_ms``."""
        self.producer_state: dict[str, dict[int, int]] = {}
        """Idempotence: producer id → {batch base seq → first offset; -1 → next expected seq}."""
        self.waiters: dict[str, Callable[[], None]] = {}
        """Consumers long-polling this partition, woken by the next append."""
        self.hw: int | None = None
        """In a cluster, the high watermark: consumers read only below it (None: no limit)."""

    def index_of(self, offset: int) -> int:
        """Index in ``entries`` of the first record at or after ``offset``."""
        if self.dense:
            return max(0, offset - self.log_start_offset)
        return bisect_left(self.entries, offset, key=_offset_of)

    def read(
        self,
        position: int,
        max_records: int,
        read_committed: bool,
        txn_state: dict[str, str],
        now_ms: int,
    ) -> tuple[list[Entry], int]:
        """Records from ``position`` on, and the position after what was read.

        The returned position can move past records a reader must not see
        (aborted ones under ``read_committed``) even when no record is returned.
        """
        start = self.index_of(position)
        entries = self.entries
        hw = self.hw
        if not read_committed and not self.delayed:
            end = start + max_records
            if hw is not None:
                end = min(end, self.index_of(hw))
            batch = entries[start:end]
            return batch, (batch[-1].offset + 1 if batch else position)
        batch = []
        for i in range(start, len(entries) if hw is None else self.index_of(hw)):
            if len(batch) >= max_records:
                break
            e = entries[i]
            if e.due_ms > now_ms:
                break
            if e.txn is not None and read_committed:
                state = txn_state.get(e.txn, "open")
                if state == "open":
                    break
                if state == "aborted":
                    position = e.offset + 1
                    continue
            batch.append(e)
            position = e.offset + 1
        return batch, position

    @property
    def readable_end(self) -> int:
        """The offset after the last record a consumer may read (Kafka's "latest")."""
        return self.next_offset if self.hw is None else self.hw

    def truncate_to(self, keep: int) -> int:
        """Retention by count: drop the oldest records so at most ``keep`` remain."""
        excess = len(self.entries) - keep
        if excess <= 0:
            return 0
        del self.entries[:excess]
        self.log_start_offset = self.entries[0].offset if self.entries else self.next_offset
        return excess

    def truncate_before(self, cutoff_ms: int) -> int:
        """Retention by time: drop records older than ``cutoff_ms``."""
        n = 0
        for e in self.entries:
            if e.timestamp_ms >= cutoff_ms:
                break
            n += 1
        if n:
            del self.entries[:n]
            self.log_start_offset = self.entries[0].offset if self.entries else self.next_offset
        return n

    def compact(self, active_from: int) -> tuple[int, int, list[int]]:
        """Keep only the latest record per key below ``active_from`` (the active segment).

        Returns (records removed, tombstones removed, ids of the removed
        messages). A tombstone survives one pass so readers can see the
        delete, and is removed on the next.
        """
        latest: dict[str, int] = {}
        for e in self.entries:
            if e.offset < active_from and e.msg.key is not None:
                latest[e.msg.key] = e.offset
        kept: list[Entry] = []
        gone: list[int] = []
        removed = tombstones = 0
        for e in self.entries:
            key = e.msg.key
            if e.offset >= active_from or key is None:
                kept.append(e)
            elif latest[key] != e.offset:
                removed += 1
                gone.append(e.msg.id)
            elif e.msg.tombstone and e.seen_by_cleaner:
                removed += 1
                tombstones += 1
                gone.append(e.msg.id)
            else:
                if e.msg.tombstone:
                    e.seen_by_cleaner = True
                kept.append(e)
        if removed:
            self.entries = kept
            self.dense = False
            if kept:
                self.log_start_offset = kept[0].offset
        return removed, tombstones, gone
