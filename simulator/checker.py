"""The live checker: lost, duplicated and out-of-order processing, per group.

It watches the trace as it is written — nothing else — and keeps the books
every lesson is judged by (the definitions are the JSON contract's):

- **duplicate**: a group processes a message it already processed;
- **out of order**: a group processes a message after one *from the same
  producer with the same key* and a higher key sequence (a replay after a
  crash counts too: the key went back in time). Two producers writing one key
  have no order between them, so their messages are never compared;
- **lost**: a message acknowledged to its producer that a group subscribed to
  its topic never processed by the end of the run (dead-lettered ones are
  accounted for separately, not lost). Where an exchange routes by key, only
  the queues it routed the message to were meant to process it;
- **dropped unacknowledged**: the same, for a message its producer sent
  without asking for an acknowledgement (``acks=0``, no publisher confirms):
  the silent loss fire-and-forget accepts, counted apart so ``lost`` keeps
  its meaning;
- **deduplicated**: a send the queue dropped as a repeat of an earlier one
  (an SQS FIFO deduplication id seen within 5 minutes) is the same logical
  message as that one, not a loss;
- **lost on restart**: a message its node kept in memory only (transient,
  or in a non-durable queue) and did not have after a restart is lost with
  that reason, pointing at the crash; a message left in a queue that is
  still unavailable at the end (its node never came back) says so; a
  publish routed to a classic queue whose node was down was dropped there,
  though confirmed, and is lost with that reason;
- **truncated**: a message whose record a replica removed (truncated to a new
  leader's epoch, or lost with the page cache in a power loss) and that no
  group processed is lost *because of that*: its cause chain runs through the
  truncation and the election back to the crash;
- **in flight**: when the run is cut short (``until_ms``, ``max_records``), a
  message still on its way — in a queue, a partition not read yet, a
  consumer's hands — is in flight, not lost. Only what can never be processed
  any more (skipped, expired, removed from the log, given up by an
  at-most-once consumer that crashed) is lost in a cut run;
- **retries** are retries *performed*: a retry counts once the message is
  tried again, not when it is scheduled (a message dead-lettered instead of
  its next try booked no retry).

Every finding is itself a trace record whose ``cause_seq`` points at what
caused it, so "why?" is a walk back along ``cause_seq``. Processing inside a
transaction counts only when the transaction commits.
"""

from __future__ import annotations

from bisect import bisect_right
from collections.abc import Callable, Collection, Sequence
from typing import TYPE_CHECKING, Any

from simulator.permessage import PerMessage
from simulator.retries import RetryBooks
from simulator.trace import (
    Acked,
    Committed,
    Crashed,
    DeadLettered,
    DedupDropped,
    Delivered,
    DuplicateDetected,
    LogCompacted,
    LogTruncatedToEpoch,
    MessageDropped,
    MessageExpired,
    MessageLost,
    MessageLostOnRestart,
    NetworkDropped,
    OrderViolated,
    PageCacheLost,
    PositionReset,
    Processed,
    ProcessingFailed,
    Produced,
    ProduceFailed,
    ProduceRetried,
    PublishDropped,
    QueueAvailable,
    QueueOverflowed,
    QueueUnavailable,
    Rebalanced,
    Record,
    RetryScheduled,
    Routed,
    SentUnacknowledged,
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
        "committed",
        "dead",
        "dead_lettered",
        "deduplicated",
        "delivered",
        "dropped_by_queue",
        "dropped_unacknowledged",
        "duplicates",
        "expired",
        "first_processed",
        "in_flight",
        "last_delivered",
        "latest_per_key",
        "lost",
        "lost_on_restart",
        "name",
        "out_of_order",
        "out_of_range",
        "overflowed",
        "processed",
        "skipped",
        "topic",
        "unavailable",
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
        self.dropped_unacknowledged = 0
        self.deduplicated = 0
        self.in_flight = 0
        self.first_processed = PerMessage()
        """Message → seq of its first Processed by this group (booked once it counts)."""
        self.latest_per_key: dict[str, dict[str, tuple[int, int]]] = {}
        """Producer → key → (highest key sequence processed, seq of that Processed); a key's
        order is its producer's (``""`` for a message never handed to one in this trace)."""
        self.last_delivered: dict[int, int] | None = None
        """Message → seq of its latest Delivered to this group; built from the trace at the
        end, and only if a message needs explaining (a dict per delivery would cost every run)."""
        self.dead: set[int] = set()
        self.skipped: dict[int, int] = {}
        self.expired: dict[int, int] = {}
        self.overflowed: dict[int, int] = {}
        """Dropped from the head of a full queue (``drop-head`` with no DLX)."""
        self.lost_on_restart: dict[int, int] = {}
        """Gone when its node restarted (kept in memory only): message → that record."""
        self.dropped_by_queue: dict[int, int] = {}
        """Routed to the queue while its node was down, dropped there (``PublishDropped``)."""
        self.unavailable: tuple[int, str] | None = None
        """The queue cannot serve right now: (seq of ``QueueUnavailable``, its reason)."""
        self.out_of_range: dict[tuple[str, int], int] = {}
        self.committed: dict[tuple[str, int], int] = {}
        """(topic, partition) → the group's committed offset (the next one to read)."""


class Checker:
    """Keeps the books over the trace and emits findings as records."""

    def __init__(
        self,
        runtime: Runtime,
        subscriptions: dict[str, str],
        at_most_once: Collection[str] = (),
    ) -> None:
        """``subscriptions``: group (or queue) name → the topic it reads.

        ``at_most_once``: the groups that settle a message before processing it
        (``commit = "before-process"``): what such a group's crashed consumer
        held is gone for good, even in a run that was cut short.
        """
        self.runtime = runtime
        self.groups: dict[str, GroupBooks] = {g: GroupBooks(g, t) for g, t in subscriptions.items()}
        self.at_most_once = frozenset(at_most_once)
        self._produced_count = 0
        self._handed_over: list[Produced] = []
        """``Produced`` records not booked yet. Their observer only lists them (the list's
        own ``append``: no call into Python per message); they are booked together
        before anything reads what they book (each message's first hand-over and
        producer, the count) and before a batch of acks or deliveries, so the list
        stays short."""
        self.acked = 0
        self.retry_books = RetryBooks()
        """Retries scheduled and performed (the same books the TUI's metrics keep)."""
        self.retries = 0
        """Retries performed, settled by ``finish``."""
        self.rebalances = 0
        self._acked = PerMessage()
        """Message id → seq of its first Acked record."""
        self._unacknowledged = PerMessage()
        """Message id → seq of its SentUnacknowledged record (never acknowledged)."""
        self._first_produced = PerMessage()
        """Message id → seq of its first hand-over (``Produced``), whose key a finding names."""
        self._first_producer = ""
        """The first producer that handed over a message; its messages book no index
        (most runs have one producer)."""
        self._producer_of = PerMessage("i")
        """Message id → its producer (whose order it is in), if not the first one, as an
        index into ``_producers``."""
        self._producers: list[str] = []
        self._producer_index: dict[str, int] = {}
        self._pending: dict[str, list[Processed]] = {}
        self._crashes: dict[str, list[int]] = {}
        self._dropped: dict[int, int] = {}
        self._routed = PerMessage("i")
        """Message → the queues its exchange routed it to, as an index into ``_routes``."""
        self._routes: list[tuple[str, ...]] = []
        """Every distinct set of queues messages were routed to, once (thousands of
        messages share a handful of routes)."""
        self._route_index: dict[tuple[str, ...], int] = {}
        self._compacted: dict[int, int] = {}
        self._truncated: dict[int, tuple[int, str]] = {}
        """Message → (the record that removed it from a replica's log, why)."""
        self._deduplicated: dict[tuple[str, int], int] = {}
        """(queue, message) → the message it was dropped as a repeat of."""
        self._refused: dict[tuple[str, int], int] = {}
        """(queue, message) → the QueueOverflowed record of a refused publish."""

    def expect(self, messages: int, topics: Collection[str]) -> None:
        """The run's workload: ``messages`` messages (ids up to that), sent to ``topics``.

        The books every one of them fills — handed over, acknowledged, processed by
        each group reading one of those topics — are sized for them at once.
        """
        self._first_produced.reserve(messages + 1)
        self._acked.reserve(messages + 1)
        for books in self.groups.values():
            if books.topic in topics:
                books.first_processed.reserve(messages + 1)

    def observers(self) -> dict[type[Record], Callable[[Any], None]]:
        """The record types the checker watches, and what it does with each."""
        return {
            Produced: self._handed_over.append,
            Acked: self._acked_,
            SentUnacknowledged: self._sent_unacknowledged,
            ProduceFailed: self._produce_settled,
            Delivered: self._delivered,
            Processed: self._processed,
            ProcessingFailed: self._tried,
            TransactionCommitted: self._txn_committed,
            TransactionAborted: self._txn_aborted,
            RetryScheduled: self._retry_scheduled,
            ProduceRetried: self._produce_retried,
            DeadLettered: self._dead_lettered,
            Skipped: self._skipped,
            MessageExpired: self._expired,
            QueueOverflowed: self._overflowed,
            MessageLostOnRestart: self._lost_on_restart,
            PublishDropped: self._publish_dropped,
            QueueUnavailable: self._unavailable,
            QueueAvailable: self._available,
            DedupDropped: self._dedup_dropped,
            Rebalanced: self._rebalanced,
            Crashed: self._crashed,
            NetworkDropped: self._network_dropped,
            PositionReset: self._position_reset,
            Committed: self._committed,
            Routed: self._routed_to,
            LogCompacted: self._log_compacted,
            LogTruncatedToEpoch: self._replica_truncated,
            PageCacheLost: self._replica_truncated,
        }

    # -- observers -------------------------------------------------------------------

    def batch_observers(self) -> dict[type[Record], Callable[[list[Any]], None]]:
        """What the checker does with a batch of one record type booked together
        (``Runtime.record_all``): the same as record by record, in fewer calls."""
        return {Acked: self._acked_all, Delivered: self._delivered_all}

    @property
    def produced(self) -> int:
        """Messages handed to a producer (``Produced`` records: a resend counts again)."""
        if self._handed_over:
            self._book_handed_over()
        return self._produced_count

    def _book_handed_over(self) -> None:
        """Book the ``Produced`` records listed since the last time, in trace order."""
        recs = self._handed_over
        self._produced_count += len(recs)
        first_produced = self._first_produced
        seqs = first_produced.numbers
        n = len(seqs)
        first_producer = self._first_producer
        for rec in recs:
            msg = rec.msg
            if 0 <= msg < n and seqs[msg] < 0:
                seqs[msg] = rec.seq
            elif first_produced.add(msg, rec.seq):
                n = len(seqs)  # the array may have grown
            else:
                continue  # a resend: the first hand-over is booked
            if rec.producer != first_producer:
                self._book_producer(msg, rec.producer)
                first_producer = self._first_producer  # the first one, if this was it
        recs.clear()

    def _book_producer(self, msg: int, producer: str) -> None:
        """``msg`` is the first from ``producer`` or from a producer other than the first."""
        if not self._first_producer:
            self._first_producer = producer
            return
        index = self._producer_index.get(producer)
        if index is None:
            index = self._producer_index[producer] = len(self._producers)
            self._producers.append(producer)
        self._producer_of.set(msg, index)

    def _acked_(self, rec: Acked) -> None:
        if self._handed_over:
            self._book_handed_over()
        msg = rec.msg
        seqs = self._acked.numbers
        if 0 <= msg < len(seqs) and seqs[msg] < 0:
            seqs[msg] = rec.seq
            self.acked += 1
        elif self._acked.add(msg, rec.seq):
            self.acked += 1
        self._produce_settled(rec)

    def _acked_all(self, recs: list[Acked]) -> None:
        """``_acked_`` for each of ``recs``: the acks of one produce request."""
        if self._handed_over:
            self._book_handed_over()
        acked = self._acked
        seqs = acked.numbers
        n = len(seqs)
        count = 0
        for rec in recs:
            msg = rec.msg
            if 0 <= msg < n and seqs[msg] < 0:
                seqs[msg] = rec.seq
                count += 1
            else:
                count += acked.add(msg, rec.seq)
                n = len(seqs)  # add may have grown the array
        self.acked += count
        if self.retry_books.resends_due():
            answered = self.retry_books.answered
            for rec in recs:
                answered(rec.producer, rec.msg, rec.at)

    def run_observers(self) -> dict[type[Record], Callable[[list[Any], int], int]]:
        """What books records of one type from a start on, up to the first that would write
        a record of its own (a finding) or needs more than the common case
        (``Runtime.record_each``); returns that record's index (the list's length if none).

        The same books as record by record: the caller books the record it stopped at
        through ``observers()``, then goes on from the next one.
        """
        return {Processed: self._processed_run}

    def _processed_run(self, recs: list[Processed], start: int) -> int:
        """``_processed`` for ``recs[start:]`` while nothing is found (see ``run_observers``).

        The common case of one consumer's batch: one group, no transaction, no
        handler retry due, messages from the first producer (or from none), each
        processed for the first time, in key order. Anything else stops it.
        """
        if self._handed_over:
            self._book_handed_over()
        if not recs or self._producers or self.retry_books.handler_retries_due():
            return start
        group = recs[start].group
        books = self.groups.get(group)
        if books is None:
            return start
        seqs = books.first_processed.numbers
        n = len(seqs)
        latest_of_key = books.latest_per_key.get(self._first_producer)
        handed = self._first_produced.numbers
        handed_n = len(handed)
        i = start
        for rec in recs[start:] if start else recs:
            msg = rec.msg
            if rec.group != group or rec.txn is not None or not 0 <= msg < n or seqs[msg] >= 0:
                break
            key = rec.key
            if key is not None:
                if msg >= handed_n or handed[msg] < 0 or latest_of_key is None:
                    break  # never handed over (or booked beside the array), or a first key
                latest = latest_of_key.get(key)
                key_seq = rec.key_seq
                if latest is not None and key_seq < latest[0]:
                    break
                latest_of_key[key] = (key_seq, rec.seq)
            seqs[msg] = rec.seq
            i += 1
        books.processed += i - start
        return i

    def _sent_unacknowledged(self, rec: SentUnacknowledged) -> None:
        if self._handed_over:
            self._book_handed_over()
        self._unacknowledged.add(rec.msg, rec.seq)

    def _produce_settled(self, rec: Acked | ProduceFailed) -> None:
        """An answer arrived: a resend still waiting out its backoff will not happen."""
        self.retry_books.answered(rec.producer, rec.msg, rec.at)

    def _delivered(self, rec: Delivered) -> None:
        books = self.groups.get(rec.group)
        if books is not None:
            books.delivered += 1

    def _delivered_all(self, recs: list[Delivered]) -> None:
        """``_delivered`` for each of ``recs`` (the records of one fetch: one group's)."""
        if self._handed_over:
            self._book_handed_over()
        group = recs[0].group
        for rec in recs:
            if rec.group != group:  # not one group's after all: one by one
                for each in recs:
                    self._delivered(each)
                return
        books = self.groups.get(group)
        if books is not None:
            books.delivered += len(recs)

    def _tried(self, rec: Processed | ProcessingFailed) -> None:
        """The handler ran on the message again: a scheduled retry was performed."""
        self.retry_books.tried(rec.group, rec.msg)

    def _processed(self, rec: Processed, committed: bool = False) -> None:
        """Book a processing: at once, or (inside a transaction) when it commits.

        ``committed``: the call from the transaction's commit, which only books.
        """
        if self._handed_over:
            self._book_handed_over()
        if not committed:
            self.retry_books.tried(rec.group, rec.msg)
            if rec.txn is not None:
                self._pending.setdefault(rec.txn, []).append(rec)
                return
        books = self.groups.get(rec.group)
        if books is None:
            return
        books.processed += 1
        first_processed = books.first_processed
        msg = rec.msg
        emit = self.runtime.emit
        seqs = first_processed.numbers
        if 0 <= msg < len(seqs) and seqs[msg] < 0:
            seqs[msg] = rec.seq
        elif not first_processed.add(msg, rec.seq):
            first = first_processed.get(msg)
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
            handed = self._first_produced.numbers
            if not (handed[msg] >= 0 if 0 <= msg < len(handed) else msg in self._first_produced):
                producer = ""  # never handed to a producer in this trace
            elif self._producers:  # more than one producer: which one
                index = self._producer_of.get(msg)
                producer = self._first_producer if index < 0 else self._producers[index]
            else:
                producer = self._first_producer
            latest_of_key = books.latest_per_key.get(producer)
            if latest_of_key is None:
                latest_of_key = books.latest_per_key[producer] = {}
            latest = latest_of_key.get(key)
            if latest is None or rec.key_seq >= latest[0]:
                latest_of_key[key] = (rec.key_seq, rec.seq)
            else:
                books.out_of_order += 1
                emit(
                    OrderViolated,
                    "checker",
                    rec.seq,
                    group=rec.group,
                    msg=rec.msg,
                    producer=producer,
                    key=key,
                    key_seq=rec.key_seq,
                    after_key_seq=latest[0],
                    after_seq=latest[1],
                )

    def _txn_committed(self, rec: TransactionCommitted) -> None:
        for processed in self._pending.pop(rec.txn, []):
            self._processed(processed, committed=True)

    def _txn_aborted(self, rec: TransactionAborted) -> None:
        self._pending.pop(rec.txn, None)

    def _retry_scheduled(self, rec: RetryScheduled) -> None:
        self.retry_books.scheduled(rec.group, rec.msg)

    def _produce_retried(self, rec: ProduceRetried) -> None:
        self.retry_books.resend_scheduled(rec.producer, rec.msg, rec.at, rec.backoff_ms)

    def _dead_lettered(self, rec: DeadLettered) -> None:
        self.retry_books.called_off(rec.group, rec.msg)
        books = self.groups.get(rec.group)
        if books is not None and rec.msg not in books.dead:
            books.dead.add(rec.msg)
            books.dead_lettered += 1

    def _skipped(self, rec: Skipped) -> None:
        self.retry_books.called_off(rec.group, rec.msg)
        books = self.groups.get(rec.group)
        if books is not None:
            books.skipped[rec.msg] = rec.seq

    def _expired(self, rec: MessageExpired) -> None:
        books = self.groups.get(rec.group)
        if books is not None:
            books.expired.setdefault(rec.msg, rec.seq)

    def _overflowed(self, rec: QueueOverflowed) -> None:
        if rec.overflow == "drop-head":
            books = self.groups.get(rec.group)
            if books is not None:
                books.overflowed.setdefault(rec.msg, rec.seq)
        else:
            self._refused.setdefault((rec.group, rec.msg), rec.seq)

    def _lost_on_restart(self, rec: MessageLostOnRestart) -> None:
        books = self.groups.get(rec.group)
        if books is not None:
            books.lost_on_restart.setdefault(rec.msg, rec.seq)

    def _publish_dropped(self, rec: PublishDropped) -> None:
        books = self.groups.get(rec.group)
        if books is not None:
            books.dropped_by_queue.setdefault(rec.msg, rec.seq)

    def _unavailable(self, rec: QueueUnavailable) -> None:
        books = self.groups.get(rec.group)
        if books is not None:
            books.unavailable = (rec.seq, rec.reason)

    def _available(self, rec: QueueAvailable) -> None:
        books = self.groups.get(rec.group)
        if books is not None:
            books.unavailable = None

    def _dedup_dropped(self, rec: DedupDropped) -> None:
        if rec.msg != rec.first_msg:
            self._deduplicated.setdefault((rec.group, rec.msg), rec.first_msg)

    def _rebalanced(self, rec: Rebalanced) -> None:
        self.rebalances += 1

    def _crashed(self, rec: Crashed) -> None:
        self._crashes.setdefault(rec.component, []).append(rec.seq)
        self.retry_books.producer_crashed(rec.component, rec.at)

    def _network_dropped(self, rec: NetworkDropped) -> None:
        for msg in rec.msgs:
            self._dropped[msg] = rec.seq

    def _log_compacted(self, rec: LogCompacted) -> None:
        for msg in rec.msgs:
            self._compacted[msg] = rec.seq

    def _replica_truncated(self, rec: LogTruncatedToEpoch | PageCacheLost) -> None:
        if isinstance(rec, LogTruncatedToEpoch):
            why = (
                f"acknowledged, then truncated from {rec.broker}'s log to leader epoch"
                f" {rec.leader_epoch}: the replica that became leader never had it"
            )
        else:
            why = (
                f"acknowledged from {rec.broker}'s page cache; the power went before it"
                " reached the disk"
            )
        for msg in rec.msgs:
            self._truncated[msg] = (rec.seq, why)

    def _routed_to(self, rec: Routed) -> None:
        before = self._routed.get(rec.msg)
        queues = tuple(rec.queues) if before < 0 else (*self._routes[before], *rec.queues)
        index = self._route_index.get(queues)
        if index is None:
            index = self._route_index[queues] = len(self._routes)
            self._routes.append(queues)
        self._routed.set(rec.msg, index)  # routed again (a dead letter, say): both routes count

    def _position_reset(self, rec: PositionReset) -> None:
        if rec.reason == "out_of_range":
            books = self.groups.get(rec.group)
            if books is not None:
                books.out_of_range.setdefault((rec.topic, rec.partition), rec.seq)

    def _committed(self, rec: Committed) -> None:
        books = self.groups.get(rec.group)
        if books is not None:
            books.committed[(rec.topic, rec.partition)] = rec.offset

    # -- the end of the run ------------------------------------------------------------------

    def finish(self, reason: str = "quiescent") -> None:
        """Settle the books: every message a group never processed, and the retries performed.

        ``reason`` is how the run ended (``quiescent``, ``until`` or
        ``max_records``). Emits a ``MessageLost`` finding per acknowledged
        message a group never processed, a ``MessageDropped`` per unacknowledged
        one — except, in a run cut short, for messages that were still on their
        way (counted ``in_flight``).
        """
        if self._handed_over:
            self._book_handed_over()
        cut = reason != "quiescent"
        now = self.runtime.kernel.now_ms
        self.retries = self.retry_books.performed(now)
        records = self.runtime.records
        for books in self.groups.values():
            # Only the messages this group never processed, in the order they were acked.
            for msg, acked_seq in self._acked.in_seq_order(books.first_processed):
                acked = records[acked_seq]
                assert isinstance(acked, Acked)
                if not self._meant_for(books, msg, acked.topic):
                    continue
                cause, why, final = self._why_unprocessed(
                    books, msg, acked_seq, acked.topic, acked.partition, records
                )
                if cut and not final:
                    books.in_flight += 1
                    continue
                books.lost += 1
                self.runtime.emit(
                    MessageLost,
                    "checker",
                    cause,
                    group=books.name,
                    msg=msg,
                    key=self._key_of(msg),
                    acked_seq=acked_seq,
                    reason=why,
                )
            for msg, sent_seq in self._unacknowledged.in_seq_order(books.first_processed):
                sent = records[sent_seq]
                assert isinstance(sent, SentUnacknowledged)
                if msg in self._acked or not self._meant_for(books, msg, sent.topic):
                    continue
                cause, why, final = self._why_unprocessed(
                    books, msg, sent_seq, sent.topic, None, records
                )
                if cut and not final:
                    books.in_flight += 1
                    continue
                books.dropped_unacknowledged += 1
                self.runtime.emit(
                    MessageDropped,
                    "checker",
                    cause,
                    group=books.name,
                    msg=msg,
                    key=self._key_of(msg),
                    sent_seq=sent_seq,
                    reason=why,
                )

    def _key_of(self, msg: int) -> str | None:
        seq = self._first_produced.get(msg)
        if seq < 0:
            return None
        produced = self.runtime.records[seq]
        assert isinstance(produced, Produced)
        return produced.key

    def _meant_for(self, books: GroupBooks, msg: int, topic: str) -> bool:
        """Whether ``books``' group should have processed ``msg`` and has not accounted for it."""
        if topic != books.topic or msg in books.first_processed or msg in books.dead:
            return False
        routed = self._routed.get(msg)
        if routed >= 0 and books.name not in self._routes[routed]:
            return False  # the exchange never sent it to this queue
        if (books.name, msg) in self._deduplicated:
            books.deduplicated += 1
            return False  # the same logical message as the one the queue kept
        return True

    def _why_unprocessed(
        self,
        books: GroupBooks,
        msg: int,
        sent_seq: int,
        topic: str,
        partition: int | None,
        records: Sequence[Record],
    ) -> tuple[int, str, bool]:
        """(the record that explains it, why, whether it could never be processed any more)."""
        skipped = books.skipped.get(msg)
        if skipped is not None:
            return skipped, "skipped after its handler failed, with no retry topic or DLT", True
        expired = books.expired.get(msg)
        if expired is not None:
            return expired, "expired in the queue, with no dead-letter destination", True
        overflowed = books.overflowed.get(msg)
        if overflowed is not None:
            return overflowed, "dropped from the head of a full queue, with no DLX", True
        refused = self._refused.get((books.name, msg))
        if refused is not None:
            return refused, "refused by a full queue (reject-publish) and nobody was told", True
        gone = books.lost_on_restart.get(msg)
        if gone is not None:
            rec = records[gone]
            why = getattr(rec, "reason", "")
            return gone, f"gone when its node restarted: {why}", True
        dropped = books.dropped_by_queue.get(msg)
        if dropped is not None:
            rec = records[dropped]
            why = getattr(rec, "reason", "")
            return dropped, f"routed to its queue while {why}", True
        if books.unavailable is not None:
            seq, why = books.unavailable
            return seq, f"left in a queue that is still unavailable ({why})", False
        if books.last_delivered is None:
            books.last_delivered = {
                rec.msg: rec.seq
                for rec in records
                if isinstance(rec, Delivered) and rec.group == books.name
            }
        delivered = books.last_delivered.get(msg)
        if delivered is not None:
            rec = records[delivered]
            consumer = getattr(rec, "consumer", "")
            crashes = self._crashes.get(consumer, [])
            i = bisect_right(crashes, delivered)
            if i < len(crashes):
                # At most once, the message was settled before the crash: it never comes back.
                gone = books.name in self.at_most_once or self._committed_past(books, rec)
                return crashes[i], "delivered, but its consumer crashed before processing it", gone
            return delivered, "delivered but never processed", False
        truncated = self._truncated.get(msg)
        if truncated is not None:
            return truncated[0], truncated[1], True
        if msg in self._dropped and msg not in self._acked:
            return self._dropped[msg], "never reached the broker, and nobody noticed", True
        if msg in self._compacted:
            return (
                self._compacted[msg],
                "removed by compaction (superseded) before the group read it",
                True,
            )
        if partition is not None and (topic, partition) in books.out_of_range:
            return (
                books.out_of_range[(topic, partition)],
                "deleted by retention before the group read it",
                True,
            )
        return sent_seq, "never delivered to this group", False

    @staticmethod
    def _committed_past(books: GroupBooks, delivered: Record) -> bool:
        """A log group committed past this delivery's offset: it will not read it again."""
        offset = getattr(delivered, "offset", None)
        partition = getattr(delivered, "partition", None)
        if offset is None or partition is None:
            return False
        topic = getattr(delivered, "topic", "")
        committed: int = books.committed.get((topic, partition), -1)
        return committed > int(offset)
