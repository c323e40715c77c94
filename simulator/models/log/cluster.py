"""A Kafka cluster: partitions replicated over brokers, and what ``acks`` really buys.

``ReplicatedLogBroker`` is ``LogBroker`` spread over brokers ``broker-1`` …
``broker-N``. Each partition has ``replication.factor`` replicas (``replica``)
and one leader, chosen by the ``controller``. Everything a client does goes to
the leader, across the network, so network faults between brokers and clients
— and between brokers — act on it:

1. **Produce.** The leader appends the batch to its log. With ``acks=1`` it
   answers at once; with ``acks=all`` it first checks that the ISR has at
   least ``min.insync.replicas`` members (else ``NOT_ENOUGH_REPLICAS``, nothing
   written) and answers only once the high watermark has passed the batch.
   A broker that is not the leader answers ``NOT_LEADER_OR_FOLLOWER``.
2. **Replicate.** Each follower sends the leader a fetch for the offset it
   needs next (its log end), with the epoch of its last record. The leader
   answers with records — or holds the fetch up to
   ``replica.fetch.wait.max.ms`` until some arrive — or, if the follower's
   epoch ends earlier in the leader's log, with where it ends: the follower
   truncates and asks again (``LogTruncatedToEpoch``).
3. **Commit.** Each fetch tells the leader how far that follower is. The high
   watermark becomes the lowest log end in the ISR; a follower that has not
   caught up for ``replica.lag.time.max.ms`` leaves the ISR, and one that
   reaches the high watermark joins again.
4. **Fail over.** A crashed broker answers nothing; the controller fences it
   after ``broker.session.timeout.ms`` and elects new leaders from the ISR.
   A power loss also empties the page cache (``replica``).

Group coordination (joins, heartbeats, commits) stays with ``broker``, the
cluster as a whole: it is reachable while any broker is up (Kafka keeps group
offsets in a replicated internal topic; its failover is not modelled).
Retention and compaction are not modelled on a cluster.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from simulator.models.log.broker import LogBroker
from simulator.models.log.consumer import ClusterConsumer
from simulator.models.log.controller import Controller
from simulator.models.log.partition import Entry, Partition
from simulator.models.log.producer import (
    NOT_ENOUGH_REPLICAS,
    NOT_ENOUGH_REPLICAS_AFTER_APPEND,
    NOT_LEADER_OR_FOLLOWER,
    NOT_PLACED,
    BatchResult,
    ClusterProducer,
    ProduceRequest,
)
from simulator.models.log.replica import Replica
from simulator.models.log.settings import (
    broker_names,
    log_args,
    replicas_of,
    replication_of,
)
from simulator.scenario import PowerLoss
from simulator.trace import (
    Crashed,
    HighWatermarkAdvanced,
    IsrExpanded,
    IsrShrunk,
    LeaderElected,
    LogTruncatedToEpoch,
    PageCacheLost,
    PartitionOffline,
    PowerLost,
    ReplicaFetched,
    Restarted,
)

if TYPE_CHECKING:
    from simulator.messages import Message
    from simulator.runtime import Runtime

__all__ = ["AFTER_LEADER_APPEND", "BrokerNode", "ReplicatedLogBroker", "ReplicatedPartition"]

AFTER_LEADER_APPEND = "after_leader_append_before_replication"
"""The crash point between a leader's append (and, with ``acks=1``, its answer) and any
follower's copy: the window that loses ``acks=1`` records."""

REPLICA_FETCH_RECORDS = 500
"""Records per follower fetch at most (Kafka bounds it by ``replica.fetch.max.bytes``, 1 MiB)."""


class BrokerNode:
    """One broker process: up or down, and how the controller sees it."""

    __slots__ = ("crash_seq", "fenced", "incarnation", "name", "up")

    def __init__(self, name: str) -> None:
        self.name = name
        self.up = True
        self.fenced = False
        """The controller took it out of the cluster (its session expired)."""
        self.incarnation = 1
        self.crash_seq: int | None = None


class DelayedProduce:
    """An ``acks=all`` request the leader holds until the high watermark passes its batches."""

    __slots__ = ("broker", "request", "results", "waiting")

    def __init__(
        self,
        broker: str,
        request: ProduceRequest,
        results: list[BatchResult],
        waiting: dict[int, tuple[ReplicatedPartition, int]],
    ) -> None:
        self.broker = broker
        self.request = request
        self.results = results
        self.waiting = waiting
        """Index in ``results`` → (its partition, the offset the high watermark must reach)."""


class Fetch:
    """A follower's fetch request, as it travels to the leader and is held there."""

    __slots__ = (
        "attempt",
        "follower",
        "last_epoch",
        "leader",
        "leader_epoch",
        "offset",
        "rp",
        "session",
    )

    def __init__(self, rp: ReplicatedPartition, follower: Replica, leader: Replica) -> None:
        self.rp = rp
        self.follower = follower
        self.leader = leader
        self.leader_epoch = rp.epoch
        self.session = follower.fetch_session
        self.attempt = follower.fetch_attempt
        self.offset = len(follower.log)
        """The follower's log end: it has every record below, and asks for the rest."""
        self.last_epoch = follower.last_epoch()
        """The epoch of its last record, for the leader to check where that epoch ends."""


class ReplicatedPartition:
    """One partition across the cluster: its replicas, its leader, its epoch and its ISR."""

    __slots__ = (
        "delayed",
        "election_seq",
        "epoch",
        "flush_messages",
        "isr",
        "leader",
        "min_isr",
        "parked",
        "partition",
        "replicas",
        "unclean",
    )

    def __init__(
        self,
        partition: Partition,
        brokers: list[str],
        min_isr: int,
        unclean: bool,
        flush_messages: int | None,
    ) -> None:
        self.partition = partition
        """What clients see: the leader's log (``entries``) and high watermark (``hw``)."""
        self.replicas = [Replica(b) for b in brokers]
        self.leader: Replica | None = None
        self.epoch = -1
        self.isr: list[str] = []
        self.min_isr = min_isr
        self.unclean = unclean
        self.flush_messages = flush_messages
        self.parked: dict[str, Fetch] = {}
        """Followers' fetches the leader holds until a record arrives (long polling)."""
        self.delayed: list[DelayedProduce] = []
        self.election_seq: int | None = None
        """The record of the latest election: what a truncation to its epoch goes back to."""

    def replica_on(self, broker: str) -> Replica | None:
        for r in self.replicas:
            if r.broker == broker:
                return r
        return None

    def ordered(self, brokers: list[str]) -> list[str]:
        """``brokers`` in assignment order (how Kafka lists an ISR)."""
        return [r.broker for r in self.replicas if r.broker in brokers]


class ReplicatedLogBroker(LogBroker):
    """The log broker on a cluster of brokers, with replication, ISR and elections."""

    producer_class = ClusterProducer
    consumer_class = ClusterConsumer

    def __init__(self, runtime: Runtime) -> None:
        self.runtime = runtime
        self.args = log_args(runtime.scenario)
        self.nodes = {name: BrokerNode(name) for name in broker_names(self.args.brokers)}
        self.replicated: dict[tuple[str, int], ReplicatedPartition] = {}
        self.delivered_upto = {}  # the base class fills it after creating the topics
        self.controller = Controller(runtime, self)
        super().__init__(runtime)
        runtime.kernel.after(self._isr_check_ms, self._isr_check, background=True)
        for fault in runtime.scenario.faults:
            if isinstance(fault, PowerLoss):
                runtime.kernel.schedule(fault.at_ms, self._power_loss, fault)

    @property
    def _isr_check_ms(self) -> int:
        """Kafka checks for lagging followers every half ``replica.lag.time.max.ms``."""
        return max(1, self.args.replica_lag_time_max_ms // 2)

    # -- topology ------------------------------------------------------------------------

    def _new_partition(self, topic: str, index: int) -> Partition:
        """A partition placed on its brokers, led by the first of them (the preferred leader)."""
        part = Partition(topic, index)
        part.hw = 0
        rf, min_isr, unclean, flush = replication_of(self.args, topic)
        brokers = replicas_of(self.args.brokers, rf, index)
        rp = ReplicatedPartition(part, brokers, min_isr, unclean, flush)
        self.replicated[(topic, index)] = rp
        registered = [b for b in brokers if not self.nodes[b].fenced]
        if registered:
            self.make_leader(rp, registered[0], registered, False, None, "created")
        else:
            self.go_offline(rp, brokers[:1], None, "created with no broker up")
        return part

    def leader_of(self, topic: str, partition: int) -> tuple[str | None, int]:
        """(the leader's broker, its epoch): what a client's metadata request returns."""
        rp = self.replicated[(topic, partition)]
        return (rp.leader.broker if rp.leader is not None else None), rp.epoch

    # -- leadership (the controller decides, this applies) --------------------------------

    def make_leader(
        self,
        rp: ReplicatedPartition,
        broker: str,
        isr: list[str],
        unclean: bool,
        cause_seq: int | None,
        reason: str,
    ) -> None:
        """``broker``'s replica leads ``rp`` in a new epoch; every other replica follows it."""
        leader = rp.replica_on(broker)
        assert leader is not None
        now = self.runtime.kernel.now_ms
        rp.epoch += 1
        rp.leader = leader
        rp.isr = rp.ordered(isr)
        rp.parked = {}
        rp.delayed = []  # held answers die with the old leader
        leader.begin_epoch(rp.epoch)
        end = len(leader.log)
        for r in rp.replicas:
            # The new leader knows nothing of its followers until they fetch.
            r.fetch_offset = 0
            r.leader_end_at_last_fetch = end
            r.last_fetch_ms = now
            r.last_caught_up_ms = now if r.broker in rp.isr else 0
        part = rp.partition
        part.entries = leader.log
        part.next_offset = end
        part.hw = leader.high_watermark
        elected = self.runtime.emit(
            LeaderElected,
            "controller",
            cause_seq,
            topic=part.topic,
            partition=part.index,
            leader=broker,
            leader_epoch=rp.epoch,
            replicas=[r.broker for r in rp.replicas],
            isr=list(rp.isr),
            unclean=unclean,
            log_end_offset=end,
            high_watermark=leader.high_watermark,
            reason=reason,
        )
        rp.election_seq = elected.seq
        self._readers_follow(rp)
        for r in rp.replicas:
            if r is not leader and self.nodes[r.broker].up:
                self.follow(rp, r)
        self.advance_high_watermark(rp)  # a lone ISR member commits what it has
        if part.waiters:
            self._wake_waiters(part)

    def go_offline(
        self, rp: ReplicatedPartition, isr: list[str], cause_seq: int | None, reason: str
    ) -> None:
        """No replica may lead: writes and reads of the partition wait."""
        rp.leader = None
        rp.isr = rp.ordered(isr)
        rp.parked = {}
        rp.delayed = []
        part = rp.partition
        self.runtime.emit(
            PartitionOffline,
            "controller",
            cause_seq,
            topic=part.topic,
            partition=part.index,
            isr=list(rp.isr),
            reason=reason,
        )

    def _readers_follow(self, rp: ReplicatedPartition) -> None:
        """Groups' redelivery marks must not stand past the end of a log that got shorter."""
        part = rp.partition
        tp = (part.topic, part.index)
        for upto in self.delivered_upto.values():
            if upto.get(tp, 0) > part.next_offset:
                upto[tp] = part.next_offset

    # -- produce ----------------------------------------------------------------------------

    def on_produce_at(self, arg: tuple[str, ProduceRequest]) -> None:
        """A produce request arrives at broker ``arg[0]``: append where it leads, then answer."""
        name, request = arg
        node = self.nodes[name]
        if not node.up:
            return  # a dead broker answers nothing: the producer's request times out
        runtime = self.runtime
        producer = request.producer
        acks = producer.spec.acks
        results: list[BatchResult] = []
        waiting: dict[int, tuple[ReplicatedPartition, int]] = {}
        appended: list[ReplicatedPartition] = []
        for batch in request.batches:
            rp = self.replicated[(producer.topic, batch.partition)]
            leader = rp.leader
            if leader is None or leader.broker != name:
                results.append((batch, NOT_LEADER_OR_FOLLOWER, NOT_PLACED))
                continue
            if acks == "all" and len(rp.isr) < rp.min_isr:
                results.append((batch, NOT_ENOUGH_REPLICAS, NOT_PLACED))
                continue
            outcome, placed = self._append_at_leader(rp, leader, batch, request)
            results.append((batch, outcome, placed))
            if outcome == "appended" and rp not in appended:
                appended.append(rp)
            if acks == "all" and outcome in ("appended", "duplicate"):
                waiting[len(results) - 1] = (rp, placed[0] + len(batch.msgs))
        now = runtime.kernel.now_ms
        for rp in appended:
            assert rp.leader is not None
            rp.leader.wrote(now, rp.flush_messages, self.args.dirty_expire_ms)
        if acks == 1:
            self._answer(name, request, results)  # in the leader's page cache: that is enough
        if appended and runtime.faults.crashes_at(name, AFTER_LEADER_APPEND):
            return  # the leader is gone before any follower fetched the batch
        if acks == "all" and waiting:
            delayed = DelayedProduce(name, request, results, waiting)
            for rp, _ in waiting.values():
                if delayed not in rp.delayed:
                    rp.delayed.append(delayed)
        elif acks == "all":
            self._answer(name, request, results)
        for rp in appended:
            self._wake_followers(rp)
            self.advance_high_watermark(rp)
        for rp, _ in list(waiting.values()):
            self._complete_delayed(rp)

    def _append_at_leader(
        self, rp: ReplicatedPartition, leader: Replica, batch: Any, request: ProduceRequest
    ) -> tuple[str, tuple[int, int]]:
        """Append a batch to the leader's log, or recognise an idempotent repeat."""
        part = rp.partition
        if batch.base_seq is None:
            return "appended", self._append_batch(part, batch, request.producer.name)
        state = leader.producer_state.setdefault(batch.pid, {})
        if batch.base_seq in state:
            return "duplicate", self._deduplicate(part, batch, request, state)
        if batch.base_seq != state.get(-1, 0):
            return "out_of_order", NOT_PLACED
        placed = self._append_batch(part, batch, request.producer.name)
        leader.record_batch(placed[0], batch.pid, batch.base_seq, len(batch.msgs))
        return "appended", placed

    def _answer(self, broker: str, request: ProduceRequest, results: list[BatchResult]) -> None:
        producer = request.producer
        network = self.runtime.network
        network.send(
            broker,
            producer.name,
            "ack",
            [m.id for b in request.batches for m in b.msgs] if network.faulty else None,
            producer.on_response,
            (request, results),
        )

    def _complete_delayed(self, rp: ReplicatedPartition) -> None:
        """Answer the held ``acks=all`` requests whose batches the high watermark has passed."""
        leader = rp.leader
        if leader is None or not rp.delayed:
            return
        for delayed in list(rp.delayed):
            for index, (owner, required) in list(delayed.waiting.items()):
                if owner is not rp or leader.high_watermark < required:
                    continue
                del delayed.waiting[index]
                if len(rp.isr) < rp.min_isr:
                    # Written, but the ISR shrank below the minimum before enough copies existed.
                    batch = delayed.results[index][0]
                    delayed.results[index] = (batch, NOT_ENOUGH_REPLICAS_AFTER_APPEND, NOT_PLACED)
            if not delayed.waiting:
                rp.delayed.remove(delayed)
                self._answer(delayed.broker, delayed.request, delayed.results)

    # -- internal writes (outputs, retry topics, dead letters) --------------------------------

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
        """Writes from inside the system go straight to the partition's current leader."""
        entry, part = super().append_keyed(
            topic, msg, producer, cause_seq, txn=txn, due_ms=due_ms, level=level
        )
        rp = self.replicated[(part.topic, part.index)]
        if rp.leader is not None:
            rp.leader.wrote(
                self.runtime.kernel.now_ms, rp.flush_messages, self.args.dirty_expire_ms
            )
            self._wake_followers(rp)
            self.advance_high_watermark(rp)
        return entry, part

    # -- replication: followers fetch from the leader ------------------------------------

    def follow(self, rp: ReplicatedPartition, follower: Replica) -> None:
        """``follower`` starts (again) fetching from the current leader."""
        follower.fetch_session += 1
        self._send_fetch(rp, follower, follower.fetch_session)

    def _send_fetch(self, rp: ReplicatedPartition, follower: Replica, session: int) -> None:
        leader = rp.leader
        if (
            leader is None
            or leader is follower
            or session != follower.fetch_session
            or not self.nodes[follower.broker].up
        ):
            return
        follower.fetch_attempt += 1
        fetch = Fetch(rp, follower, leader)
        runtime = self.runtime
        runtime.network.send(
            follower.broker,
            leader.broker,
            "replica_fetch",
            None,
            self._on_fetch,
            fetch,
            background=True,
        )
        runtime.kernel.after(
            self.args.replica_socket_timeout_ms, self._fetch_timed_out, fetch, background=True
        )

    def _fetch_timed_out(self, fetch: Fetch) -> None:
        """No answer within ``replica.socket.timeout.ms`` (a dead leader, a cut link): ask again."""
        follower = fetch.follower
        if fetch.session == follower.fetch_session and fetch.attempt == follower.fetch_attempt:
            self._send_fetch(fetch.rp, follower, fetch.session)

    def _on_fetch(self, fetch: Fetch) -> None:
        """At the leader: learn where the follower is, then send it what it lacks."""
        rp = fetch.rp
        leader = fetch.leader
        if rp.leader is not leader or rp.epoch != fetch.leader_epoch:
            return  # deposed: the follower has a new session under the new leader already
        if not self.nodes[leader.broker].up:
            return
        follower = fetch.follower
        if fetch.last_epoch >= 0:
            epoch, end = leader.end_offset_for(fetch.last_epoch)
            if end < fetch.offset:
                self._reply(fetch, [], (epoch, end))
                return
        self._follower_at(rp, follower, fetch.offset)
        entries = leader.log[fetch.offset : fetch.offset + REPLICA_FETCH_RECORDS]
        if entries:
            self._reply(fetch, entries, None)
            return
        rp.parked[follower.broker] = fetch
        self.runtime.kernel.after(
            self.args.replica_fetch_wait_max_ms, self._unpark, fetch, background=True
        )

    def _unpark(self, fetch: Fetch) -> None:
        """``replica.fetch.wait.max.ms`` passed with nothing new: answer empty."""
        rp = fetch.rp
        if rp.parked.get(fetch.follower.broker) is fetch:
            del rp.parked[fetch.follower.broker]
            self._reply(fetch, [], None)

    def _wake_followers(self, rp: ReplicatedPartition) -> None:
        """New records at the leader: answer the fetches it was holding."""
        leader = rp.leader
        if not rp.parked or leader is None:
            return
        parked = list(rp.parked.values())
        rp.parked = {}
        for fetch in parked:
            entries = leader.log[fetch.offset : fetch.offset + REPLICA_FETCH_RECORDS]
            self._reply(fetch, entries, None)

    def _reply(self, fetch: Fetch, entries: list[Entry], diverging: tuple[int, int] | None) -> None:
        leader = fetch.leader
        self.runtime.network.send(
            leader.broker,
            fetch.follower.broker,
            "replica_fetch",
            None,
            self._on_fetched,
            (fetch, entries, leader.high_watermark, diverging),
            background=True,
        )

    def _on_fetched(self, arg: tuple[Fetch, list[Entry], int, tuple[int, int] | None]) -> None:
        """At the follower: truncate to where the epochs agree, or append what came."""
        fetch, entries, high_watermark, diverging = arg
        follower = fetch.follower
        rp = fetch.rp
        if (
            fetch.session != follower.fetch_session
            or fetch.attempt != follower.fetch_attempt
            or not self.nodes[follower.broker].up
        ):
            return
        if diverging is not None:
            self._truncate_to_epoch(rp, follower, *diverging)
        elif entries and fetch.offset == len(follower.log):
            follower.copy_from(fetch.leader, entries)
            follower.wrote(self.runtime.kernel.now_ms, rp.flush_messages, self.args.dirty_expire_ms)
            part = rp.partition
            self.runtime.emit(
                ReplicaFetched,
                follower.broker,
                entries[-1].appended_seq,
                broker=follower.broker,
                leader=fetch.leader.broker,
                topic=part.topic,
                partition=part.index,
                from_offset=fetch.offset,
                records=len(entries),
                log_end_offset=len(follower.log),
            )
        follower.high_watermark = min(high_watermark, len(follower.log))
        self._send_fetch(rp, follower, fetch.session)

    def _truncate_to_epoch(
        self, rp: ReplicatedPartition, replica: Replica, epoch: int, end: int
    ) -> None:
        if end >= len(replica.log):
            return
        removed = replica.truncate_to(end)
        part = rp.partition
        self.runtime.emit(
            LogTruncatedToEpoch,
            replica.broker,
            rp.election_seq,
            broker=replica.broker,
            topic=part.topic,
            partition=part.index,
            leader_epoch=epoch,
            offset=end,
            removed=len(removed),
            msgs=[e.msg.id for e in removed],
        )

    # -- the ISR and the high watermark ----------------------------------------------------

    def _follower_at(self, rp: ReplicatedPartition, follower: Replica, offset: int) -> None:
        """A fetch for ``offset``: the follower has every record below it."""
        leader = rp.leader
        assert leader is not None
        now = self.runtime.kernel.now_ms
        end = len(leader.log)
        # Kafka's rule: caught up now if it asks for the log end; caught up at its previous
        # fetch if it asks for what was the log end then.
        if offset >= end:
            follower.last_caught_up_ms = now
        elif offset >= follower.leader_end_at_last_fetch:
            follower.last_caught_up_ms = max(follower.last_caught_up_ms, follower.last_fetch_ms)
        follower.last_fetch_ms = now
        follower.leader_end_at_last_fetch = end
        follower.fetch_offset = offset
        epoch_start = leader.epochs[-1][1] if leader.epochs else 0
        if (
            follower.broker not in rp.isr
            and offset >= leader.high_watermark
            and offset >= epoch_start
        ):
            rp.isr = rp.ordered([*rp.isr, follower.broker])
            part = rp.partition
            self.runtime.emit(
                IsrExpanded,
                leader.broker,
                None,
                topic=part.topic,
                partition=part.index,
                added=[follower.broker],
                isr=list(rp.isr),
            )
        self.advance_high_watermark(rp)

    def advance_high_watermark(self, rp: ReplicatedPartition) -> None:
        """Move the high watermark up to the lowest log end in the ISR (it never moves down)."""
        leader = rp.leader
        if leader is None or not self.nodes[leader.broker].up:
            return
        high = len(leader.log)
        for r in rp.replicas:
            if r is not leader and r.broker in rp.isr and r.fetch_offset < high:
                high = r.fetch_offset
        if high <= leader.high_watermark:
            return
        leader.high_watermark = high
        part = rp.partition
        part.hw = high
        self.runtime.emit(
            HighWatermarkAdvanced,
            part.name,
            None,
            topic=part.topic,
            partition=part.index,
            leader=leader.broker,
            high_watermark=high,
        )
        self._complete_delayed(rp)
        if part.waiters:
            self._wake_waiters(part)

    def _isr_check(self, _: object = None) -> None:
        """Leaders drop followers that have not caught up for ``replica.lag.time.max.ms``."""
        now = self.runtime.kernel.now_ms
        lag_max = self.args.replica_lag_time_max_ms
        for rp in self.replicated.values():
            leader = rp.leader
            if leader is None or not self.nodes[leader.broker].up:
                continue
            end = len(leader.log)
            out = [
                r.broker
                for r in rp.replicas
                if r is not leader
                and r.broker in rp.isr
                and r.fetch_offset != end
                and now - r.last_caught_up_ms > lag_max
            ]
            if not out:
                continue
            rp.isr = [b for b in rp.isr if b not in out]
            part = rp.partition
            self.runtime.emit(
                IsrShrunk,
                leader.broker,
                None,
                topic=part.topic,
                partition=part.index,
                removed=out,
                isr=list(rp.isr),
                reason=f"not caught up for {lag_max} ms (replica.lag.time.max.ms)",
            )
            self.advance_high_watermark(rp)
        self.runtime.kernel.after(self._isr_check_ms, self._isr_check, background=True)

    # -- broker faults -----------------------------------------------------------------------

    def crash(self, target: str, point: str | None) -> int:
        node = self.nodes.get(target)
        if node is None:
            return super().crash(target, point)
        return self._crash_broker(node, point, None, power=False)

    def restart(self, target: str, cause_seq: int | None) -> None:
        node = self.nodes.get(target)
        if node is None:
            super().restart(target, cause_seq)
            return
        self._restart_broker(node, cause_seq)

    def _crash_broker(
        self, node: BrokerNode, point: str | None, cause_seq: int | None, *, power: bool
    ) -> int:
        crashed: Crashed = self.runtime.emit(Crashed, node.name, cause_seq, point=point)
        if not node.up:
            return crashed.seq
        node.up = False
        node.incarnation += 1
        node.crash_seq = crashed.seq
        for rp in self.replicated.values():
            replica = rp.replica_on(node.name)
            if replica is None:
                continue
            replica.fetch_session += 1  # its fetch loop dies with the process
            if rp.leader is replica:
                rp.parked = {}
                rp.delayed = []
            if power:
                self._lose_page_cache(rp, replica, crashed.seq)
        self.up = any(n.up for n in self.nodes.values())
        if not power:
            # A dead process's sockets close: clients read what it sent before, then the
            # close. A machine without power just stops answering: they time out.
            for producer in self.producers.values():
                if isinstance(producer, ClusterProducer):
                    self.runtime.network.send(
                        node.name,
                        producer.name,
                        "close",
                        None,
                        producer.connection_closed,
                        node.name,
                    )
        self.controller.broker_crashed(node)
        return crashed.seq

    def _restart_broker(self, node: BrokerNode, cause_seq: int | None) -> None:
        if node.up:
            return
        restarted = self.runtime.emit(Restarted, node.name, cause_seq)
        node.up = True
        self.up = True
        for producer in self.producers.values():
            if isinstance(producer, ClusterProducer):
                producer.connection_restored(node.name)
        self.controller.broker_started(node, restarted.seq)

    def _power_loss(self, fault: PowerLoss) -> None:
        """Every target loses power in the same millisecond: process and page cache together."""
        lost = self.runtime.emit(PowerLost, "power", None, targets=list(fault.targets))
        seqs = [
            self._crash_broker(self.nodes[name], None, lost.seq, power=True)
            for name in fault.targets
        ]
        if fault.restart_after_ms is not None:
            back = list(zip(fault.targets, seqs, strict=True))
            self.runtime.kernel.after(fault.restart_after_ms, self._power_restored, back)

    def _power_restored(self, back: list[tuple[str, int]]) -> None:
        for name, crash_seq in back:
            self._restart_broker(self.nodes[name], crash_seq)

    def _lose_page_cache(self, rp: ReplicatedPartition, replica: Replica, cause_seq: int) -> None:
        """What the OS had not written back yet vanishes; the log ends where the disk does."""
        durable = replica.durable_offset(self.runtime.kernel.now_ms, self.args.dirty_expire_ms)
        if durable >= len(replica.log):
            return
        removed = replica.truncate_to(durable)
        part = rp.partition
        if rp.leader is replica:
            part.next_offset = len(replica.log)
            part.hw = replica.high_watermark
            self._readers_follow(rp)
        self.runtime.emit(
            PageCacheLost,
            replica.broker,
            cause_seq,
            broker=replica.broker,
            topic=part.topic,
            partition=part.index,
            offset=durable,
            removed=len(removed),
            msgs=[e.msg.id for e in removed],
        )
