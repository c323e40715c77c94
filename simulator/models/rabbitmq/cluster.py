"""A RabbitMQ cluster: nodes that can crash, links between them that can be cut.

Every client — a publisher, a consumer — holds one connection to one node. A
classic queue lives on one node: while that node is down the queue is
unavailable (publishes routed to it are dropped, yet confirmed; its consumers
are cancelled) and what it held in memory only is gone when the node comes
back. A quorum queue has members on several nodes and survives the loss of a
minority of them (``simulator.models.rabbitmq.quorum``). A client whose node goes down loses its
connection and connects to another node after ``reconnect_ms``.

A crash is noticed at once: the dead node's connections close. A network
partition between two nodes (a ``partition`` fault naming them) is silent:
the nodes suspect each other after ``failure_detection_ms``, and only then do
quorum queues react. Messages between nodes — replication, forwarding a
publish to a queue on another node — are checked against the network, so a cut
link stops them; their latency is the network's.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING

from simulator.scenario import PartitionFault
from simulator.trace import NetworkHealed, NetworkPartitioned

if TYPE_CHECKING:
    from simulator.models.rabbitmq.settings import RabbitCluster
    from simulator.runtime import Runtime

__all__ = ["Cluster"]


class Cluster:
    """The nodes of a cluster: which are up, and who can reach whom right now."""

    def __init__(
        self,
        runtime: Runtime,
        settings: RabbitCluster,
        connectivity_changed: Callable[[int | None], None],
    ) -> None:
        self.runtime = runtime
        self.settings = settings
        self.nodes = list(settings.nodes)
        self._up = dict.fromkeys(self.nodes, True)
        self._epoch = dict.fromkeys(self.nodes, 0)
        """Counted up at each crash: a write or a message of an older life is void."""
        self.crash_seq: dict[str, int] = {}
        """Node → seq of its latest ``Crashed`` record."""
        self._changed = connectivity_changed
        kernel = runtime.kernel
        latency = runtime.network.latency_ms
        for fault in runtime.scenario.faults:
            if isinstance(fault, PartitionFault) and any(n in self._up for n in fault.between):
                # Silent until suspected; a healed link is seen with the first message across.
                noticed = fault.from_ms + settings.failure_detection_ms
                if noticed < fault.to_ms:
                    kernel.schedule(noticed, self._notice, (fault, NetworkPartitioned))
                kernel.schedule(fault.to_ms + latency, self._notice, (fault, NetworkHealed))

    def up(self, node: str) -> bool:
        return self._up.get(node, False)

    def epoch(self, node: str) -> int:
        return self._epoch[node]

    def can_reach(self, source: str, destination: str) -> bool:
        """Both nodes are up and the link between them is not cut."""
        if not (self._up.get(source) and self._up.get(destination)):
            return False
        if source == destination:
            return True
        return self.runtime.network.allows(source, destination, "cluster", background=True)

    def went_down(self, node: str, crash_seq: int) -> None:
        self._up[node] = False
        self._epoch[node] += 1
        self.crash_seq[node] = crash_seq

    def came_up(self, node: str) -> None:
        self._up[node] = True

    def next_live(self, after: str) -> str | None:
        """The first node up after ``after`` in the cluster's order (where a client reconnects)."""
        nodes = self.nodes
        start = nodes.index(after) if after in nodes else -1
        for i in range(1, len(nodes) + 1):
            node = nodes[(start + i) % len(nodes)]
            if self._up[node]:
                return node
        return None

    def _notice(self, arg: tuple[PartitionFault, type[NetworkPartitioned | NetworkHealed]]) -> None:
        fault, kind = arg
        self._changed(self._record_of(kind, list(fault.between)))

    def _record_of(self, kind: type[object], between: list[str]) -> int | None:
        """The seq of the latest partition (or heal) record for this pair, for the cause chain."""
        records = self.runtime.records
        for seq in range(len(records) - 1, -1, -1):
            r = records[seq]
            if type(r) is kind and getattr(r, "between", None) == between:
                return seq
        return None
