"""The controller: which brokers are alive, and which replica leads each partition.

In KRaft mode a small quorum of controllers keeps the cluster's metadata.
Every broker sends it heartbeats; a broker silent for
``broker.session.timeout.ms`` (9 s) is **fenced**: taken out of every ISR it
was in, and every partition it led gets a new leader — the first replica, in
assignment order, that is in the ISR and not fenced. The new leader starts a
new **leader epoch**. Until the controller notices, clients keep talking to the
dead broker and their requests time out: a leader's crash costs seconds of
unavailability, not nothing.

If no ISR member is left, the partition goes **offline** and waits for one to
return: the ISR keeps its last member, because only that replica surely has
every committed record. ``unclean.leader.election.enable`` trades that wait
for data: an out-of-sync replica may lead, and records only the ISR had are
lost when the others truncate to its log.

A restarted broker registers again, which fences its old registration at once
if the controller had not noticed the crash yet. It leads the offline
partitions whose last ISR member it is, and follows everywhere else.

What is simplified: the controller itself never fails and every broker can
reach it (network faults do not cut broker↔controller links); an election
takes no time once a broker is fenced; preferred leaders are not restored
afterwards (``auto.leader.rebalance.enable``).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from simulator.trace import IsrShrunk

if TYPE_CHECKING:
    from simulator.models.log.cluster import BrokerNode, ReplicatedLogBroker, ReplicatedPartition
    from simulator.runtime import Runtime

__all__ = ["Controller", "choose_leader"]


def choose_leader(
    rp: ReplicatedPartition, isr: list[str], registered: dict[str, bool]
) -> tuple[str | None, bool]:
    """(the new leader, whether the election is unclean), or (None, False): offline.

    Clean: the first replica in assignment order that is in ``isr`` and
    registered. Unclean, if the topic allows it: the first registered replica.
    """
    for replica in rp.replicas:
        if replica.broker in isr and registered[replica.broker]:
            return replica.broker, False
    if rp.unclean:
        for replica in rp.replicas:
            if registered[replica.broker]:
                return replica.broker, True
    return None, False


class Controller:
    """Broker liveness, fencing and leader elections for one cluster."""

    def __init__(self, runtime: Runtime, cluster: ReplicatedLogBroker) -> None:
        self.runtime = runtime
        self.cluster = cluster
        self.session_timeout_ms = cluster.args.broker_session_timeout_ms

    def _registered(self) -> dict[str, bool]:
        """Brokers the controller believes alive: not fenced (a dead one is, until fenced)."""
        return {name: not node.fenced for name, node in self.cluster.nodes.items()}

    # -- a broker goes away ------------------------------------------------------------

    def broker_crashed(self, node: BrokerNode) -> None:
        """Its heartbeats stop; the controller fences it when its session runs out."""
        self.runtime.kernel.after(
            self.session_timeout_ms, self._session_expired, (node, node.incarnation)
        )

    def _session_expired(self, arg: tuple[BrokerNode, int]) -> None:
        node, incarnation = arg
        if node.incarnation == incarnation and not node.up and not node.fenced:
            self.fence(node, node.crash_seq)

    def fence(self, node: BrokerNode, cause_seq: int | None) -> None:
        """Take ``node`` out of every ISR and elect new leaders where it led."""
        node.fenced = True
        cluster = self.cluster
        for rp in cluster.replicated.values():
            if rp.replica_on(node.name) is None:
                continue
            if rp.leader is not None and rp.leader.broker == node.name:
                remaining = [b for b in rp.isr if b != node.name]
                leader, unclean = choose_leader(rp, remaining, self._registered())
                if leader is None:
                    cluster.go_offline(rp, remaining or [node.name], cause_seq, "leader fenced")
                else:
                    isr = [leader] if unclean else remaining
                    reason = "unclean: no in-sync replica left" if unclean else "leader fenced"
                    cluster.make_leader(rp, leader, isr, unclean, cause_seq, reason)
            elif node.name in rp.isr and len(rp.isr) > 1:
                rp.isr = [b for b in rp.isr if b != node.name]
                self.runtime.emit(
                    IsrShrunk,
                    "controller",
                    cause_seq,
                    topic=rp.partition.topic,
                    partition=rp.partition.index,
                    removed=[node.name],
                    isr=list(rp.isr),
                    reason="broker fenced",
                )
                cluster.advance_high_watermark(rp)

    # -- a broker comes back -----------------------------------------------------------

    def broker_started(self, node: BrokerNode, cause_seq: int) -> None:
        """A (re)started broker registers: it leads what waited for it and follows the rest."""
        if not node.fenced:
            self.fence(node, cause_seq)  # the new registration fences the old one
        node.fenced = False
        cluster = self.cluster
        for rp in cluster.replicated.values():
            replica = rp.replica_on(node.name)
            if replica is None:
                continue
            if rp.leader is None:
                in_isr = node.name in rp.isr
                if in_isr or rp.unclean:
                    isr = list(rp.isr) if in_isr else [node.name]
                    reason = "last in-sync replica returned" if in_isr else "unclean: offline"
                    cluster.make_leader(rp, node.name, isr, not in_isr, cause_seq, reason)
            elif rp.leader is not replica:
                cluster.follow(rp, replica)
