"""A stream processor: a windowed aggregation running inside a consumer group.

This is a Kafka Streams *task* (or a Flink operator instance) on top of the
log model. Each record the consumer processes goes through a stateless
``filter`` and re-keying (``key_by``), then into the ``WindowOperator``; what
the operator did becomes trace records (``WindowOpened``, ``WindowEmitted``,
``WindowUpdated``, ``WindowClosed``, ``LateRecordDropped``,
``WatermarkAdvanced``) and output records: results to ``output_topic``, late
records to ``late_topic``, every state change to ``changelog_topic``.

As in Kafka Streams, each input partition is a *task* with its own state
store and its own stream time (watermark): a consumer that takes over another
member's partitions after a rebalance restores just those tasks, and their
watermark is not pushed ahead by the partitions it already had. Changelog
entries are keyed ``p<partition>:<key>@<window start>`` so each task finds its
own.

Those outputs are written through the consumer, so under
``commit = "transactional"`` the results, the changelog and the input offsets
commit together (Kafka Streams' ``processing.guarantee=exactly_once_v2``);
under ``after-process`` they are at-least-once. After a crash the restarted
consumer restores the store from the changelog before it processes anything
(``StateRestored``) and resumes at its committed offsets.

With ``time = "processing"`` a record's time is the moment the processor sees
it; windows fire on timers at their end, and nothing is ever late — nor ever
placed by when it really happened.
"""

from __future__ import annotations

import re
from typing import TYPE_CHECKING

from simulator.kernel import Timer
from simulator.scenario import StreamProcessorSpec
from simulator.streams.changelog import (
    STREAM_TIME_KEY,
    decode_state,
    encode_state,
    encode_stream_time,
)
from simulator.streams.operator import Change, WindowOperator, WindowState
from simulator.streams.plugin import Output, new_message
from simulator.trace import (
    LateRecordDropped,
    RecordTimestamped,
    StateRestored,
    WatermarkAdvanced,
    WindowClosed,
    WindowEmitted,
    WindowOpened,
    WindowUpdated,
)

if TYPE_CHECKING:
    from simulator.messages import Message
    from simulator.models.log.assignors import TopicPartition
    from simulator.models.log.consumer import Consumer
    from simulator.models.log.partition import Entry, Partition

__all__ = ["StreamProcessor", "amount_of"]

_TRAILING_NUMBER = re.compile(r"(\d+)$")


def amount_of(value: str) -> int:
    """The number at the end of a value (``fare-12`` → 12); 0 if there is none."""
    m = _TRAILING_NUMBER.search(value)
    return int(m[1]) if m else 0


class StreamProcessor:
    """One consumer's stream task: operator, state store, changelog and timers."""

    def __init__(self, consumer: Consumer, spec: StreamProcessorSpec) -> None:
        self.consumer = consumer
        self.runtime = consumer.runtime
        self.spec = spec
        self.group = consumer.spec.name
        self.topic = consumer.spec.topic
        self.tasks: dict[int, WindowOperator] = {}
        """Input partition → its operator (state store and stream time)."""
        self._owned: list[TopicPartition] = []
        self._lost = False
        self._epoch = 0
        """Bumped when state is lost without a changelog (keeps output ids distinct)."""
        self._writes = 0
        self._flush_timer: Timer | None = None
        self._tick_timers: dict[int, Timer] = {}
        self._eos = consumer.spec.commit == "transactional"

    def _new_operator(self) -> WindowOperator:
        s = self.spec
        processing = s.time == "processing"
        return WindowOperator(
            window=s.window,
            size_ms=s.size_ms,
            advance_ms=s.advance_ms,
            gap_ms=s.gap_ms,
            max_out_of_orderness_ms=0 if processing else s.max_out_of_orderness_ms,
            allowed_lateness_ms=0 if processing else s.allowed_lateness_ms,
        )

    # -- the consumer's questions ---------------------------------------------------------

    def process(self, part: Partition, entry: Entry, processed_seq: int) -> list[Output]:
        msg = entry.msg
        spec = self.spec
        if spec.filter_contains is not None and spec.filter_contains not in msg.value:
            return []
        if spec.key_by == "value":
            key = msg.value.split(" ", 1)[0]
        else:
            key = msg.key if msg.key is not None else ""
        amount = 1 if spec.aggregate == "count" else amount_of(msg.value)
        now = self.runtime.kernel.now_ms
        t_ms = msg.event_time_ms if spec.time == "event" else now
        self.runtime.emit(
            RecordTimestamped,
            self.consumer.name,
            processed_seq,
            group=self.group,
            consumer=self.consumer.name,
            msg=msg.id,
            key=key,
            event_time_ms=t_ms,
        )
        task = self._task(part.index)
        changes = task.process(key, t_ms, amount, msg.id)
        outputs: list[Output] = []
        self._report(task, changes, processed_seq, outputs, msg, t_ms)
        self._write_changelog(part.index, task, outputs, msg.id)
        if spec.time == "processing":
            self._arm_ticks()
        elif spec.idle_flush_ms is not None:
            self._arm_flush()
        return outputs

    def _task(self, partition: int) -> WindowOperator:
        task = self.tasks.get(partition)
        if task is None:
            task = self.tasks[partition] = self._new_operator()
        return task

    def on_assigned(self, partitions: list[TopicPartition], cause_seq: int | None) -> None:
        owned = sorted(tp for tp in partitions if tp[0] == self.topic)
        if not self._lost and owned == self._owned:
            return
        self._owned = owned
        mine = [tp[1] for tp in owned]
        self.tasks = {p: t for p, t in self.tasks.items() if p in mine}
        new = [p for p in mine if p not in self.tasks]
        if self.spec.changelog_topic is not None and new:
            self._restore(self.spec.changelog_topic, new, cause_seq)
        self._lost = False
        if self.spec.time == "processing":
            self._arm_ticks()
        elif self.spec.idle_flush_ms is not None and any(
            not s.emitted for t in self.tasks.values() for s in t.windows.values()
        ):
            self._arm_flush()

    def on_crash(self, crash_seq: int) -> None:
        self._lost = True
        self._owned = []
        if self.spec.changelog_topic is None:
            self._epoch += 1
        self.tasks = {}
        if self._flush_timer is not None:
            self._flush_timer.cancel()
            self._flush_timer = None
        for timer in self._tick_timers.values():
            timer.cancel()
        self._tick_timers = {}

    # -- restore from the changelog -----------------------------------------------------------

    def _restore(self, changelog: str, partitions: list[int], cause_seq: int | None) -> None:
        """Replay the changelog from its start and rebuild the tasks of ``partitions``."""
        broker = self.consumer.broker
        runtime = self.runtime
        prefixes = {f"p{p}:": p for p in partitions}
        stores: dict[int, dict[str, WindowState]] = {p: {} for p in partitions}
        stream_times: dict[int, int] = {}
        read = 0
        for part in broker.partitions[changelog]:
            entries, _ = part.read(
                part.log_start_offset, 1 << 62, self._eos, broker.txn_state, runtime.kernel.now_ms
            )
            for e in entries:
                read += 1
                head, sep, k = (e.msg.key or "").partition(":")
                owner = prefixes.get(head + sep)
                if owner is None:
                    continue
                if k == STREAM_TIME_KEY:
                    stream_times[owner] = max(stream_times.get(owner, 0), int(e.msg.value))
                elif e.msg.tombstone:
                    stores[owner].pop(k, None)
                else:
                    stores[owner][k] = decode_state(e.msg.value)
        windows = 0
        marks: list[int] = []
        for p in partitions:
            task = self._task(p)
            task.restore(stores[p], stream_times.get(p))
            windows += len(stores[p])
            if task.watermark_ms is not None:
                marks.append(task.watermark_ms)
        if read or self._lost:
            runtime.emit(
                StateRestored,
                self.consumer.name,
                cause_seq,
                group=self.group,
                consumer=self.consumer.name,
                changelog=changelog,
                entries=read,
                windows=windows,
                watermark_ms=max(marks) if marks else None,
            )

    # -- timers -------------------------------------------------------------------------------

    def _arm_flush(self) -> None:
        kernel = self.runtime.kernel
        if self._flush_timer is not None:
            self._flush_timer.cancel()
        self._flush_timer = kernel.timer(
            kernel.now_ms + (self.spec.idle_flush_ms or 0), self._on_idle
        )

    def _on_idle(self, _: object = None) -> None:
        self._flush_timer = None
        if not self.consumer.crashed:
            for p in sorted(self.tasks):
                self._fire(p, self.tasks[p].flush())

    def _arm_ticks(self) -> None:
        kernel = self.runtime.kernel
        for task in self.tasks.values():
            for s in task.windows.values():
                end = s.end
                if end is not None and not s.emitted and end not in self._tick_timers:
                    self._tick_timers[end] = kernel.timer(end, self._on_tick, end)

    def _on_tick(self, end: int) -> None:
        self._tick_timers.pop(end, None)
        if not self.consumer.crashed:
            for p in sorted(self.tasks):
                self._fire(p, self.tasks[p].advance_to(end))

    def _fire(self, partition: int, changes: list[Change]) -> None:
        """Timer-driven results, written outside any record's processing."""
        task = self.tasks[partition]
        outputs: list[Output] = []
        last = self._report(task, changes, None, outputs, None, None)
        source = max((s.last_msg for s in task.windows.values()), default=0)
        for c in changes:
            if c.state is not None:
                source = c.state.last_msg
        if source:
            self._write_changelog(partition, task, outputs, source)
        for topic, out in outputs:
            self.consumer.write_output(topic, out, last)

    # -- from operator changes to records and outputs ----------------------------------------

    def _report(
        self,
        task: WindowOperator,
        changes: list[Change],
        cause: int | None,
        outputs: list[Output],
        msg: Message | None,
        t_ms: int | None,
    ) -> int | None:
        runtime = self.runtime
        name = self.consumer.name
        group = self.group
        spec = self.spec
        last = cause
        for c in changes:
            s = c.state
            rec = None
            if c.kind == "watermark":
                if spec.time == "processing":
                    continue
                rec = runtime.emit(
                    WatermarkAdvanced,
                    name,
                    cause,
                    group=group,
                    consumer=name,
                    watermark_ms=c.watermark,
                    max_event_ms=task.max_event_ms,
                )
                last = rec.seq
            elif c.kind == "late" and msg is not None:
                side = spec.late_topic if spec.late == "side-output" else None
                runtime.emit(
                    LateRecordDropped,
                    name,
                    cause,
                    group=group,
                    msg=msg.id,
                    key=msg.key or "",
                    event_time_ms=t_ms or 0,
                    watermark_ms=c.watermark or 0,
                    window_end_ms=c.window_end or 0,
                    side_output=side,
                )
                if side is not None:
                    out = runtime.derived_message(msg.id, side)
                    out.event_time_ms = msg.event_time_ms
                    outputs.append((side, out))
            elif s is None:
                continue
            elif c.kind == "opened":
                runtime.emit(
                    WindowOpened,
                    name,
                    cause,
                    group=group,
                    key=s.key,
                    start_ms=s.start,
                    end_ms=s.end,
                    msg=s.last_msg,
                )
            elif c.kind in ("emitted", "updated"):
                out_id = self._result(s, outputs)
                if c.kind == "emitted":
                    runtime.emit(
                        WindowEmitted,
                        name,
                        last,
                        group=group,
                        key=s.key,
                        start_ms=s.start,
                        end_ms=s.end,
                        value=s.value,
                        records=s.records,
                        out=out_id,
                    )
                else:
                    runtime.emit(
                        WindowUpdated,
                        name,
                        cause,
                        group=group,
                        key=s.key,
                        start_ms=s.start,
                        end_ms=s.end,
                        value=s.value,
                        records=s.records,
                        msg=s.last_msg,
                        out=out_id,
                    )
            elif c.kind == "closed" and task.lateness_ms > 0:
                runtime.emit(
                    WindowClosed,
                    name,
                    last,
                    group=group,
                    key=s.key,
                    start_ms=s.start,
                    end_ms=s.end,
                    value=s.value,
                )
        return last

    def _result(self, s: WindowState, outputs: list[Output]) -> int | None:
        topic = self.spec.output_topic
        if topic is None:
            return None
        epoch = f"/{self._epoch}" if self._epoch else ""
        end = "∞" if s.end is None else str(s.end)
        out = new_message(
            self.runtime,
            s.last_msg,
            f"{topic}:{s.key}@{s.start}#{s.revision}{epoch}",
            s.key,
            f"{s.key} [{s.start},{end}) {self.spec.aggregate}={s.value}",
            event_time_ms=(s.end - 1) if s.end is not None else None,
        )
        outputs.append((topic, out))
        return out.id

    def _write_changelog(
        self, partition: int, task: WindowOperator, outputs: list[Output], source: int
    ) -> None:
        changelog = self.spec.changelog_topic
        dirty = task.take_dirty()
        if changelog is None or not dirty:
            return
        runtime = self.runtime
        prefix = f"p{partition}:"
        for store_key, state in dirty.items():
            self._writes += 1
            label = f"{changelog}:{self._writes}"
            key = prefix + store_key
            if state is None:
                out = new_message(runtime, source, label, key, "", tombstone=True)
            else:
                out = new_message(runtime, source, label, key, encode_state(state))
            outputs.append((changelog, out))
        if task.max_event_ms is not None:
            self._writes += 1
            value = encode_stream_time(task.max_event_ms)
            label = f"{changelog}:{self._writes}"
            outputs.append(
                (changelog, new_message(runtime, source, label, prefix + STREAM_TIME_KEY, value))
            )
