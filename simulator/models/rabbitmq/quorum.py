"""A quorum queue on a cluster: a Raft group that confirms once a majority has written.

A quorum queue is replicated on several nodes (its *members*, three by
default). One member is the *leader*: every publish goes to it, it appends the
message to its log and sends it to the *followers*; each member writes it to
disk and tells the leader. Once **more than half** of the members have it —
two of three, three of five — the message is *committed*: it cannot be lost
while a majority of the members survive, so only now does the queue hand it to
consumers and only now does the publisher's confirm go out. A minority can
never commit anything on its own, which is why a queue cut off from most of
its members accepts no writes.

When the leader's node dies, the followers notice (its connections close), wait
a short random *election timeout* each, and the first to time out asks the
others for their votes. A member votes only for a candidate whose log holds at
least everything its own log holds, and a candidate needs a majority of votes:
so the winner has every committed message, and nothing confirmed is lost. What
the old leader had appended but not committed — never confirmed — may be gone;
its publisher sends it again. Consumers connected to other nodes stay attached
and are served by the new leader; consumers whose node died have their unacked
deliveries returned to the queue.

What evsim leaves out of Raft, because it does not change what a student sees
in these lessons: terms are counted but the log holds no terms (entries a new
leader has are kept, the rest dropped), heartbeats and pre-votes are not sent
(a crash is noticed at once, a silent node after ``failure_detection_ms``), a
member catching up gets every missing entry in one message, and acks,
rejections and requeues are applied at once by whoever leads (their own
replication is not modelled). The queue's state — ready messages and
deliveries — is the state machine every member would apply, kept once.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING

from simulator.trace import (
    QueueAvailable,
    QueueUnavailable,
    QuorumLeaderElected,
    QuorumWriteCommitted,
)

if TYPE_CHECKING:
    from simulator.messages import Message
    from simulator.models.rabbitmq.cluster import Cluster
    from simulator.models.rabbitmq.confirms import ConfirmWait
    from simulator.models.rabbitmq.queue import Queue
    from simulator.runtime import Runtime

__all__ = ["QuorumGroup", "Write"]


class Write:
    """One publish on its way into a quorum queue: enqueued there once it commits."""

    __slots__ = ("cause_seq", "entry_node", "exchange", "expiration_ms", "msg", "wait")

    def __init__(
        self,
        msg: Message,
        expiration_ms: int | None,
        cause_seq: int,
        exchange: str,
        entry_node: str,
        wait: ConfirmWait | None,
    ) -> None:
        self.msg = msg
        self.expiration_ms = expiration_ms
        self.cause_seq = cause_seq
        """The publish's ``Routed`` record."""
        self.exchange = exchange
        self.entry_node = entry_node
        """The node the publisher is connected to: it forwards the write to the leader."""
        self.wait = wait
        """The publisher's confirm, waiting for this queue (None: nobody waits)."""


Applied = Callable[[Write, int], None]
"""What the queue does with a committed write (and the seq of ``QuorumWriteCommitted``)."""


class QuorumGroup:
    """The Raft group of one quorum queue: its members, its leader, its uncommitted log."""

    def __init__(
        self,
        runtime: Runtime,
        cluster: Cluster,
        queue: Queue,
        members: list[str],
        disk_write_ms: int,
        applied: Applied,
    ) -> None:
        self.runtime = runtime
        self.cluster = cluster
        self.queue = queue
        self.name = queue.name
        self.members = members
        self.majority = len(members) // 2 + 1
        """More than half: 2 of 3, 3 of 5 (and 1 of 1, 2 of 2: no failure tolerated)."""
        self._disk_write_ms = disk_write_ms
        self._applied = applied
        self._rng = runtime.rng.stream(f"rabbitmq:election:{queue.name}")
        self.leader: str | None = members[0]
        self.term = 1
        self.last_index = 0
        """The highest index in the leader's log."""
        self.commit_index = 0
        self._log: dict[int, Write] = {}
        """Appended, not yet committed: index → the write."""
        self.received: dict[str, int] = dict.fromkeys(members, 0)
        """What each member has in its log (written to disk or still being written)."""
        self.written: dict[str, int] = dict.fromkeys(members, 0)
        """What each member has on disk: survives its crash, and decides its vote."""
        self._match: dict[str, int] = dict.fromkeys(members, 0)
        """What the leader knows each member has written (its acks)."""
        self._sent: dict[str, int] = dict.fromkeys(members, 0)
        """What the leader has sent each follower so far."""
        self._waiting: list[Write] = []
        """Publishes that found no leader they could reach: sent on once there is one."""
        self._campaigns = 0
        """Candidates still waiting out their election timeout."""
        runtime.emit(
            QuorumLeaderElected,
            self.name,
            None,
            group=self.name,
            leader=members[0],
            term=1,
            votes=list(members),
            members=list(members),
        )

    # -- writes --------------------------------------------------------------------------------

    def submit(self, write: Write) -> None:
        """A publish reaches this queue through ``write.entry_node``: to the leader, or wait."""
        leader = self.leader
        if leader is None or not self.cluster.can_reach(write.entry_node, leader):
            self._waiting.append(write)  # the channel holds it until it knows a leader
            return
        self._append(leader, write)

    def _append(self, leader: str, write: Write) -> None:
        """The leader appends the write to its log, writes it to disk and replicates it."""
        self.last_index += 1
        index = self.last_index
        self._log[index] = write
        if self.runtime.faults.crashes_at(leader, "after_append_before_ack"):
            return  # in the leader's memory only: gone with it, never confirmed
        self.received[leader] = index
        self._write(leader, index)
        for member in self.members:
            if member != leader:
                self._replicate(leader, member, index)

    def _replicate(self, leader: str, follower: str, index: int) -> None:
        """Send entry ``index`` to a follower that has everything before it."""
        if not self.cluster.can_reach(leader, follower):
            return  # cut off or down: it catches up when it can be reached again
        if self._sent[follower] != index - 1:
            self._catch_up(leader, follower)  # behind: send it all it lacks
            return
        self._sent[follower] = index
        arg = (follower, index, self.term, self.cluster.epoch(follower))
        self.runtime.kernel.after(self.runtime.network.latency_ms, self._receive, arg)

    def _receive(self, arg: tuple[str, int, int, int]) -> None:
        follower, index, term, epoch = arg
        if term != self.term or self.cluster.epoch(follower) != epoch:
            return  # sent by a deposed leader, or the follower restarted since: void
        if self.received[follower] >= index:
            return
        self.received[follower] = index
        self._write(follower, index)

    def _write(self, member: str, index: int) -> None:
        """``member`` writes its log up to ``index`` to disk (and fsyncs)."""
        arg = (member, index, self.cluster.epoch(member))
        self.runtime.kernel.after(self._disk_write_ms, self._written, arg)

    def _written(self, arg: tuple[str, int, int]) -> None:
        member, index, epoch = arg
        if self.cluster.epoch(member) != epoch or self.received[member] < index:
            return  # it crashed before the write finished, or its log was cut back
        if index <= self.written[member]:
            return
        self.written[member] = index
        leader = self.leader
        if leader is None:
            return
        if member == leader:
            self._match[member] = index
            self._advance_commit()
        elif self.cluster.can_reach(member, leader):
            self.runtime.kernel.after(self.runtime.network.latency_ms, self._acked, (member, index))

    def _acked(self, arg: tuple[str, int]) -> None:
        member, index = arg
        if self.leader is None or self.received[member] < index:
            return  # no leader to hear it, or that part of its log was cut back since
        if index > self._match[member]:
            self._match[member] = index
            self._advance_commit()

    def _advance_commit(self) -> None:
        """Commit every entry a majority has written, in log order."""
        highest = sorted(self._match.values(), reverse=True)[self.majority - 1]
        while self.commit_index < highest:
            self.commit_index += 1
            write = self._log.pop(self.commit_index, None)
            if write is not None:
                self._commit(self.commit_index, write)

    def _commit(self, index: int, write: Write) -> None:
        leader = self.leader or ""
        replicas = [leader] + [m for m in self.members if m != leader and self._match[m] >= index]
        committed = self.runtime.emit(
            QuorumWriteCommitted,
            self.name,
            write.cause_seq,
            group=self.name,
            msg=write.msg.id,
            index=index,
            replicas=replicas,
        )
        self._applied(write, committed.seq)

    # -- failures and elections ----------------------------------------------------------------

    def node_crashed(self, node: str, cause_seq: int) -> None:
        """A member's node died: what it had not written is gone; a leader must be replaced."""
        if node not in self.received:
            return
        self.received[node] = self.written[node]
        self._sent[node] = self.written[node]
        if node == self.leader:
            reason = f"its leader {node} is down: the followers elect a new one"
            self._lose_leader(reason, cause_seq)

    def node_restarted(self, node: str, cause_seq: int | None) -> None:
        """A member is back with what it had on disk: catch it up, or hold an election."""
        if node not in self.received:
            return
        self.received[node] = self.written[node]
        if self.leader is not None:
            self._catch_up(self.leader, node)
        else:
            self._elect(cause_seq)

    def connectivity_changed(self, cause_seq: int | None) -> None:
        """A partition began (and was noticed) or healed: does the leader still have a majority?"""
        leader = self.leader
        if leader is None:
            self._elect(cause_seq)
            return
        if len(self._voters_for(leader, with_any_log=True)) < self.majority:
            reason = f"its leader {leader} is cut off from a majority of its members"
            self._lose_leader(reason, cause_seq)
            return
        for member in self.members:
            if member != leader:
                self._catch_up(leader, member)
        self._send_waiting()

    def _lose_leader(self, reason: str, cause_seq: int | None) -> None:
        self.leader = None
        self.queue.available = False
        self.runtime.emit(QueueUnavailable, self.name, cause_seq, group=self.name, reason=reason)
        self._elect(cause_seq)

    def _elect(self, cause_seq: int | None) -> None:
        """Every live member starts its randomised election timeout; the first to fire runs."""
        if self._campaigns:
            return
        timeout = self.cluster.settings.election_timeout_ms
        # A crash closes the connections at once: the followers know after one hop.
        notice = self.runtime.network.latency_ms
        for member in self.members:
            if self.cluster.up(member):
                wait_ms = notice + timeout + self._rng.randrange(timeout)
                self._campaigns += 1
                self.runtime.kernel.after(wait_ms, self._campaign, (member, cause_seq))

    def _voters_for(self, candidate: str, *, with_any_log: bool = False) -> list[str]:
        """The members that can exchange votes with ``candidate`` and would vote for it."""
        cluster = self.cluster
        mine = self.received[candidate]

        def in_touch(m: str) -> bool:
            return m == candidate or (
                cluster.can_reach(candidate, m) and cluster.can_reach(m, candidate)
            )

        return [
            m
            for m in self.members
            if cluster.up(m) and in_touch(m) and (with_any_log or self.received[m] <= mine)
        ]

    def _campaign(self, arg: tuple[str, int | None]) -> None:
        candidate, cause_seq = arg
        self._campaigns -= 1
        if self.leader is not None:
            return
        if self.cluster.up(candidate):
            votes = self._voters_for(candidate)
            if len(votes) >= self.majority:
                self._won(candidate, votes, cause_seq)
                return
        if self._campaigns == 0:
            up = [m for m in self.members if self.cluster.up(m)]
            self.runtime.emit(
                QueueUnavailable,
                self.name,
                cause_seq,
                group=self.name,
                reason=f"no majority: {len(up)} of {len(self.members)} members up and in touch",
            )

    def _won(self, leader: str, votes: list[str], cause_seq: int | None) -> None:
        """``leader`` has a majority: its log is the queue's log from now on."""
        self.term += 1
        self.leader = leader
        last = self.received[leader]
        # The new leader's log wins: entries it lacks were never committed and are gone
        # (never confirmed: their publishers send them again); longer logs are cut back.
        for index in [i for i in self._log if i > last]:
            del self._log[index]
        self.last_index = last
        for m in self.members:
            self.written[m] = min(self.written[m], last)
            self.received[m] = min(self.received[m], last)
            # A vote carries how far the voter's log goes: the leader starts from that.
            self._match[m] = self.written[m] if m in votes else 0
            self._sent[m] = self.received[m]
        elected = self.runtime.emit(
            QuorumLeaderElected,
            self.name,
            cause_seq,
            group=self.name,
            leader=leader,
            term=self.term,
            votes=votes,
            members=list(self.members),
        )
        queue = self.queue
        queue.available = True
        queue.node = leader
        self.runtime.emit(QueueAvailable, self.name, elected.seq, group=self.name, node=leader)
        for m in self.members:
            if m != leader:
                self._catch_up(leader, m)
        self._advance_commit()
        self._send_waiting()
        queue.broker.serving_changed(queue, elected.seq)  # consumers re-attach to the new leader

    def _catch_up(self, leader: str, follower: str) -> None:
        """Send a lagging follower everything it lacks, in one message."""
        target = self.last_index
        if self._sent[follower] >= target:
            return
        if not self.cluster.up(follower) or not self.cluster.can_reach(leader, follower):
            return
        self._sent[follower] = target
        arg = (follower, target, self.term, self.cluster.epoch(follower))
        self.runtime.kernel.after(self.runtime.network.latency_ms, self._receive, arg)

    def _send_waiting(self) -> None:
        waiting = self._waiting
        self._waiting = []
        for write in waiting:
            self.submit(write)
