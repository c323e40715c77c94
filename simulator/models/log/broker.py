"""The log broker: topics, appends, transactions and housekeeping.

This is the server side of the Kafka model. A produce request is appended to
its partition (or recognised as an idempotent repeat) and acknowledged; groups
get a coordinator each; retention and compaction run periodically in the
background, as Kafka's log cleaner does. Partitions can be added while a lesson
runs (clients notice at their next metadata refresh), and a group may be
scaled on its lag (``autoscaler``).

Here one broker holds every partition, so there is nothing to replicate and
``acks=1`` and ``acks=all`` behave alike; ``acks=0`` does not. A cluster of
brokers, where they differ, is ``cluster.ReplicatedLogBroker``: this class with
replicas, leaders and a controller added.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING

from simulator.messages import Message
from simulator.models.log.assignors import TopicPartition
from simulator.models.log.consumer import Consumer
from simulator.models.log.group import GroupCoordinator
from simulator.models.log.partition import Entry, Partition
from simulator.models.log.partitioner import partition_for_key
from simulator.models.log.producer import (
    NOT_PLACED,
    Batch,
    BatchResult,
    Producer,
    ProduceRequest,
)
from simulator.models.log.settings import AddPartitions, group_args, log_args
from simulator.scenario import Group, Topic
from simulator.trace import (
    Acked,
    Appended,
    LogCompacted,
    LogTruncated,
    MetadataRefreshed,
    PartitionsAdded,
    ProduceDeduplicated,
    TransactionAborted,
    TransactionCommitted,
)

if TYPE_CHECKING:
    from simulator.runtime import Runtime

__all__ = ["LogBroker"]

RETENTION_CHECK_MS = 1_000
"""How often retention runs (Kafka's ``log.retention.check.interval.ms`` is 5 minutes)."""


class LogBroker:
    """Topics, partitions, producers, groups and consumers of a Kafka-style scenario."""

    producer_class: type[Producer] = Producer
    consumer_class: type[Consumer] = Consumer

    def __init__(self, runtime: Runtime) -> None:
        self.runtime = runtime
        scenario = runtime.scenario
        self.up = True
        self.topics: dict[str, Topic] = {}
        self.partitions: dict[str, list[Partition]] = {}
        self.txn_state: dict[str, str] = {}
        self._txn_partitions: dict[str, dict[str, Partition]] = {}
        for topic in scenario.topics:
            self._create_topic(topic)
        for g in scenario.groups:
            source = self.topics[g.topic]
            for level, _ in enumerate(g.retry_topics, start=1):
                name = f"{g.topic}-retry-{level}"
                if name not in self.topics:
                    self._create_topic(Topic(name=name, partitions=source.partitions))
                    for part in self.partitions[name]:
                        part.delayed = True
        self.producers: dict[str, Producer] = {
            p.name: self.producer_class(runtime, self, p) for p in scenario.producers
        }
        self.send: Callable[[Message], None] = self._send_by_name
        """The workload hands a message to its producer (validation made sure it names one):
        with a single producer, that producer's own ``send``, one call less per message."""
        if len(self.producers) == 1:
            self.send = next(iter(self.producers.values())).send
        self.groups: dict[str, GroupCoordinator] = {}
        self.consumers: dict[str, Consumer] = {}
        self.delivered_upto: dict[str, dict[TopicPartition, int]] = {}
        for g in scenario.groups:
            subscribed = [g.topic] + [
                f"{g.topic}-retry-{i}" for i in range(1, len(g.retry_topics) + 1)
            ]
            tps = [(t, p.index) for t in subscribed for p in self.partitions[t]]
            coordinator = GroupCoordinator(runtime, self, g, tps)
            self.groups[g.name] = coordinator
            self.delivered_upto[g.name] = {}
            for name in g.consumer_names():
                self.consumers[name] = self.consumer_class(runtime, self, coordinator, g, name)
        for consumer in self.consumers.values():
            consumer.start()
        self._start_scalers(scenario.groups)
        for change in log_args(scenario).add_partitions:
            runtime.kernel.schedule(change.at_ms, self._add_partitions, change)
        if any(t.retention_ms or t.retention_messages for t in self.topics.values()):
            runtime.kernel.after(RETENTION_CHECK_MS, self._retention, background=True)
        for topic in self.topics.values():
            if topic.compaction:
                runtime.kernel.after(
                    topic.compaction_interval_ms, self._compact, topic.name, background=True
                )

    def _create_topic(self, topic: Topic) -> None:
        self.topics[topic.name] = topic
        self.partitions[topic.name] = [
            self._new_partition(topic.name, i) for i in range(topic.partitions)
        ]

    def _new_partition(self, topic: str, index: int) -> Partition:
        """A new, empty partition (a cluster also places its replicas and elects a leader)."""
        return Partition(topic, index)

    def _start_scalers(self, groups: list[Group]) -> None:
        """A lag-driven autoscaler for each group that asks for one."""
        scaled = [g for g in groups if group_args(g).autoscale is not None]
        if not scaled:
            return
        from simulator.models.log.autoscaler import LagScaler

        self.scalers = [LagScaler(self.runtime, self, self.groups[g.name], g) for g in scaled]

    def add_consumer(self, spec: Group, name: str) -> Consumer:
        """A new member process for group ``spec`` (a scaled-out consumer), not started yet."""
        consumer = self.consumers.get(name)
        if consumer is None:
            coordinator = self.groups[spec.name]
            consumer = self.consumer_class(self.runtime, self, coordinator, spec, name)
            self.consumers[name] = consumer
        return consumer

    # -- adding partitions -------------------------------------------------------------

    def _add_partitions(self, change: AddPartitions) -> None:
        """``kafka-topics.sh --alter --partitions N``: new, empty partitions at the end.

        Nothing moves on the broker; but a key's partition is ``murmur2(key) % N``,
        so once a producer learns the new count, many keys land elsewhere — after
        records of theirs still waiting in the old partition. Clients learn it at
        their next metadata refresh (``metadata.max.age.ms``).
        """
        runtime = self.runtime
        parts = self.partitions[change.topic]
        old = len(parts)
        for i in range(old, change.partitions):
            parts.append(self._new_partition(change.topic, i))
        added = runtime.emit(
            PartitionsAdded,
            "controller",
            None,
            topic=change.topic,
            partitions=change.partitions,
            added=change.partitions - old,
        )
        age = log_args(runtime.scenario).metadata_max_age_ms
        now = runtime.kernel.now_ms

        def next_refresh(since_ms: int) -> int:
            """Clients refresh their metadata every ``metadata.max.age.ms`` from their start."""
            periods = max(1, -(-(now - since_ms) // age))
            return since_ms + periods * age

        for producer in self.producers.values():
            if producer.topic == change.topic:
                runtime.kernel.schedule(
                    next_refresh(0), self._producer_learns, (producer, change, added.seq)
                )
        for coordinator in self.groups.values():
            if any(t == change.topic for t, _ in coordinator.partitions):
                runtime.kernel.schedule(
                    next_refresh(coordinator.spec.start_ms),
                    self._group_learns,
                    (coordinator, change, added.seq),
                )

    def _producer_learns(self, arg: tuple[Producer, AddPartitions, int]) -> None:
        producer, change, cause = arg
        if producer.crashed:
            return
        producer.partitions_changed(len(self.partitions[change.topic]), cause)

    def _group_learns(self, arg: tuple[GroupCoordinator, AddPartitions, int]) -> None:
        """The group's leader sees the new count and the coordinator rebalances the group."""
        coordinator, change, cause = arg
        tps = [(change.topic, p.index) for p in self.partitions[change.topic]]
        known = set(coordinator.partitions)
        new = [tp for tp in tps if tp not in known]
        if not new:
            return
        refreshed = self.runtime.emit(
            MetadataRefreshed,
            coordinator.name,
            cause,
            client=coordinator.name,
            topic=change.topic,
            partition=None,
            leader=None,
            leader_epoch=None,
            partitions=len(tps),
            reason="metadata.max.age.ms",
        )
        coordinator.partitions_changed([*coordinator.partitions, *new], refreshed.seq)

    # -- what the simulation asks of a broker model ------------------------------------

    def partition_count(self, topic: str) -> int:
        return len(self.partitions[topic])

    def partition(self, tp: TopicPartition) -> Partition:
        return self.partitions[tp[0]][tp[1]]

    def _send_by_name(self, msg: Message) -> None:
        self.producers[msg.producer].send(msg)

    def crash(self, target: str, point: str | None) -> int:
        """Crash a component by name; returns the seq of its Crashed record."""
        if target in self.consumers:
            return self.consumers[target].crash(point)
        from simulator.trace import Crashed

        rec: Crashed = self.runtime.emit(Crashed, target, None, point=point)
        if target in self.producers:
            self.producers[target].crash()
        elif target == "broker":
            self.up = False
        return rec.seq

    def restart(self, target: str, cause_seq: int | None) -> None:
        if target in self.consumers:
            self.consumers[target].restart()
            return
        from simulator.trace import Restarted

        self.runtime.emit(Restarted, target, cause_seq)
        if target in self.producers:
            self.producers[target].restart()
        elif target == "broker":
            self.up = True
            for parts in self.partitions.values():
                for part in parts:
                    self._wake_waiters(part)

    # -- appends -----------------------------------------------------------------------

    def on_produce(self, request: ProduceRequest) -> None:
        """A produce request arrives at the partition leaders: append or recognise each batch."""
        if not self.up:
            return
        runtime = self.runtime
        producer = request.producer
        parts = self.partitions[producer.topic]
        results: list[BatchResult] = []
        for batch in request.batches:
            part = parts[batch.partition]
            base_seq = batch.base_seq
            if base_seq is None:
                results.append((batch, "appended", self._append_batch(part, batch, producer.name)))
                continue
            state = part.producer_state.setdefault(batch.pid, {})
            if base_seq in state:
                results.append((batch, "duplicate", self._deduplicate(part, batch, request, state)))
            elif base_seq != state.get(-1, 0):
                results.append((batch, "out_of_order", NOT_PLACED))
            else:
                placed = self._append_batch(part, batch, producer.name)
                state[base_seq] = placed[0]
                state[-1] = base_seq + len(batch.msgs)
                results.append((batch, "appended", placed))
        if runtime.faults.crashes_at("broker", "after_append_before_ack"):
            return  # stored, but the ack never leaves: the producer will retry
        if producer.spec.acks != 0:
            network = runtime.network
            network.send(
                "broker",
                producer.name,
                "ack",
                # the ids matter only to a network fault that picks messages
                [m.id for b in request.batches for m in b.msgs] if network.faulty else None,
                producer.on_response,
                (request, results),
            )

    def _deduplicate(
        self, part: Partition, batch: Batch, request: ProduceRequest, state: dict[int, int]
    ) -> tuple[int, int]:
        """An idempotent repeat: append nothing, answer with the original offsets.

        Returns the first record's (offset, seq of its ``ProduceDeduplicated``):
        the records of the batch follow it, one offset and one seq each.
        """
        base_offset = state[batch.base_seq or 0]
        runtime = self.runtime
        first_seq = runtime.next_seq
        for i, msg in enumerate(batch.msgs):
            runtime.emit(
                ProduceDeduplicated,
                part.name,
                batch.causes[i],
                topic=part.topic,
                partition=part.index,
                msg=msg.id,
                producer=request.producer.name,
                producer_seq=(batch.base_seq or 0) + i,
                offset=base_offset + i,
            )
        return base_offset, first_seq

    def _append_batch(self, part: Partition, batch: Batch, producer: str) -> tuple[int, int]:
        """Append a producer's batch in one go: the (offset, seq) of its first record.

        The records of a batch take consecutive offsets and, written together,
        consecutive seqs: record ``i`` is at ``offset + i``, its ``Appended``
        record has seq ``seq + i``. The ``Appended`` records are built in one
        loop and booked in one call; the log takes the batch in one call too.
        """
        runtime = self.runtime
        now = runtime.kernel.now_ms
        first_offset = offset = part.next_offset
        first_seq = seq = runtime.next_seq
        topic, index, name = part.topic, part.index, part.name
        base_seq = batch.base_seq
        appended: list[Appended] = []
        add_record = appended.append
        msgs = batch.msgs
        for msg, cause in zip(msgs, batch.causes, strict=True):
            add_record(
                Appended(
                    seq=seq,
                    at=now,
                    component=name,
                    cause_seq=cause,
                    topic=topic,
                    partition=index,
                    offset=offset,
                    msg=msg.id,
                    key=msg.key,
                    producer=producer,
                    producer_seq=None if base_seq is None else base_seq + offset - first_offset,
                    tombstone=msg.tombstone,
                )
            )
            offset += 1
            seq += 1
        runtime.record_all(appended)
        part.entries.append_run(msgs, first_offset, now, first_seq)
        part.next_offset = offset
        if part.waiters and part.hw is None:
            self._wake_waiters(part)  # in a cluster, the high watermark's advance wakes them
        return first_offset, first_seq

    def _append(
        self,
        part: Partition,
        msg: Message,
        producer: str,
        cause_seq: int | None,
        *,
        producer_seq: int | None = None,
        txn: str | None = None,
        due_ms: int = 0,
        level: int = 0,
    ) -> Entry:
        runtime = self.runtime
        now = runtime.kernel.now_ms
        offset = part.next_offset
        seq = runtime.next_seq
        runtime.record(
            Appended(
                seq=seq,
                at=now,
                component=part.name,
                cause_seq=cause_seq,
                topic=part.topic,
                partition=part.index,
                offset=offset,
                msg=msg.id,
                key=msg.key,
                producer=producer,
                producer_seq=producer_seq,
                txn=txn,
                tombstone=msg.tombstone,
            )
        )
        entry = Entry(offset, msg, now, seq, txn, due_ms, level)
        part.entries.append(entry)
        part.next_offset = offset + 1
        if txn is not None:
            self._txn_partitions.setdefault(txn, {})[part.name] = part
            self.txn_state.setdefault(txn, "open")
        if part.waiters and part.hw is None:
            self._wake_waiters(part)  # in a cluster, the high watermark's advance wakes them
        return entry

    def _wake_waiters(self, part: Partition) -> None:
        waiters: list[Callable[[], None]] = list(part.waiters.values())
        part.waiters.clear()
        for wake in waiters:
            wake()

    def append_keyed(
        self,
        topic: str,
        msg: Message,
        producer: str,
        cause_seq: int | None,
        *,
        txn: str | None = None,
        due_ms: int = 0,
        level: int = 0,
    ) -> tuple[Entry, Partition]:
        """Append from inside the system (outputs, retry topics, DLT), partitioned by key."""
        parts = self.partitions[topic]
        index = partition_for_key(msg.key, len(parts)) if msg.key is not None else 0
        part = parts[index]
        entry = self._append(part, msg, producer, cause_seq, txn=txn, due_ms=due_ms, level=level)
        return entry, part

    # -- transactions ------------------------------------------------------------------

    def commit_transaction(
        self, txn: str, consumer: Consumer, outputs: list[tuple[int, str, int, int]]
    ) -> None:
        runtime = self.runtime
        self.txn_state[txn] = "committed"
        done = runtime.emit(
            TransactionCommitted,
            consumer.name,
            None,
            txn=txn,
            group=consumer.spec.name,
            outputs=len(outputs),
        )
        for msg_id, topic, partition, offset in outputs:
            runtime.emit(
                Acked,
                consumer.name,
                done.seq,
                producer=consumer.name,
                msg=msg_id,
                topic=topic,
                partition=partition,
                offset=offset,
            )
        self._release(txn)

    def abort_transaction(self, txn: str, group: str, reason: str, cause_seq: int | None) -> None:
        self.txn_state[txn] = "aborted"
        self.runtime.emit(TransactionAborted, group, cause_seq, txn=txn, group=group, reason=reason)
        self._release(txn)

    def _release(self, txn: str) -> None:
        """A finished transaction unblocks read_committed readers waiting at the LSO."""
        for part in self._txn_partitions.pop(txn, {}).values():
            if part.waiters:
                self._wake_waiters(part)

    # -- housekeeping ------------------------------------------------------------------

    def _retention(self, _: object = None) -> None:
        runtime = self.runtime
        now = runtime.kernel.now_ms
        for topic in self.topics.values():
            for part in self.partitions[topic.name]:
                removed = 0
                if topic.retention_messages:
                    removed += part.truncate_to(topic.retention_messages)
                if topic.retention_ms:
                    removed += part.truncate_before(now - topic.retention_ms)
                if removed:
                    runtime.emit(
                        LogTruncated,
                        part.name,
                        None,
                        topic=part.topic,
                        partition=part.index,
                        log_start_offset=part.log_start_offset,
                        removed=removed,
                    )
        runtime.kernel.after(RETENTION_CHECK_MS, self._retention, background=True)

    def _compact(self, topic_name: str) -> None:
        runtime = self.runtime
        topic = self.topics[topic_name]
        for part in self.partitions[topic_name]:
            removed, tombstones, gone = part.compact(part.next_offset)
            if removed:
                runtime.emit(
                    LogCompacted,
                    part.name,
                    None,
                    topic=part.topic,
                    partition=part.index,
                    removed=removed,
                    tombstones_removed=tombstones,
                    msgs=gone,
                )
        runtime.kernel.after(
            topic.compaction_interval_ms, self._compact, topic_name, background=True
        )
