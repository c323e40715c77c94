"""An SQS queue: receive hides a message, delete removes it, and the visibility timeout decides.

Receiving a message does not remove it: it becomes *in flight*, hidden for the
queue's ``VisibilityTimeout`` (30 s by default), and the receiver gets a fresh
*receipt handle*. Only ``DeleteMessage`` with that handle removes it. If the
timeout runs out first, the message is visible again and the next receive
counts up its ``ApproximateReceiveCount`` — so a consumer slower than the
timeout makes duplicates, and ``ChangeMessageVisibility`` is how it asks for more
time. A receipt handle goes stale once the message is received again: deleting
or extending with it fails. Past the redrive policy's ``maxReceiveCount`` a
message moves to the dead-letter queue instead of being received again.

A **standard** queue promises at-least-once and best-effort order: now and then
it stores a second copy, or hands a message out late (seeded chances, shown in
the trace header). A **FIFO** queue keeps strict order per message group (the
message key here): while any message of a group is in flight, no other message
of that group is handed out — one in-flight batch per group. A FIFO queue also
drops a send whose deduplication id it has seen in the last 5 minutes (the send
still succeeds): the id is the one the sender set by hand, else the producer's
message id, or with content-based deduplication the SHA-256 of the body.
"""

from __future__ import annotations

import hashlib
from collections import deque
from collections.abc import Callable
from typing import TYPE_CHECKING

from simulator.messages import Message
from simulator.models.sqs.settings import DEDUP_WINDOW_MS, queue_attributes, service_args
from simulator.permessage import MessageFlags
from simulator.scenario import Group as GroupSpec
from simulator.trace import (
    DeadLettered,
    DedupDropped,
    DeleteFailed,
    Enqueued,
    MessageDeleted,
    MessageExpired,
    VisibilityChanged,
    VisibilityChangeFailed,
    VisibilityExpired,
)

if TYPE_CHECKING:
    from simulator.kernel import Timer
    from simulator.models.sqs.broker import SqsBroker
    from simulator.runtime import Runtime

__all__ = ["DEDUP_WINDOW_MS", "InFlight", "Queue", "Receive", "SqsMessage"]


class SqsMessage:
    """One stored copy of a message in one queue."""

    __slots__ = (
        "batch",
        "cause_seq",
        "deleted",
        "group_id",
        "in_flight",
        "msg",
        "receipt",
        "receive_count",
        "sent_ms",
        "tries",
        "visible_at",
    )

    def __init__(self, msg: Message, sent_ms: int, cause_seq: int) -> None:
        self.msg = msg
        self.sent_ms = sent_ms
        self.cause_seq = cause_seq
        """The record that made it visible: Enqueued, VisibilityExpired or Redriven."""
        self.group_id = msg.key if msg.key is not None else "-"
        self.receive_count = 0
        self.tries = 0
        """Times a handler ran on it, over every receive (the attempt numbers in the trace)."""
        self.receipt = 0
        """The latest receipt handle handed out; only it can delete or extend the message."""
        self.in_flight = False
        self.deleted = False
        self.visible_at = 0
        self.batch: InFlight | None = None


class InFlight:
    """Messages hidden by one receive (or one visibility change), sharing one timer."""

    __slots__ = ("entries", "pending", "timer")

    def __init__(self, entries: list[SqsMessage]) -> None:
        self.entries = entries
        self.pending = len(entries)
        self.timer: Timer | None = None


class Receive:
    """One ``ReceiveMessage`` call waiting at the queue (a long poll)."""

    __slots__ = ("done", "max_messages", "respond")

    def __init__(
        self, max_messages: int, respond: Callable[[list[tuple[SqsMessage, int, bool]]], None]
    ) -> None:
        self.max_messages = max_messages
        self.respond = respond
        self.done = False


class Queue:
    """A standard or FIFO queue with its in-flight messages, long polls and redrive policy."""

    def __init__(self, runtime: Runtime, broker: SqsBroker, spec: GroupSpec, fifo: bool) -> None:
        self.runtime = runtime
        self.broker = broker
        self.spec = spec
        self.name = spec.name
        self.fifo = fifo
        attrs = queue_attributes(spec)
        self.visibility_ms = attrs.visibility_timeout_ms
        self.max_receive_count = attrs.max_receive_count
        self.retention_ms = attrs.message_retention_ms
        self.delay_ms = attrs.delay_seconds * 1000
        service = service_args(runtime.scenario)
        dup = attrs.duplicate_probability
        reorder = attrs.reorder_probability
        self.duplicate_probability = (
            0.0 if fifo else (service.duplicate_probability if dup is None else dup)
        )
        self.reorder_probability = (
            0.0 if fifo else (service.reorder_probability if reorder is None else reorder)
        )
        self.reorder_window_ms = service.reorder_window_ms
        self._rng = runtime.rng.stream(f"sqs:{spec.name}")
        self.ready: deque[SqsMessage] = deque()
        """Standard queue: visible messages, roughly oldest first."""
        self.groups: dict[str, deque[SqsMessage]] = {}
        """FIFO queue: visible messages per message group, strictly in order."""
        self.ready_groups: deque[str] = deque()
        self._group_queued: dict[str, bool] = {}
        self.locked: dict[str, int] = {}
        """FIFO: message group → its messages in flight (the group is locked while > 0)."""
        self.waiters: deque[Receive] = deque()
        self.dedup: dict[str, tuple[int, int]] = {}
        """FIFO: deduplication id → (first seen at, message id)."""
        self._seen = MessageFlags()
        """The messages received at least once (a flag per message id, for the whole run)."""
        self._next_receipt = 0
        self.content_based = attrs.content_based_dedup

    # -- sending -------------------------------------------------------------------------------

    def send(self, msg: Message, cause_seq: int | None) -> None:
        """``SendMessage`` (or an SNS fan-out) reached this queue."""
        runtime = self.runtime
        now = runtime.kernel.now_ms
        if self.fifo:
            if msg.dedup_id is not None:
                dedup_id = msg.dedup_id  # set by hand: it wins over content-based dedup
            elif self.content_based:
                dedup_id = hashlib.sha256(msg.value.encode()).hexdigest()
            else:
                dedup_id = f"m{msg.id}"
            seen = self.dedup.get(dedup_id)
            if seen is not None and now - seen[0] < DEDUP_WINDOW_MS:
                runtime.emit(
                    DedupDropped,
                    self.name,
                    cause_seq,
                    group=self.name,
                    msg=msg.id,
                    dedup_id=dedup_id if len(dedup_id) < 20 else dedup_id[:16] + "…",
                    first_msg=seen[1],
                )
                return
            self.dedup[dedup_id] = (now, msg.id)
        copies = 1
        if self.duplicate_probability and self._rng.random() < self.duplicate_probability:
            copies = 2
        for copy in range(copies):
            delay = self.delay_ms
            if self.reorder_probability and self._rng.random() < self.reorder_probability:
                delay += self._rng.randint(1, self.reorder_window_ms)
            entry = SqsMessage(msg, now, 0)
            rec = runtime.record(
                Enqueued(
                    seq=runtime.next_seq,
                    at=now,
                    component=self.name,
                    cause_seq=cause_seq,
                    group=self.name,
                    msg=msg.id,
                    key=msg.key,
                    copy=copy > 0,
                    visible_in_ms=delay,
                )
            )
            entry.cause_seq = rec.seq
            if delay:
                runtime.kernel.after(delay, self._delay_over, entry)
            else:
                self._available(entry, at_head=False)
        self._serve_waiters()

    def redrive_in(self, msg: Message, cause_seq: int) -> None:
        """A message moved back from the DLQ: a fresh copy, receive count from zero."""
        entry = SqsMessage(msg, self.runtime.kernel.now_ms, cause_seq)
        self._available(entry, at_head=False)
        self._serve_waiters()

    def _delay_over(self, entry: SqsMessage) -> None:
        self._available(entry, at_head=False)
        self._serve_waiters()

    def _available(self, entry: SqsMessage, *, at_head: bool) -> None:
        if not self.fifo:
            if at_head:
                self.ready.appendleft(entry)
            else:
                self.ready.append(entry)
            return
        gid = entry.group_id
        q = self.groups.get(gid)
        if q is None:
            q = self.groups[gid] = deque()
        if at_head:
            q.appendleft(entry)
        else:
            q.append(entry)
        if not self.locked.get(gid) and not self._group_queued.get(gid):
            self._group_queued[gid] = True
            self.ready_groups.append(gid)

    def visible_count(self) -> int:
        """Messages visible right now (``ApproximateNumberOfMessagesVisible``)."""
        if not self.fifo:
            return len(self.ready)
        return sum(len(q) for q in self.groups.values())

    # -- receiving -----------------------------------------------------------------------------

    def receive(self, request: Receive, wait_ms: int) -> None:
        """``ReceiveMessage``: answer now, or hold the call open for up to ``wait_ms``."""
        batch = self._take(request.max_messages)
        if batch or wait_ms == 0:
            request.done = True
            request.respond(batch)
            return
        self.waiters.append(request)
        self.runtime.kernel.after(wait_ms, self._wait_over, request, background=True)

    def _wait_over(self, request: Receive) -> None:
        if not request.done:
            request.done = True
            request.respond([])

    def _serve_waiters(self) -> None:
        waiters = self.waiters
        while waiters:
            request = waiters[0]
            if request.done:
                waiters.popleft()
                continue
            batch = self._take(request.max_messages)
            if not batch:
                return
            waiters.popleft()
            request.done = True
            request.respond(batch)

    def _take(self, n: int) -> list[tuple[SqsMessage, int, bool]]:
        """Hide up to ``n`` visible messages and hand out receipt handles."""
        out: list[tuple[SqsMessage, int, bool]] = []
        if self.fifo:
            self._take_fifo(n, out)
        else:
            ready = self.ready
            while ready and len(out) < n:
                entry = ready.popleft()
                if self._receivable(entry):
                    out.append(self._hand_out(entry))
        if out:
            entries = [e for e, _, _ in out]
            batch = InFlight(entries)
            for e in entries:
                e.batch = batch
            batch.timer = self.runtime.kernel.timer(
                self.runtime.kernel.now_ms + self.visibility_ms, self._visibility_over, batch
            )
        return out

    def _take_fifo(self, n: int, out: list[tuple[SqsMessage, int, bool]]) -> None:
        ready_groups = self.ready_groups
        while ready_groups and len(out) < n:
            gid = ready_groups.popleft()
            self._group_queued[gid] = False
            q = self.groups[gid]
            taken = 0
            while q and len(out) < n:
                entry = q.popleft()
                if self._receivable(entry):
                    out.append(self._hand_out(entry))
                    taken += 1
            if taken:
                self.locked[gid] = self.locked.get(gid, 0) + taken
            elif q:
                self._group_queued[gid] = True
                ready_groups.append(gid)

    def _receivable(self, entry: SqsMessage) -> bool:
        """Drop deleted, expired and over-received messages on the way out."""
        if entry.deleted:
            return False
        now = self.runtime.kernel.now_ms
        if now - entry.sent_ms >= self.retention_ms:
            entry.deleted = True
            self.runtime.emit(
                MessageExpired,
                self.name,
                entry.cause_seq,
                group=self.name,
                msg=entry.msg.id,
                key=entry.msg.key,
                reason=f"older than MessageRetentionPeriod ({self.retention_ms} ms)",
            )
            return False
        limit = self.max_receive_count
        if limit is not None and entry.receive_count >= limit:
            entry.deleted = True
            dlq = self.spec.dead_letter_topic or ""
            dead = self.runtime.emit(
                DeadLettered,
                self.name,
                entry.cause_seq,
                group=self.name,
                msg=entry.msg.id,
                key=entry.msg.key,
                destination=dlq,
                reason=f"received {entry.receive_count} times (maxReceiveCount {limit})",
            )
            self.broker.to_dead_letter_queue(self, entry.msg, dead.seq)
            return False
        return True

    def _hand_out(self, entry: SqsMessage) -> tuple[SqsMessage, int, bool]:
        entry.receive_count += 1
        self._next_receipt += 1
        entry.receipt = self._next_receipt
        entry.in_flight = True
        entry.visible_at = self.runtime.kernel.now_ms + self.visibility_ms
        msg_id = entry.msg.id
        redelivered = msg_id in self._seen
        self._seen.add(msg_id)
        return entry, entry.receipt, redelivered

    # -- the visibility timeout ----------------------------------------------------------------

    def _visibility_over(self, batch: InFlight) -> None:
        now = self.runtime.kernel.now_ms
        returned: list[SqsMessage] = []
        for entry in batch.entries:
            if entry.batch is not batch or not entry.in_flight:
                continue
            rec = self.runtime.emit(
                VisibilityExpired,
                self.name,
                entry.cause_seq,
                group=self.name,
                msg=entry.msg.id,
                receive_count=entry.receive_count,
            )
            entry.cause_seq = rec.seq
            entry.in_flight = False
            entry.batch = None
            entry.visible_at = now
            returned.append(entry)
        # FIFO: back to the head of their group, in their order.
        for entry in reversed(returned) if self.fifo else returned:
            self._available(entry, at_head=self.fifo)
        if self.fifo:
            for entry in returned:
                self._unlock(entry.group_id)
        self._serve_waiters()

    def _unlock(self, gid: str) -> None:
        count = self.locked.get(gid, 0) - 1
        if count > 0:
            self.locked[gid] = count
            return
        self.locked.pop(gid, None)
        if self.groups.get(gid) and not self._group_queued.get(gid):
            self._group_queued[gid] = True
            self.ready_groups.append(gid)

    def _leave_batch(self, entry: SqsMessage) -> None:
        batch = entry.batch
        entry.batch = None
        if batch is None:
            return
        batch.pending -= 1
        if batch.pending == 0 and batch.timer is not None:
            batch.timer.cancel()
            # The cancelled timer stays in the kernel's agenda until its time, holding the
            # batch: let the messages go now (the timer will never read them).
            batch.entries.clear()

    # -- deleting and extending ----------------------------------------------------------------

    def delete(self, entry: SqsMessage, receipt: int, consumer: str, cause_seq: int | None) -> None:
        """``DeleteMessage``: only the latest receipt handle works."""
        runtime = self.runtime
        if receipt != entry.receipt:
            runtime.emit(
                DeleteFailed,
                self.name,
                cause_seq,
                group=self.name,
                consumer=consumer,
                msg=entry.msg.id,
                reason="stale receipt handle: the message was received again since",
            )
            return
        if entry.deleted:
            return  # deleting twice with the same handle succeeds and does nothing
        entry.deleted = True
        if entry.in_flight:
            entry.in_flight = False
            self._leave_batch(entry)
            if self.fifo:
                self._unlock(entry.group_id)
                self._serve_waiters()
        runtime.record(
            MessageDeleted(
                seq=runtime.next_seq,
                at=runtime.kernel.now_ms,
                component=self.name,
                cause_seq=cause_seq,
                group=self.name,
                consumer=consumer,
                msg=entry.msg.id,
                receive_count=entry.receive_count,
            )
        )

    def change_visibility(
        self, entry: SqsMessage, receipt: int, timeout_ms: int, consumer: str, cause_seq: int | None
    ) -> None:
        """``ChangeMessageVisibility``: hide an in-flight message ``timeout_ms`` from now."""
        runtime = self.runtime
        if receipt != entry.receipt or entry.deleted or not entry.in_flight:
            runtime.emit(
                VisibilityChangeFailed,
                self.name,
                cause_seq,
                group=self.name,
                consumer=consumer,
                msg=entry.msg.id,
                reason="stale receipt handle" if receipt != entry.receipt else "not in flight",
            )
            return
        self._leave_batch(entry)
        batch = InFlight([entry])
        entry.batch = batch
        entry.visible_at = runtime.kernel.now_ms + timeout_ms
        batch.timer = runtime.kernel.timer(entry.visible_at, self._visibility_over, batch)
        runtime.emit(
            VisibilityChanged,
            self.name,
            cause_seq,
            group=self.name,
            consumer=consumer,
            msg=entry.msg.id,
            timeout_ms=timeout_ms,
        )
