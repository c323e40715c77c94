"""A Kafka-style consumer: poll, process, commit — and where each order goes wrong.

The loop is Kafka's: ``poll()`` returns up to ``max_poll_records`` records and
moves the consumer's *position* past them; the handler processes them one by
one; the committed offset (the next offset to read, stored by the group
coordinator) decides where a successor starts after a crash or rebalance.
When the commit happens relative to processing is the delivery guarantee:

- ``before-process``: commit, then process — a crash mid-batch skips the rest
  (at-most-once).
- ``after-process``: process, then commit — a crash before the commit replays
  the batch (at-least-once).
- ``auto`` (Kafka's default, every ``auto_commit_interval_ms``): committed inside
  the *next* ``poll()`` for what the previous poll returned, so a crash between
  polls replays up to one interval of records.
- ``transactional``: outputs and offsets commit atomically (exactly-once for
  ``read_committed`` readers downstream); a crash aborts the transaction.

A handler failure goes through the group's retry policy (blocking retries),
then retry topics, then the dead-letter topic — or the message is skipped.

A group may name a *processor* (``simulator.streams.plugin``): a stream
processor or a saga role that turns each processed record into output records
and state changes. The consumer writes those outputs exactly where it would
write ``output_topic`` — inside the transaction, if there is one — so the
processor inherits the group's delivery guarantee.
"""

from __future__ import annotations

from collections.abc import Callable
from itertools import repeat
from typing import TYPE_CHECKING

from msgspec.structs import replace

from simulator.kernel import Lane, Timers
from simulator.models.handling import record_failure, record_output_produced
from simulator.models.log.assignors import TopicPartition
from simulator.models.log.partition import Entry, Partition
from simulator.scenario import Group as GroupSpec
from simulator.trace import (
    Acked,
    CommitFailed,
    Crashed,
    DeadLettered,
    Delivered,
    MetadataRefreshed,
    PositionReset,
    Processed,
    Restarted,
    RetryScheduled,
    Skipped,
)

if TYPE_CHECKING:
    from simulator.messages import Message
    from simulator.models.log.broker import LogBroker
    from simulator.models.log.cluster import ReplicatedLogBroker
    from simulator.models.log.group import GroupCoordinator
    from simulator.runtime import Runtime
    from simulator.streams.plugin import Processor
    from simulator.usercode.consumer import GroupCode

__all__ = ["ClusterConsumer", "Consumer"]

Chunk = tuple[Partition, list[Entry], list[int]]
"""What one fetch read from one partition: the partition, its entries, and the seqs of
their Delivered records."""


class Consumer:
    """One member of a consumer group, running the poll loop."""

    def __init__(
        self,
        runtime: Runtime,
        broker: LogBroker,
        group: GroupCoordinator,
        spec: GroupSpec,
        name: str,
    ) -> None:
        self.runtime = runtime
        self._records = runtime.records
        """The trace (a live view): its length is the next record's seq, read per message."""
        self._crashes_at = runtime.faults.crashes_at
        self.broker = broker
        self.group = group
        self.spec = spec
        self.name = name
        self.incarnation = 1
        self.crashed = False
        self.crash_seq: int | None = None
        self.generation = 0
        self.assigned: list[TopicPartition] = []
        self.positions: dict[TopicPartition, int] = {}
        self.position_cause: dict[TopicPartition, int] = {}
        self.rejoin_needed = False
        self.busy = False
        self.polls = 0
        self.last_auto_commit_ms = 0
        self._token = 0
        self._rr = 0
        self._batch: list[tuple[Partition, Entry, int]] = []
        """The batch in hand, one record at a time: (partition, entry, seq of its Delivered);
        ``_i`` is the record being processed."""
        self._i = 0
        self._attempt = 1
        self._done: dict[TopicPartition, int] = {}
        self._chunks: list[Chunk] = []
        """The batch in hand as the fetch read it, a chunk per partition."""
        self._txn: str | None = None
        self._txn_count = 0
        self._txn_outputs: list[tuple[int, str, int, int]] = []
        self._processing_ms = spec.processing_ms
        self._read_committed = spec.isolation == "read_committed"
        self._retry_rng = runtime.rng.stream(f"retry:{spec.name}")
        self._timers = Timers(runtime.kernel, cancellable=runtime.faults.may_crash(name))
        """Processing and retry-backoff timers: a crash calls them off."""
        self.processor: Processor | None = None
        if spec.processor is not None:
            from simulator.streams.plugin import build_processor

            self.processor = build_processor(self)
        self._may_fail = runtime.faults.handlers_may_fail(spec.name)
        self._may_slow = runtime.faults.may_slow(name)
        self._leader_check: Callable[[TopicPartition, Partition], bool] | None = None
        """In a cluster: may this poll read ``tp`` from its leader? (None: one broker, always.)"""
        self.started = False
        """Whether its process was ever started (a scaled-out consumer may not be yet)."""
        self.start_cause: int | None = None
        """What started this process on purpose (an autoscaler's decision), if anything."""
        self.stopping = False
        """Shutting down cleanly (scaled in): leave the group once the batch in hand is done."""
        self._stop_cause: int | None = None
        self.code: GroupCode | None = None
        """The group's own handler (``[[groups]] handler``), run where the built-in one decides."""
        if spec.handler is not None:
            from simulator.usercode.consumer import group_code

            self.code = group_code(runtime, spec, name, self._send_code_output)
        # Read once per message: kept at hand rather than looked up through the runtime.
        self._record = runtime.record
        self._runtime_record_each = runtime.record_each
        self._kernel = runtime.kernel
        self._poll_checks = Lane(
            runtime.kernel, spec.max_poll_interval_ms, self._check_poll_interval, background=True
        )
        """One check after each poll that the next came in time: a busy run has thousands
        pending at once, each the same five minutes ahead, so they wait in a lane."""
        self._group_name = spec.name
        self._commit_each = spec.commit == "after-process" and spec.commit_every == "message"
        self._schedule_item = self._timers.schedule
        self._next_plain = self._run_plain
        """``_run_plain`` bound once: scheduled again after each record that takes time."""
        self._plain = (
            self.code is None
            and self.processor is None
            and not self._may_fail
            and spec.output_topic is None
            and not self._commit_each
        )
        """Every record succeeds, writes nothing and commits with its batch: the loop of
        ``_run_plain`` handles it, without the checks the other cases need per record."""
        self._instant = self._plain and not self._processing_ms and not self._may_slow
        """Plain, and no record takes time: the whole batch is processed in the action that
        fetched it, chunk by chunk, so its ``_batch`` of single records stays empty."""

    # -- lifecycle ---------------------------------------------------------------------

    def start(self) -> None:
        self.started = True
        self.runtime.kernel.schedule(self.spec.start_ms, self._begin)

    def _begin(self, _: object = None) -> None:
        if self.crashed:
            return
        self.group.join(self)
        self._heartbeat(self.incarnation)

    def _heartbeat(self, incarnation: int) -> None:
        if self.crashed or incarnation != self.incarnation:
            return
        self.runtime.network.send(
            self.name,
            "broker",
            "heartbeat",
            None,
            self.group.heartbeat,
            (self.name, incarnation),
            background=True,
        )
        self.runtime.kernel.after(
            self.spec.heartbeat_interval_ms, self._heartbeat, incarnation, background=True
        )

    def crash(self, point: str | None) -> int:
        """Stop dead: the batch in hand, the open transaction and the position are gone."""
        runtime = self.runtime
        crashed: Crashed = runtime.emit(Crashed, self.name, None, point=point)
        self.crashed = True
        self.crash_seq = crashed.seq
        self._token += 1
        self._timers.cancel_all()
        self.busy = False
        self._batch = []
        self._chunks = []
        if self._txn is not None:
            self.broker.abort_transaction(
                self._txn, self.spec.name, "consumer crashed", crashed.seq
            )
            self._txn = None
            self._txn_outputs = []
            if self.code is not None:
                self.code.transaction_ends(False, crashed.seq)
        self.group.member_went_silent(self)
        if self.processor is not None:
            self.processor.on_crash(crashed.seq)
        return crashed.seq

    def restart(self) -> None:
        """A new process: a new member of the group, starting from committed offsets."""
        if not self.crashed:
            return
        self.runtime.emit(Restarted, self.name, self.crash_seq)
        self._new_process()
        self._begin()

    def _new_process(self) -> None:
        self.crashed = False
        self.stopping = False
        self.incarnation += 1
        self.generation = 0
        self.assigned = []
        self.positions = {}
        self.rejoin_needed = False

    # -- scaling: a process started and stopped on purpose ------------------------------

    def launch(self, after_ms: int, cause_seq: int | None) -> None:
        """Start this consumer's process: it joins its group ``after_ms`` from now (a pod)."""
        if self.started and not self.crashed:
            self.stopping = False  # asked to stay after all: it keeps running
            return
        self.started = True
        self._new_process()
        self.start_cause = cause_seq
        self.runtime.kernel.after(after_ms, self._launched, self.incarnation)

    def _launched(self, incarnation: int) -> None:
        if incarnation == self.incarnation and not self.crashed:
            self._begin()

    def stop(self, cause_seq: int | None) -> None:
        """Shut down cleanly, as a scaled-in pod does on SIGTERM: close() leaves the group.

        The batch in hand is finished (and committed) first; with auto-commit,
        ``close()`` commits the positions too. No ``Crashed``: nothing is lost.
        """
        if self.crashed:
            return
        self.stopping = True
        self._stop_cause = cause_seq
        if not self.busy:
            self._leave()

    def _leave(self) -> None:
        if self.spec.commit == "auto" and self.generation > 0 and self.group.is_member(self):
            self._commit(dict(self.positions), None)
        self.crashed = True  # the process is gone: every loop it ran stops here
        self.stopping = False
        self._token += 1
        self._timers.cancel_all()
        self.group.leave(self.name, "left_group", self._stop_cause)

    # -- messages from the coordinator -------------------------------------------------

    def on_rebalance_started(self) -> None:
        self.rejoin_needed = True
        if not self.busy and not self.crashed:
            self._wake()

    def on_assigned(
        self, generation: int, partitions: list[TopicPartition], cause_seq: int
    ) -> None:
        """The new generation's assignment: start each partition at its committed offset."""
        self.generation = generation
        self.rejoin_needed = False
        self.assigned = partitions
        self.positions = {}
        self.position_cause = {}
        self._rr = 0
        committed = self.group.committed
        for tp in partitions:
            part = self.broker.partition(tp)
            offset = committed.get(tp)
            if offset is not None and offset >= part.log_start_offset:
                reason = "committed"
            elif offset is not None:
                offset, reason = self._reset_offset(part), "out_of_range"
            else:
                offset, reason = self._reset_offset(part), self.spec.auto_offset_reset
            self._set_position(tp, offset, reason, cause_seq)
        self.last_auto_commit_ms = self.runtime.kernel.now_ms
        if self.processor is not None:
            self.processor.on_assigned(partitions, cause_seq)
        if not self.busy and not self.crashed:
            self._wake()

    def on_removed(self) -> None:
        """The coordinator dropped this member; it must rejoin on its next poll."""
        self.generation = -1

    def _reset_offset(self, part: Partition) -> int:
        return (
            part.log_start_offset
            if self.spec.auto_offset_reset == "earliest"
            else part.readable_end
        )

    def _set_position(
        self, tp: TopicPartition, offset: int, reason: str, cause_seq: int | None
    ) -> None:
        self.positions[tp] = offset
        reset = self.runtime.emit(
            PositionReset,
            self.name,
            cause_seq,
            group=self.spec.name,
            consumer=self.name,
            topic=tp[0],
            partition=tp[1],
            offset=offset,
            reason=reason,
        )
        self.position_cause[tp] = reset.seq

    # -- the poll loop -----------------------------------------------------------------

    def _wake(self, _: object = None) -> None:
        self._token += 1
        self.runtime.kernel.after(0, self._poll, self._token)

    def on_data(self) -> None:
        """A partition this consumer long-polls got a record."""
        if not self.busy and not self.crashed:
            self._token += 1
            self.runtime.kernel.after(self.runtime.network.latency_ms, self._poll, self._token)

    def _poll(self, token: int) -> None:
        if self.crashed or token != self._token or self.busy:
            return
        runtime = self.runtime
        now = runtime.kernel.now_ms
        group = self.group
        spec = self.spec
        self.polls += 1
        if not group.is_member(self) or self.rejoin_needed:
            if not runtime.network.allows(self.name, "broker", "join"):
                self._retry_poll(spec.heartbeat_interval_ms)
                return
            if group.is_member(self) and spec.commit == "auto" and self.generation > 0:
                self._commit(dict(self.positions), None)  # onPartitionsRevoked
            if not group.is_member(self):
                self.generation = 0
            group.join(self)
            return
        if group.rebalancing or self.generation <= 0:
            return
        if spec.commit == "auto" and now - self.last_auto_commit_ms >= spec.auto_commit_interval_ms:
            self.last_auto_commit_ms = now
            self._commit(dict(self.positions), None)
        if not runtime.network.allows(self.name, "broker", "fetch", background=True):
            self._retry_poll(spec.fetch_max_wait_ms)
            return
        chunks = self._fetch(now)
        if not chunks:
            for tp in self.assigned:
                self.broker.partition(tp).waiters[self.name] = self.on_data
            self._token += 1
            runtime.kernel.after(spec.fetch_max_wait_ms, self._poll, self._token, background=True)
            return
        self.busy = True
        self._chunks = chunks
        batch: list[tuple[Partition, Entry, int]] = []
        if not self._instant:  # one record at a time: (partition, entry, seq of its Delivered)
            for part, entries, seqs in chunks:
                batch.extend(zip(repeat(part), entries, seqs))
        self._batch = batch
        self._i = 0
        self._attempt = 1
        self._done = {}
        self._poll_checks.after(self.polls)
        if self._crash_point("after_poll"):
            return
        if spec.commit == "before-process":
            self._commit(dict(self.positions), chunks[-1][2][-1])
            if self._crash_point("after_commit_before_process"):
                return
        elif spec.commit == "transactional":
            self._txn_count += 1
            self._txn = f"{self.name}:{self.incarnation}:{self._txn_count}"
            self._txn_outputs = []
            if self.code is not None:
                self.code.transaction_begins()
        self._start_item(self._token)

    def _retry_poll(self, delay_ms: int) -> None:
        """The broker could not be reached: try again later.

        Background, like an idle poll: a consumer cut off for good must not keep
        the run alive (a healing partition is itself scheduled work).
        """
        self._token += 1
        self.runtime.kernel.after(delay_ms, self._poll, self._token, background=True)

    def _fetch(self, now: int) -> list[Chunk]:
        """Read up to ``max_poll_records`` from the assigned partitions; emit a Delivered each.

        Returns what was read, a chunk per partition: (partition, its entries, the seqs
        of their Delivered records).
        """
        assigned = self.assigned
        n = len(assigned)
        if not n or not self.broker.up:
            return []
        remaining = self.spec.max_poll_records
        out: list[Chunk] = []
        start = self._rr
        self._rr = (start + 1) % n
        broker = self.broker
        txn_state = broker.txn_state
        upto = self.group_delivered_upto
        positions = self.positions
        record_all = self.runtime.record_all
        records = self._records
        group_name = self.spec.name
        name = self.name
        position_cause = self.position_cause
        leader_check = self._leader_check
        for i in range(n):
            tp = assigned[(start + i) % n]
            part = broker.partition(tp)
            if leader_check is not None and not leader_check(tp, part):
                continue
            position = positions[tp]
            if position < part.log_start_offset:
                self._set_position(tp, self._reset_offset(part), "out_of_range", None)
                position = positions[tp]
            entries, positions[tp] = part.read(
                position, remaining, self._read_committed, txn_state, now
            )
            if not entries:
                continue
            high = upto.get(tp, 0)
            topic, index = part.topic, part.index
            first = len(records)
            # A list, not a range: the Delivered records and the chunk (whose Processed
            # records cite them) share one int object per seq rather than making two.
            seqs = list(range(first, first + len(entries)))
            if entries[0].offset >= high:
                # The common case: the group gets all of these for the first time. What
                # their records share is set once, in a template; each record is the
                # template with its own fields (cheaper than building each from scratch).
                template = Delivered(
                    seq=first,
                    at=now,
                    component=name,
                    group=group_name,
                    consumer=name,
                    msg=0,
                    key=None,
                    topic=topic,
                    partition=index,
                    offset=0,
                    redelivered=False,
                )
                delivered = [
                    replace(
                        template,
                        seq=seq,
                        cause_seq=e.appended_seq,
                        msg=(msg := e.msg).id,
                        key=msg.key,
                        offset=e.offset,
                    )
                    for seq, e in zip(seqs, entries, strict=True)
                ]
            else:
                # Some were given to the group before (a rebalance, a restart): those cite
                # the position reset that sends the group back over them.
                delivered = [
                    Delivered(
                        seq=seq,
                        at=now,
                        component=name,
                        cause_seq=position_cause[tp] if e.offset < high else e.appended_seq,
                        group=group_name,
                        consumer=name,
                        msg=e.msg.id,
                        key=e.msg.key,
                        topic=topic,
                        partition=index,
                        offset=e.offset,
                        redelivered=e.offset < high,
                    )
                    for seq, e in zip(seqs, entries, strict=True)
                ]
            record_all(delivered)  # the records of one partition, booked together
            out.append((part, entries, seqs))
            last = entries[-1].offset + 1
            if last > high:
                upto[tp] = last
            remaining -= len(entries)
            if remaining <= 0:
                break
        if not out and any(broker.partition(tp).delayed for tp in assigned):
            self._wake_for_due(now)
        return out

    @property
    def group_delivered_upto(self) -> dict[TopicPartition, int]:
        return self.broker.delivered_upto[self.spec.name]

    def _wake_for_due(self, now: int) -> None:
        """A retry topic holds records not yet due: poll again when the first one is."""
        due = [
            e.due_ms
            for tp in self.assigned
            if (part := self.broker.partition(tp)).delayed
            for i in [part.index_of(self.positions[tp])]
            for e in part.entries[i : i + 1]
            if e.due_ms > now
        ]
        if due:
            self.runtime.kernel.schedule(min(due), self._wake)

    def _check_poll_interval(self, polls_then: int) -> None:
        """The heartbeat thread notices the app has not polled for max.poll.interval.ms."""
        if self.crashed or self.polls != polls_then or not self.group.is_member(self):
            return
        self.group.leave(self.name, "max_poll_interval", None)

    # -- processing one record at a time -----------------------------------------------

    def _start_item(self, token: int) -> None:
        """Begin the current record: its processing takes ``processing_ms`` of virtual time."""
        duration = self._duration()
        if duration:
            self._timers.after(duration, self._run_items, token)
        else:
            self._run_items(token)

    def _duration(self) -> int:
        if self._may_slow:
            return self.runtime.faults.processing_ms(self.name, self._processing_ms)
        return self._processing_ms

    def _run_items(self, token: int) -> None:
        """Finish the current record and go on; records that take no time run in one go."""
        if self._plain:
            self._run_plain(token)
            return
        kernel = self._kernel
        while self._finish_item(token):
            if self._i >= len(self._batch):
                self._end_batch()
                return
            duration = self._duration() if self._may_slow else self._processing_ms
            if duration:
                self._schedule_item(kernel.now_ms + duration, self._run_items, token)
                return

    def _run_plain(self, token: int) -> None:
        """``_run_items`` for a plain consumer (``_plain``): each record is just processed.

        The same records in the same order as ``_finish_item`` and ``_item_done``
        write for such a consumer, in one loop with what it reads kept at hand; an
        instant one (``_instant``) builds them all at once from its chunks.
        """
        if self.crashed or token != self._token:
            return
        batch = self._batch
        n = len(batch)
        i = self._i
        done = self._done
        record = self._record
        records = self._records
        now = self._kernel.now_ms  # the clock stands still within one action
        name = self.name
        group_name = self._group_name
        txn = self._txn
        if self._instant:
            # The whole batch, in this one action: a partition's records share what is set
            # once in a template, and all of them are booked in runs (``record_each``).
            first = len(records)
            processed: list[Processed] = []
            for part, entries, delivered_seqs in self._chunks:
                template = Processed(
                    seq=first,
                    at=now,
                    component=name,
                    group=group_name,
                    consumer=name,
                    msg=0,
                    key=None,
                    key_seq=0,
                    topic=part.topic,
                    partition=part.index,
                    offset=0,
                    txn=txn,
                )
                processed.extend(
                    [
                        replace(
                            template,
                            seq=seq,
                            cause_seq=delivered_seq,
                            msg=(msg := entry.msg).id,
                            key=msg.key,
                            key_seq=msg.key_seq,
                            offset=entry.offset,
                        )
                        for seq, entry, delivered_seq in zip(
                            range(first, first + len(entries)), entries, delivered_seqs, strict=True
                        )
                    ]
                )
                first += len(entries)
                done[part.tp] = entries[-1].offset + 1
            self._runtime_record_each(processed)
            self._end_batch()
            return
        # _attempt stays 1: nothing fails here
        while True:
            part, entry, delivered_seq = batch[i]
            msg = entry.msg
            offset = entry.offset
            record(
                Processed(
                    seq=len(records),
                    at=now,
                    component=name,
                    cause_seq=delivered_seq,
                    group=group_name,
                    consumer=name,
                    msg=msg.id,
                    key=msg.key,
                    key_seq=msg.key_seq,
                    topic=part.topic,
                    partition=part.index,
                    offset=offset,
                    txn=txn,
                )
            )
            done[part.tp] = offset + 1
            i += 1
            if i >= n:
                self._i = i
                self._end_batch()
                return
            duration = self._duration() if self._may_slow else self._processing_ms
            if duration:
                self._i = i
                self._schedule_item(now + duration, self._next_plain, token)
                return
            if self.crashed or token != self._token:
                self._i = i
                return

    def _finish_item(self, token: int) -> bool:
        """Run the handler on the current record; True when the next record may start."""
        if self.crashed or token != self._token:
            return False
        runtime = self.runtime
        spec = self.spec
        part, entry, delivered_seq = self._batch[self._i]
        msg = entry.msg
        error = (
            runtime.faults.handler_error(spec.name, self.name, msg.id, msg.key, msg.value)
            if self._may_fail
            else None
        )
        if self.code is not None:
            error = self.code.run(msg, part.topic, delivered_seq, error)
        if error is not None:
            if not self._failed(part, entry, delivered_seq, error, token):
                return False
            return self._item_done(part, entry)
        seq = len(self._records)
        runtime.record(
            Processed(
                seq=seq,
                at=runtime.kernel.now_ms,
                component=self.name,
                cause_seq=delivered_seq,
                group=spec.name,
                consumer=self.name,
                msg=msg.id,
                key=msg.key,
                key_seq=msg.key_seq,
                topic=part.topic,
                partition=part.index,
                offset=entry.offset,
                txn=self._txn,
            )
        )
        if self.code is not None:
            self.code.processed(seq)
        elif self.processor is not None:
            for topic, out in self.processor.process(part, entry, seq):
                self.write_output(topic, out, seq)
        elif spec.output_topic is not None:
            self._write_output(msg.id, seq)
        return self._item_done(part, entry)

    def _write_output(self, msg_id: int, cause_seq: int) -> None:
        out = self.runtime.derived_message(msg_id, self.spec.output_topic or "")
        self.write_output(self.spec.output_topic or "", out, cause_seq)

    def _send_code_output(self, topic: str, out: Message, cause_seq: int | None) -> int:
        """A message the group's own handler publishes; the seq of its ``Produced``."""
        produced = self.runtime.next_seq
        self.write_output(topic, out, cause_seq)
        return produced

    def write_output(self, topic: str, out: Message, cause_seq: int | None) -> None:
        """Append ``out`` to ``topic`` by key, inside the open transaction if there is one.

        The consumer is a producer here: it hands the output over (``Produced``,
        under its own name) and it counts as sent once appended — or, inside a
        transaction, once the transaction commits.
        """
        produced = record_output_produced(self.runtime, self.name, out, topic, cause_seq)
        entry, part = self.broker.append_keyed(topic, out, self.name, produced, txn=self._txn)
        if self._txn is None:
            self.runtime.emit(
                Acked,
                self.name,
                entry.appended_seq,
                producer=self.name,
                msg=out.id,
                topic=topic,
                partition=part.index,
                offset=entry.offset,
            )
        else:
            self._txn_outputs.append((out.id, topic, part.index, entry.offset))

    def _failed(
        self, part: Partition, entry: Entry, delivered_seq: int, error: str, token: int
    ) -> bool:
        """Apply the failure policy; False while a blocking retry is pending."""
        runtime = self.runtime
        spec = self.spec
        msg = entry.msg
        # Tries made in earlier retry topics count too: the n-th try is the n-th try.
        per_topic = spec.retry.attempts if spec.retry.policy != "none" else 1
        earlier = entry.level * per_topic
        tries = earlier + self._attempt
        failed_seq, delay = record_failure(
            runtime,
            consumer=self.name,
            group=spec.name,
            msg=msg.id,
            cause_seq=delivered_seq,
            error=error,
            attempt=self._attempt,
            policy=spec.retry,
            rng=self._retry_rng,
            earlier=earlier,
        )
        if delay is not None:
            self._attempt += 1
            self._timers.after(delay, self._start_item, token)
            return False
        level = entry.level
        if level < len(spec.retry_topics):
            retry_topic = f"{spec.topic}-retry-{level + 1}"
            delay = spec.retry_topics[level]
            scheduled = runtime.emit(
                RetryScheduled,
                self.name,
                failed_seq,
                group=spec.name,
                consumer=self.name,
                msg=msg.id,
                attempt=tries + 1,
                delay_ms=delay,
                via=retry_topic,
            )
            self.broker.append_keyed(
                retry_topic,
                msg,
                self.name,
                scheduled.seq,
                due_ms=runtime.kernel.now_ms + delay,
                level=level + 1,
            )
        elif spec.dead_letter_topic is not None:
            dead = runtime.emit(
                DeadLettered,
                self.name,
                failed_seq,
                group=spec.name,
                msg=msg.id,
                key=msg.key,
                destination=spec.dead_letter_topic,
                reason=f"{error} error after {tries} attempt(s)",
            )
            self.broker.append_keyed(spec.dead_letter_topic, msg, self.name, dead.seq)
        else:
            runtime.emit(
                Skipped,
                self.name,
                failed_seq,
                group=spec.name,
                consumer=self.name,
                msg=msg.id,
                reason=f"{error} error after {tries} attempt(s); no retry topic or DLT",
            )
        return True

    def _item_done(self, part: Partition, entry: Entry) -> bool:
        """Book the record as handled (and commit it, per message); False if we crashed."""
        tp = part.tp
        self._done[tp] = entry.offset + 1
        self._attempt = 1
        if self._commit_each:
            if self._crash_point("after_process_before_commit"):
                return False
            self._commit({tp: entry.offset + 1}, None)
        self._i += 1
        return True

    def _crash_point(self, point: str) -> bool:
        """Whether the fault plan crashes this consumer here (it is down if so)."""
        return self._crashes_at(self.name, point)

    def _end_batch(self) -> None:
        spec = self.spec
        if spec.commit == "after-process" and spec.commit_every == "batch":
            if self._crash_point("after_process_before_commit"):
                return
            self._commit(self._done, None)
        elif spec.commit == "transactional" and self._txn is not None:
            if self._crash_point("before_commit_transaction"):
                return
            txn = self._txn
            committed = self._commit(self._done, None)
            if committed:
                self.broker.commit_transaction(txn, self, self._txn_outputs)
            else:
                self.broker.abort_transaction(txn, spec.name, "fenced: the group rebalanced", None)
            self._txn = None
            self._txn_outputs = []
            if self.code is not None:
                self.code.transaction_ends(committed, self.runtime.next_seq - 1)
        self.busy = False
        self._batch = []
        self._chunks = []
        if self.stopping:
            self._leave()
            return
        self._wake()

    def _commit(self, offsets: dict[TopicPartition, int], cause_seq: int | None) -> bool:
        runtime = self.runtime
        if not offsets:
            return True
        if not self.broker.up or not runtime.network.allows(self.name, "broker", "commit"):
            reason = "coordinator unreachable"
        elif self.group.commit(self, self.generation, offsets, cause_seq):
            return True
        else:
            reason = "the group rebalanced: this member no longer owns its partitions"
        runtime.emit(
            CommitFailed, self.name, None, group=self.spec.name, consumer=self.name, reason=reason
        )
        return False


# -- in a cluster ----------------------------------------------------------------------------

_UNKNOWN = "?"
"""No metadata yet for a partition (a broker name never has this form)."""


class ClusterConsumer(Consumer):
    """A consumer that fetches each partition from its leader, as its metadata says.

    A fetch sent to a broker that is gone gets no answer, and one sent to a
    broker that no longer leads gets ``NOT_LEADER_OR_FOLLOWER``: either way the
    consumer refreshes its metadata and fetches from the new leader on its
    next poll. It reads only below the high watermark. If the new leader's log
    is shorter than the consumer's position (the old leader's records were
    truncated away), the consumer notices the truncation and moves back to the
    new log end, as Kafka's consumers do since 2.1 (KIP-320).
    """

    def __init__(
        self,
        runtime: Runtime,
        broker: LogBroker,
        group: GroupCoordinator,
        spec: GroupSpec,
        name: str,
    ) -> None:
        super().__init__(runtime, broker, group, spec, name)
        self.cluster: ReplicatedLogBroker = broker  # type: ignore[assignment]
        self._leaders: dict[TopicPartition, str | None] = {}
        self._leader_check = self._leader_ready

    def _leader_ready(self, tp: TopicPartition, part: Partition) -> bool:
        """Whether this poll can read ``tp``: its leader is known, alive and reachable."""
        cluster = self.cluster
        leader, epoch = cluster.leader_of(tp[0], tp[1])
        known = self._leaders.get(tp, _UNKNOWN)
        if known == _UNKNOWN:
            self._leaders[tp] = known = leader
        if known is None or known != leader or not cluster.nodes[known].up:
            if known == leader:
                return False  # still the dead leader the controller has not fenced yet
            if known is None:
                reason = "LEADER_NOT_AVAILABLE"
            elif cluster.nodes[known].up:
                reason = "NOT_LEADER_OR_FOLLOWER"
            else:
                reason = "broker unreachable"
            self._leaders[tp] = leader
            self.runtime.emit(
                MetadataRefreshed,
                self.name,
                None,
                client=self.name,
                topic=tp[0],
                partition=tp[1],
                leader=leader,
                leader_epoch=epoch,
                partitions=cluster.partition_count(tp[0]),
                reason=reason,
            )
            return False
        if not self.runtime.network.allows(self.name, known, "fetch", background=True):
            return False
        if self.positions[tp] > part.next_offset:
            rp = cluster.replicated[tp]
            self._set_position(tp, part.next_offset, "truncated", rp.election_seq)
        return True
