"""The live checker: lost, duplicated and out-of-order processing, per group.

It watches the trace as it is written — nothing else — and keeps the books
every lesson is judged by (the definitions are the JSON contract's):

- **duplicate**: a group processes a message it already processed;
- **out of order**: a group processes a key's message after one with a higher
  key sequence (a replay after a crash counts too: the key went back in time);
- **lost**: a message acknowledged to its producer that a group subscribed to
  its topic never processed by the end of the run (dead-lettered ones are
  accounted for separately, not lost). Where an exchange routes by key, only
  the queues it routed the message to were meant to process it.

Every finding is itself a trace record whose ``cause_seq`` points at what
caused it, so "why?" is a walk back along ``cause_seq``. Processing inside a
transaction counts only when the transaction commits.
"""

from __future__ import annotations

from bisect import bisect_right
from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING, Any

from simulator.trace import (
    Acked,
    Crashed,
    DeadLettered,
    Delivered,
    DuplicateDetected,
    LogCompacted,
    MessageLost,
    NetworkDropped,
    OrderViolated,
    PositionReset,
    Processed,
    Produced,
    ProduceRetried,
    Rebalanced,
    Record,
    RetryScheduled,
    Routed,
    Skipped,
    TransactionAborted,
    TransactionCommitted,
)

if TYPE_CHECKING:
    from simulator.runtime import Runtime

__all__ = ["Checker", "GroupBooks"]


class GroupBooks:
    """What one group (or queue) has received and processed."""

    __slots__ = (
        "dead",
        "dead_lettered",
        "delivered",
        "duplicates",
        "first_processed",
        "last_delivered",
        "latest_per_key",
        "lost",
        "name",
        "out_of_order",
        "out_of_range",
        "processed",
        "skipped",
        "topic",
    )

    def __init__(self, name: str, topic: str) -> None:
        self.name = name
        self.topic = topic
        self.delivered = 0
        self.processed = 0
        self.duplicates = 0
        self.out_of_order = 0
        self.dead_lettered = 0
        self.lost = 0
        self.first_processed: dict[int, int] = {}
        self.latest_per_key: dict[str, tuple[int, int]] = {}
        self.last_delivered: dict[int, int] = {}
        self.dead: set[int] = set()
        self.skipped: dict[int, int] = {}
        self.out_of_range: dict[tuple[str, int], int] = {}


class Checker:
    """Keeps the books over the trace and emits findings as records."""

    def __init__(self, runtime: Runtime, subscriptions: dict[str, str]) -> None:
        """``subscriptions``: group (or queue) name → the topic it reads."""
        self.runtime = runtime
        self.groups: dict[str, GroupBooks] = {g: GroupBooks(g, t) for g, t in subscriptions.items()}
        self.produced = 0
        self.acked = 0
        self.retries = 0
        self.rebalances = 0
        self._acked: dict[int, int] = {}
        """Message id → seq of its first Acked record."""
        self._keys: dict[int, str | None] = {}
        self._pending: dict[str, list[Processed]] = {}
        self._crashes: dict[str, list[int]] = {}
        self._dropped: dict[int, int] = {}
        self._routed: dict[int, list[str]] = {}
        self._compacted: dict[int, int] = {}

    def observers(self) -> dict[type[Record], Callable[[Any], None]]:
        """The record types the checker watches, and what it does with each."""
        return {
            Produced: self._produced,
            Acked: self._acked_,
            Delivered: self._delivered,
            Processed: self._processed,
            TransactionCommitted: self._txn_committed,
            TransactionAborted: self._txn_aborted,
            RetryScheduled: self._retry,
            ProduceRetried: self._retry,
            DeadLettered: self._dead_lettered,
            Skipped: self._skipped,
            Rebalanced: self._rebalanced,
            Crashed: self._crashed,
            NetworkDropped: self._network_dropped,
            PositionReset: self._position_reset,
            Routed: self._routed_to,
            LogCompacted: self._log_compacted,
        }

    # -- observers -------------------------------------------------------------------

    def _produced(self, rec: Produced) -> None:
        self.produced += 1
        self._keys[rec.msg] = rec.key

    def _acked_(self, rec: Acked) -> None:
        if rec.msg not in self._acked:
            self.acked += 1
            self._acked[rec.msg] = rec.seq

    def _delivered(self, rec: Delivered) -> None:
        books = self.groups.get(rec.group)
        if books is not None:
            books.delivered += 1
            books.last_delivered[rec.msg] = rec.seq

    def _processed(self, rec: Processed) -> None:
        if rec.txn is not None:
            self._pending.setdefault(rec.txn, []).append(rec)
            return
        self._count(rec)

    def _count(self, rec: Processed) -> None:
        books = self.groups.get(rec.group)
        if books is None:
            return
        books.processed += 1
        first = books.first_processed.get(rec.msg)
        emit = self.runtime.emit
        if first is None:
            books.first_processed[rec.msg] = rec.seq
        else:
            books.duplicates += 1
            emit(
                DuplicateDetected,
                "checker",
                rec.seq,
                group=rec.group,
                msg=rec.msg,
                key=rec.key,
                first_seq=first,
            )
        key = rec.key
        if key is not None:
            latest = books.latest_per_key.get(key)
            if latest is None or rec.key_seq >= latest[0]:
                books.latest_per_key[key] = (rec.key_seq, rec.seq)
            else:
                books.out_of_order += 1
                emit(
                    OrderViolated,
                    "checker",
                    rec.seq,
                    group=rec.group,
                    msg=rec.msg,
                    key=key,
                    key_seq=rec.key_seq,
                    after_key_seq=latest[0],
                    after_seq=latest[1],
                )

    def _txn_committed(self, rec: TransactionCommitted) -> None:
        for processed in self._pending.pop(rec.txn, []):
            self._count(processed)

    def _txn_aborted(self, rec: TransactionAborted) -> None:
        self._pending.pop(rec.txn, None)

    def _retry(self, rec: Record) -> None:
        self.retries += 1

    def _dead_lettered(self, rec: DeadLettered) -> None:
        books = self.groups.get(rec.group)
        if books is not None and rec.msg not in books.dead:
            books.dead.add(rec.msg)
            books.dead_lettered += 1

    def _skipped(self, rec: Skipped) -> None:
        books = self.groups.get(rec.group)
        if books is not None:
            books.skipped[rec.msg] = rec.seq

    def _rebalanced(self, rec: Rebalanced) -> None:
        self.rebalances += 1

    def _crashed(self, rec: Crashed) -> None:
        self._crashes.setdefault(rec.component, []).append(rec.seq)

    def _network_dropped(self, rec: NetworkDropped) -> None:
        for msg in rec.msgs:
            self._dropped[msg] = rec.seq

    def _log_compacted(self, rec: LogCompacted) -> None:
        for msg in rec.msgs:
            self._compacted[msg] = rec.seq

    def _routed_to(self, rec: Routed) -> None:
        self._routed.setdefault(rec.msg, []).extend(rec.queues)

    def _position_reset(self, rec: PositionReset) -> None:
        if rec.reason == "out_of_range":
            books = self.groups.get(rec.group)
            if books is not None:
                books.out_of_range.setdefault((rec.topic, rec.partition), rec.seq)

    # -- the end of the run ------------------------------------------------------------------

    def finish(self) -> None:
        """Emit a MessageLost finding for every acknowledged message a group never processed."""
        records = self.runtime.records
        for books in self.groups.values():
            for msg, acked_seq in self._acked.items():
                acked = records[acked_seq]
                assert isinstance(acked, Acked)
                topic, partition = acked.topic, acked.partition
                if topic != books.topic or msg in books.first_processed or msg in books.dead:
                    continue
                routed = self._routed.get(msg)
                if routed is not None and books.name not in routed:
                    continue  # the exchange never sent it to this queue
                cause, reason = self._why_lost(books, msg, acked_seq, topic, partition, records)
                books.lost += 1
                self.runtime.emit(
                    MessageLost,
                    "checker",
                    cause,
                    group=books.name,
                    msg=msg,
                    key=self._keys.get(msg),
                    acked_seq=acked_seq,
                    reason=reason,
                )

    def _why_lost(
        self,
        books: GroupBooks,
        msg: int,
        acked_seq: int,
        topic: str,
        partition: int | None,
        records: Sequence[Record],
    ) -> tuple[int, str]:
        skipped = books.skipped.get(msg)
        if skipped is not None:
            return skipped, "skipped after its handler failed, with no retry topic or DLT"
        delivered = books.last_delivered.get(msg)
        if delivered is not None:
            consumer = getattr(records[delivered], "consumer", "")
            crashes = self._crashes.get(consumer, [])
            i = bisect_right(crashes, delivered)
            if i < len(crashes):
                return crashes[i], "delivered, but its consumer crashed before processing it"
            return delivered, "delivered but never processed"
        if msg in self._dropped:
            return self._dropped[msg], "never reached the broker (acks=0: nobody noticed)"
        if msg in self._compacted:
            return self._compacted[
                msg
            ], "removed by compaction (superseded) before the group read it"
        if partition is not None and (topic, partition) in books.out_of_range:
            return books.out_of_range[
                (topic, partition)
            ], "deleted by retention before the group read it"
        return acked_seq, "never delivered to this group"
