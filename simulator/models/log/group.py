"""The group coordinator: membership, rebalances and committed offsets.

Each consumer group has a coordinator on the broker. Members prove they are
alive with heartbeats; one silent for ``session_timeout_ms`` (45 s by default)
is evicted. A member that does not poll within ``max_poll_interval_ms`` (5 min)
leaves on its own. Any join or leave starts a *rebalance*: under Kafka's eager
protocol every member stops, rejoins on its next poll, and only when all live
members have rejoined does the coordinator hand out a new assignment — a new
*generation*. Until then nobody reads: the stop-the-world pause you can watch.

The coordinator also stores the group's committed offsets, one per partition:
the *next* offset to read. A commit from a member that is no longer part of the
current generation is refused (``CommitFailedException``), which is how a
zombie that overran ``max.poll.interval.ms`` learns it lost its partitions.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from simulator.models.log.assignors import TopicPartition, assign
from simulator.scenario import Group as GroupSpec
from simulator.trace import Committed, MemberJoined, MemberLeft, Rebalanced

if TYPE_CHECKING:
    from simulator.models.log.broker import LogBroker
    from simulator.models.log.consumer import Consumer
    from simulator.runtime import Runtime

__all__ = ["GroupCoordinator"]


class GroupCoordinator:
    """Membership, assignment and offsets of one consumer group."""

    def __init__(
        self, runtime: Runtime, broker: LogBroker, spec: GroupSpec, partitions: list[TopicPartition]
    ) -> None:
        self.runtime = runtime
        self.broker = broker
        self.spec = spec
        self.name = spec.name
        self.partitions = partitions
        self.members: dict[str, Consumer] = {}
        self._incarnation: dict[str, int] = {}
        """Which process incarnation of each member name is in the group."""
        self.generation = 0
        self.assignment: dict[str, list[TopicPartition]] = {}
        self.committed: dict[TopicPartition, int] = {}
        self.rebalancing = False
        self._awaiting: dict[str, bool] = {}
        self._rebalance_cause: int | None = None
        self._last_heartbeat_ms: dict[str, int] = {}
        self._queued_joins: dict[str, Consumer] = {}
        self._completion_scheduled = False

    # -- membership --------------------------------------------------------------------

    def join(self, consumer: Consumer) -> None:
        """A consumer (re)joins: a new member starts a rebalance; a known one answers it."""
        name = consumer.name
        known = self._incarnation.get(name)
        if known is not None and known != consumer.incarnation:
            # A restarted process is a new member; the old one stays until its session expires.
            self._queued_joins[name] = consumer
            return
        if known is None:
            self.members[name] = consumer
            self._incarnation[name] = consumer.incarnation
            self._last_heartbeat_ms[name] = self.runtime.kernel.now_ms
            cause = consumer.crash_seq if consumer.start_cause is None else consumer.start_cause
            joined = self.runtime.emit(
                MemberJoined, self.name, cause, group=self.name, consumer=name
            )
            self._arm_expiry(name)
            self._start_rebalance(joined.seq)
        self._awaiting.pop(name, None)
        self._maybe_complete()

    def leave(self, name: str, reason: str, cause_seq: int | None) -> None:
        """Remove a member (left, evicted) and rebalance the rest."""
        consumer = self.members.pop(name, None)
        if consumer is None:
            return
        self._incarnation.pop(name, None)
        self._last_heartbeat_ms.pop(name, None)
        self._awaiting.pop(name, None)
        self.assignment.pop(name, None)
        left = self.runtime.emit(
            MemberLeft, self.name, cause_seq, group=self.name, consumer=name, reason=reason
        )
        consumer.on_removed()
        queued = self._queued_joins.pop(name, None)
        if queued is not None and not queued.crashed:
            self.members[name] = queued
            self._incarnation[name] = queued.incarnation
            self._last_heartbeat_ms[name] = self.runtime.kernel.now_ms
            self.runtime.emit(MemberJoined, self.name, left.seq, group=self.name, consumer=name)
            self._arm_expiry(name)
        self._start_rebalance(left.seq)

    def _start_rebalance(self, cause_seq: int) -> None:
        if not self.rebalancing:
            self.runtime.kernel.after(
                self.spec.max_poll_interval_ms,
                self._rebalance_timeout,
                self.generation,
                background=True,
            )
        self.rebalancing = True
        self._rebalance_cause = cause_seq
        self._awaiting = {name: True for name in self.members}
        for consumer in list(self.members.values()):
            consumer.on_rebalance_started()

    def _maybe_complete(self) -> None:
        # Complete at the end of this millisecond, so members joining together share a generation.
        if self.rebalancing and not self._awaiting and not self._completion_scheduled:
            self._completion_scheduled = True
            self.runtime.kernel.after(0, self._complete_rebalance)

    def _rebalance_timeout(self, generation: int) -> None:
        """Members that did not rejoin within the rebalance timeout are dropped."""
        if not self.rebalancing or generation != self.generation:
            return
        for name in list(self._awaiting):
            self.leave(name, "rebalance_timeout", self._rebalance_cause)

    def _complete_rebalance(self, _: object = None) -> None:
        self._completion_scheduled = False
        if not self.rebalancing or self._awaiting:
            return
        self.rebalancing = False
        self.generation += 1
        previous = self.assignment
        self.assignment = assign(self.spec.assignor, list(self.members), self.partitions, previous)
        rebalanced = self.runtime.emit(
            Rebalanced,
            self.name,
            self._rebalance_cause,
            group=self.name,
            generation=self.generation,
            assignor=self.spec.assignor,
            assignment={m: [f"{t}/{p}" for t, p in tps] for m, tps in self.assignment.items()},
        )
        for name, consumer in list(self.members.items()):
            consumer.on_assigned(self.generation, self.assignment.get(name, []), rebalanced.seq)

    def partitions_changed(self, partitions: list[TopicPartition], cause_seq: int) -> None:
        """The subscribed topics have more partitions now: everyone rejoins to share them."""
        self.partitions = partitions
        if self.members:
            self._start_rebalance(cause_seq)

    # -- liveness ----------------------------------------------------------------------

    def heartbeat(self, member: tuple[str, int]) -> None:
        name, incarnation = member
        if self._incarnation.get(name) == incarnation:
            self._last_heartbeat_ms[name] = self.runtime.kernel.now_ms

    def is_member(self, consumer: Consumer) -> bool:
        return self._incarnation.get(consumer.name) == consumer.incarnation

    def _arm_expiry(self, name: str, *, silent: bool = False) -> None:
        last = self._last_heartbeat_ms.get(name)
        if last is None:
            return
        self.runtime.kernel.schedule(
            last + self.spec.session_timeout_ms, self._check_expiry, name, background=not silent
        )

    def member_went_silent(self, consumer: Consumer) -> None:
        """Book-keeping only: the check that will notice is real work, not background."""
        if self.is_member(consumer):
            self._arm_expiry(consumer.name, silent=True)

    def _check_expiry(self, name: str) -> None:
        consumer = self.members.get(name)
        last = self._last_heartbeat_ms.get(name)
        if consumer is None or last is None:
            return
        if self.runtime.kernel.now_ms - last >= self.spec.session_timeout_ms:
            self.leave(name, "session_timeout", consumer.crash_seq)
        else:
            self._arm_expiry(name, silent=consumer.crashed)

    # -- offsets -----------------------------------------------------------------------

    def commit(
        self,
        consumer: Consumer,
        generation: int,
        offsets: dict[TopicPartition, int],
        cause_seq: int | None,
    ) -> bool:
        """Store offsets; refused if the member is not in the current generation."""
        if not self.is_member(consumer) or generation != self.generation:
            return False
        runtime = self.runtime
        committed = self.committed
        for tp, offset in offsets.items():
            if committed.get(tp) != offset:
                committed[tp] = offset
                runtime.record(
                    Committed(
                        seq=runtime.next_seq,
                        at=runtime.kernel.now_ms,
                        component=self.name,
                        cause_seq=cause_seq,
                        group=self.name,
                        consumer=consumer.name,
                        topic=tp[0],
                        partition=tp[1],
                        offset=offset,
                    )
                )
        return True
