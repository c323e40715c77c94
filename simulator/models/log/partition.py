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

from array import array
from bisect import bisect_left
from collections.abc import Callable, Iterable, Iterator, Sequence
from typing import overload

import msgspec

from simulator.messages import Message

__all__ = ["Entry", "Log", "Partition"]


class Entry(msgspec.Struct, gc=False, eq=False):
    """One record in a partition's log, as a reader sees it.

    The log does not keep entries (see ``Log``): it builds one each time a
    record is read, so an entry is a snapshot a reader may keep. Like a
    message, it refers to nothing that could refer back to it, so the cyclic
    garbage collector need not track it (``gc=False``).
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


class Rare(msgspec.Struct, gc=False):
    """The fields most records leave at their defaults, kept only for those that don't."""

    txn: str | None
    due_ms: int
    level: int
    seen_by_cleaner: bool


def _rare(e: Entry) -> Rare | None:
    if e.txn is None and not e.due_ms and not e.level and not e.seen_by_cleaner:
        return None
    return Rare(e.txn, e.due_ms, e.level, e.seen_by_cleaner)


class Log(Sequence[Entry]):
    """A partition's records, kept a column per field.

    A long run keeps every record it appended: ten million messages make ten
    million records. Kept as objects, each would cost an 80-byte struct and two
    int objects (its offset and its seq), about 150 bytes. Here a record costs
    a pointer to its message and two 8-byte numbers in arrays: its timestamp
    and the seq of its ``Appended`` record. Its offset costs nothing while the
    log is dense (``base`` plus its index, as in a log no compaction has
    touched); once compaction leaves gaps the offsets get an array of their
    own (``sparse``). The fields most records leave at their defaults (a
    transaction, a retry topic's due time and level, a tombstone the cleaner
    has seen) sit in ``rare``, keyed by offset, for the few records that have
    them.

    It reads like the list of entries it stands for — ``len``, an index, a
    slice, iteration — and each read builds fresh ``Entry`` objects. Offsets
    only grow along the log (appends take the next offset; retention,
    compaction and truncation only remove), so ``offsets`` is sorted and a
    search by offset is a bisection.
    """

    __slots__ = ("base", "msgs", "rare", "seqs", "sparse", "stamps")

    def __init__(self, entries: Iterable[Entry] = ()) -> None:
        self.msgs: list[Message] = []
        self.base = 0
        """The offset of the first record, while the log is dense."""
        self.sparse: array[int] | None = None
        """Every record's offset, once the offsets have gaps (None: dense)."""
        self.stamps = array("q")
        """Each record's timestamp: the virtual time it was appended at."""
        self.seqs = array("q")
        """Each record's ``Appended`` seq: what a delivery of it names as its cause."""
        self.rare: dict[int, Rare] = {}
        self.extend(entries)

    @property
    def offsets(self) -> Sequence[int]:
        """Each record's offset, in order."""
        if self.sparse is None:
            return range(self.base, self.base + len(self.msgs))
        return self.sparse

    def __len__(self) -> int:
        return len(self.msgs)

    @overload
    def __getitem__(self, index: int) -> Entry: ...

    @overload
    def __getitem__(self, index: slice) -> list[Entry]: ...

    def __getitem__(self, index: int | slice) -> Entry | list[Entry]:
        offsets = self.offsets
        if isinstance(index, slice):
            columns = offsets[index], self.msgs[index], self.stamps[index], self.seqs[index]
            made = list(map(Entry, *columns))
            if self.rare:
                for e in made:
                    self._fill(e)
            return made
        e = Entry(offsets[index], self.msgs[index], self.stamps[index], self.seqs[index])
        if self.rare:
            self._fill(e)
        return e

    def __iter__(self) -> Iterator[Entry]:
        rare = self.rare
        for e in map(Entry, self.offsets, self.msgs, self.stamps, self.seqs):
            if rare:
                self._fill(e)
            yield e

    def _fill(self, e: Entry) -> None:
        r = self.rare.get(e.offset)
        if r is not None:
            e.txn, e.due_ms, e.level = r.txn, r.due_ms, r.level
            e.seen_by_cleaner = r.seen_by_cleaner

    def rare_of(self, offset: int) -> Rare | None:
        """The rare fields of the record at ``offset``, if it has any."""
        return self.rare.get(offset)

    def _make_sparse(self) -> array[int]:
        if self.sparse is None:
            self.sparse = array("q", self.offsets)
        return self.sparse

    def __delitem__(self, index: slice) -> None:
        start, stop, step = index.indices(len(self.msgs))
        if step != 1:
            raise ValueError("a log is cut in one piece")
        if start >= stop:
            return
        offsets = self.offsets
        low, high = offsets[start], offsets[stop - 1]
        if self.sparse is not None:
            del self.sparse[index]
        elif start == 0:
            self.base = high + 1  # the front cut off: still dense
        elif stop < len(self.msgs):
            del self._make_sparse()[index]  # a hole in the middle
        del self.msgs[index], self.stamps[index], self.seqs[index]
        if self.rare:
            self.rare = {o: r for o, r in self.rare.items() if not low <= o <= high}

    def _place(self, offset: int, n: int) -> None:
        """Make room in the offsets for ``n`` records from ``offset`` on."""
        if self.sparse is None:
            if not self.msgs:
                self.base = offset
                return
            if offset == self.base + len(self.msgs):
                return
        self._make_sparse().extend(range(offset, offset + n))

    def append(self, entry: Entry) -> None:
        self._place(entry.offset, 1)
        self.msgs.append(entry.msg)
        self.stamps.append(entry.timestamp_ms)
        self.seqs.append(entry.appended_seq)
        rare = _rare(entry)
        if rare is not None:
            self.rare[entry.offset] = rare

    def extend(self, entries: Iterable[Entry]) -> None:
        for e in entries:
            self.append(e)

    def append_run(self, msgs: list[Message], offset: int, timestamp_ms: int, seq: int) -> None:
        """Append records at consecutive offsets and seqs, all at one time, in C."""
        n = len(msgs)
        self._place(offset, n)
        self.msgs.extend(msgs)
        self.stamps.frombytes(_stamp(timestamp_ms) * n)
        self.seqs.fromlist(list(range(seq, seq + n)))

    def keep(self, indices: list[int]) -> Log:
        """A new log of the records at ``indices`` (ascending), with their rare fields."""
        kept = Log()
        msgs, offsets, stamps, seqs = self.msgs, self.offsets, self.stamps, self.seqs
        kept.msgs = [msgs[i] for i in indices]
        at = [offsets[i] for i in indices]
        if at and at[-1] - at[0] + 1 != len(at):
            kept.sparse = array("q", at)
        elif at:
            kept.base = at[0]
        kept.stamps = array("q", [stamps[i] for i in indices])
        kept.seqs = array("q", [seqs[i] for i in indices])
        if self.rare:
            kept.rare = {o: r for o in at if (r := self.rare.get(o)) is not None}
        return kept


def _stamp(timestamp_ms: int) -> bytes:
    """One timestamp as the bytes of an ``array("q")`` item."""
    return array("q", (timestamp_ms,)).tobytes()


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
        self.entries = Log()
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
        return bisect_left(self.entries.offsets, offset)

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
        offsets, rare_of = entries.offsets, entries.rare.get
        for i in range(start, len(entries) if hw is None else self.index_of(hw)):
            if len(batch) >= max_records:
                break
            offset = offsets[i]
            rare = rare_of(offset)
            if rare is not None:
                if rare.due_ms > now_ms:
                    break
                if rare.txn is not None and read_committed:
                    state = txn_state.get(rare.txn, "open")
                    if state == "open":
                        break
                    if state == "aborted":
                        position = offset + 1
                        continue
            batch.append(entries[i])
            position = offset + 1
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
        self._moved_start()
        return excess

    def truncate_before(self, cutoff_ms: int) -> int:
        """Retention by time: drop records older than ``cutoff_ms``."""
        n = 0
        for timestamp_ms in self.entries.stamps:
            if timestamp_ms >= cutoff_ms:
                break
            n += 1
        if n:
            del self.entries[:n]
            self._moved_start()
        return n

    def _moved_start(self) -> None:
        offsets = self.entries.offsets
        self.log_start_offset = offsets[0] if offsets else self.next_offset

    def compact(self, active_from: int) -> tuple[int, int, list[int]]:
        """Keep only the latest record per key below ``active_from`` (the active segment).

        Returns (records removed, tombstones removed, ids of the removed
        messages). A tombstone survives one pass so readers can see the
        delete, and is removed on the next.
        """
        log = self.entries
        msgs, offsets = log.msgs, log.offsets
        latest: dict[str, int] = {}
        for msg, offset in zip(msgs, offsets, strict=True):
            if offset < active_from and msg.key is not None:
                latest[msg.key] = offset
        kept: list[int] = []
        gone: list[int] = []
        removed = tombstones = 0
        for i, (msg, offset) in enumerate(zip(msgs, offsets, strict=True)):
            key = msg.key
            if offset >= active_from or key is None:
                kept.append(i)
            elif latest[key] != offset:
                removed += 1
                gone.append(msg.id)
            elif msg.tombstone and (rare := log.rare_of(offset)) and rare.seen_by_cleaner:
                removed += 1
                tombstones += 1
                gone.append(msg.id)
            else:
                if msg.tombstone:
                    self._seen_by_cleaner(offset)
                kept.append(i)
        if removed:
            self.entries = log.keep(kept)
            self.dense = False
            if kept:
                self.log_start_offset = self.entries.offsets[0]
        return removed, tombstones, gone

    def _seen_by_cleaner(self, offset: int) -> None:
        rare = self.entries.rare.get(offset)
        if rare is None:
            self.entries.rare[offset] = Rare(None, 0, 0, True)
        else:
            rare.seen_by_cleaner = True
