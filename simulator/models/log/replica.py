"""A replica: one broker's copy of one partition's log.

With a replication factor of 3, a partition lives on three brokers. One
replica is the **leader**: producers write to it and consumers read from it.
The others are **followers**: each one keeps fetching from the leader what it
lacks and appends it to its own copy (``cluster`` runs that loop). Three ideas
decide what is safe, and each is a field here:

- **The ISR** (in-sync replicas) is kept by the leader: itself, and the
  followers that reached its log end within the last
  ``replica.lag.time.max.ms``. The leader learns how far a follower is from
  the offset it asks for in each fetch (``fetch_offset``) and remembers when
  it last asked for everything (``last_caught_up_ms``).
- **The high watermark** is the offset below which every ISR member has every
  record. Consumers read only below it, and ``acks=all`` is answered once it
  passes the record: a record below it survives any election from the ISR.
- **Leader epochs**: each election starts a new epoch, and each replica
  remembers at which offset every epoch began (``epochs``, Kafka's
  leader-epoch cache). A replica that comes back — often the old leader —
  sends its last epoch with its fetch; the leader answers where that epoch
  ends in *its* log (``end_offset_for``), and the replica truncates what lies
  beyond. Records only the old leader had (``acks=1``, never copied) are gone.

Durability is the fourth: a broker writes to the operating system's page cache
and answers at once. The OS writes dirty pages to disk once they are
``dirty_expire_ms`` old, or at once when ``flush.messages`` says fsync
(``fsynced``). A crashed *process* leaves the page cache to the OS; a machine
that loses power keeps only what reached the disk (``durable_offset``).

Offsets here start at 0 and are dense: a replica's log end offset is the
length of its log (retention and compaction are not modelled in a cluster).
"""

from __future__ import annotations

from simulator.models.log.partition import Entry, Log

__all__ = ["Replica"]


class Replica:
    """One broker's copy of a partition, and what the leader knows of it as a follower."""

    __slots__ = (
        "batches",
        "broker",
        "epochs",
        "fetch_attempt",
        "fetch_offset",
        "fetch_session",
        "fsynced",
        "high_watermark",
        "last_caught_up_ms",
        "last_fetch_ms",
        "leader_end_at_last_fetch",
        "log",
        "producer_state",
        "writes",
        "written_back",
    )

    def __init__(self, broker: str) -> None:
        self.broker = broker
        self.log = Log()
        self.high_watermark = 0
        """The high watermark as this replica knows it (a follower learns it from fetches)."""
        self.epochs: list[tuple[int, int]] = []
        """The leader-epoch cache: (epoch, offset where that epoch's records begin)."""
        self.batches: dict[int, tuple[str, int, int]] = {}
        """Idempotent batches in this log: first offset → (producer id, base sequence, count)."""
        self.producer_state: dict[str, dict[int, int]] = {}
        """What idempotence checks: producer id → {base seq → first offset; -1 → next seq}.
        Rebuilt from ``batches`` on truncation, so a new leader dedups by its own log."""
        self.fsynced = 0
        """Everything below this offset was fsynced (``flush.messages``)."""
        self.written_back = 0
        """Everything below this offset is old enough for the OS to have written it back."""
        self.writes: list[tuple[int, int]] = []
        """Recent writes still in the page cache: (virtual time, log end offset after it)."""
        # What the current leader knows of this replica as its follower:
        self.fetch_offset = 0
        """The offset its last fetch asked for: it has every record below."""
        self.last_caught_up_ms = 0
        self.last_fetch_ms = 0
        self.leader_end_at_last_fetch = 0
        # This replica's own fetch loop, when it follows:
        self.fetch_session = 0
        """Bumped to abandon the loop (a new leader, a crash): stale answers are ignored."""
        self.fetch_attempt = 0

    @property
    def log_end_offset(self) -> int:
        return len(self.log)

    # -- leader epochs -----------------------------------------------------------------

    def last_epoch(self) -> int:
        """The leader epoch of its last record (-1 for an empty log)."""
        end = len(self.log)
        for epoch, start in reversed(self.epochs):
            if start < end:
                return epoch
        return -1

    def end_offset_for(self, epoch: int) -> tuple[int, int]:
        """Where ``epoch`` ends in this log (Kafka's ``OffsetsForLeaderEpoch``).

        Returns (the largest epoch here not above ``epoch``, the offset where it
        ends: the start of the next epoch, or the log end for the latest one).
        """
        found = -1
        for i, (known, _) in enumerate(self.epochs):
            if known > epoch:
                break
            found = i
        if found < 0:
            return -1, self.epochs[0][1] if self.epochs else 0
        if found + 1 < len(self.epochs):
            return self.epochs[found][0], self.epochs[found + 1][1]
        return self.epochs[found][0], len(self.log)

    def begin_epoch(self, epoch: int) -> None:
        """This replica becomes leader in ``epoch``: its records from here on carry it."""
        end = len(self.log)
        while self.epochs and self.epochs[-1][1] >= end:
            self.epochs.pop()  # an epoch in which it got no record at all
        self.epochs.append((epoch, end))

    # -- writing -----------------------------------------------------------------------

    def record_batch(self, first_offset: int, producer_id: str, base_seq: int, count: int) -> None:
        """Remember an idempotent producer's batch (the leader appends it, a follower copies it)."""
        self.batches[first_offset] = (producer_id, base_seq, count)
        state = self.producer_state.setdefault(producer_id, {})
        state[base_seq] = first_offset
        state[-1] = base_seq + count

    def copy_from(self, leader: Replica, entries: list[Entry]) -> None:
        """Append what a fetch brought: the records, their epochs and their producer batches."""
        start = len(self.log)
        self.log.extend(entries)
        end = len(self.log)
        epochs = leader.epochs
        for i, (epoch, begins) in enumerate(epochs):
            following = epochs[i + 1][1] if i + 1 < len(epochs) else None
            covers = begins < end and (following is None or following > start)
            if covers and (not self.epochs or self.epochs[-1][0] < epoch):
                self.epochs.append((epoch, max(begins, start)))
        batches = leader.batches
        for offset in range(start, end):
            batch = batches.get(offset)
            if batch is not None:
                self.record_batch(offset, *batch)

    def wrote(self, now_ms: int, flush_messages: int | None, dirty_expire_ms: int) -> None:
        """A write reached the page cache; fsync it if ``flush.messages`` says so."""
        end = len(self.log)
        if flush_messages is not None and end - self.fsynced >= flush_messages:
            self.fsynced = end
        writes = self.writes
        while writes and writes[0][0] <= now_ms - dirty_expire_ms:
            self.written_back = max(self.written_back, writes.pop(0)[1])
        writes.append((now_ms, end))

    def durable_offset(self, now_ms: int, dirty_expire_ms: int) -> int:
        """How much of the log is on disk now: what a power loss leaves."""
        durable = max(self.fsynced, self.written_back)
        for at_ms, end in self.writes:
            if at_ms > now_ms - dirty_expire_ms:
                break
            durable = max(durable, end)
        return min(durable, len(self.log))

    # -- cutting back ----------------------------------------------------------------------

    def truncate_to(self, offset: int) -> list[Entry]:
        """Remove every record at ``offset`` and after; returns them."""
        removed = self.log[offset:]
        del self.log[offset:]
        self.high_watermark = min(self.high_watermark, offset)
        self.epochs = [(e, start) for e, start in self.epochs if start < offset]
        self.batches = {o: b for o, b in self.batches.items() if o < offset}
        self.producer_state = {}
        for first, (producer_id, base_seq, count) in list(self.batches.items()):
            self.record_batch(first, producer_id, base_seq, count)
        self.fsynced = min(self.fsynced, offset)
        self.written_back = min(self.written_back, offset)
        self.writes = [(at_ms, min(end, offset)) for at_ms, end in self.writes]
        return removed
