"""The memory alarm: back-pressure that blocks publishers instead of refusing them.

A RabbitMQ node checks its memory use once a second (``vm_memory_monitor``).
Above ``vm_memory_high_watermark`` it raises the memory alarm — on one node, and
through it on the whole cluster — and every connection that publishes is
*blocked* — not at once, but when it next publishes: the broker reads that
publish, stops reading from the connection and tells the client
(``connection.blocked``), so a well-behaved publisher holds its sends. A
connection that publishes nothing while the alarm is on hears nothing, neither
``blocked`` nor ``unblocked`` (seen on RabbitMQ 3.10.8). Consumers are not
blocked: they keep draining the queues, memory falls, the next check clears
the alarm, and ``connection.unblocked`` lets the held publishes go. Nothing is
refused and nothing is lost; publishing just waits. Compare a queue's
``x-overflow = reject-publish``, which answers each publish over the limit with
a ``basic.nack`` the publisher must handle.

evsim counts memory in messages: the ready and unacked messages of the queues
a node serves (a stand-in for bytes, so a lesson can say "50"). The publish
that blocks a connection, and any that follow it before the client has heard,
are parked unread, in order, and taken once the alarm clears.
"""

from __future__ import annotations

from collections import deque
from collections.abc import Callable
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from simulator.models.queues.publisher import Publisher, PublishRequest
    from simulator.runtime import Runtime

__all__ = ["MEMORY_CHECK_INTERVAL_MS", "MemoryAlarm"]

MEMORY_CHECK_INTERVAL_MS = 1_000
"""How often a node's memory monitor looks (RabbitMQ's ``DEFAULT_MEMORY_CHECK_INTERVAL``)."""


class MemoryAlarm:
    """The cluster-wide memory alarm over the messages each node holds."""

    def __init__(
        self,
        runtime: Runtime,
        watermark: int,
        held_per_node: Callable[[], dict[str, int]],
        arrive: Callable[[PublishRequest], None],
    ) -> None:
        self.runtime = runtime
        self.watermark = watermark
        self._held_per_node = held_per_node
        self._arrive = arrive
        self.on = False
        self._parked: deque[PublishRequest] = deque()
        """Publishes that arrived while the alarm was on: not read until it clears."""
        self._reason = ""
        self._blocked: list[tuple[Publisher, int]] = []
        """The connections (publisher, connection number) blocked by this alarm, in the
        order they published into it; a publisher that reconnected has a new one."""
        runtime.kernel.after(MEMORY_CHECK_INTERVAL_MS, self._check, background=True)

    def park(self, request: PublishRequest) -> bool:
        """A publish arrives: True if the alarm holds it unread (taken once it clears).

        The first publish a connection sends into the alarm blocks that connection
        (``connection.blocked`` goes out to it); the publish itself waits with the rest."""
        if not self.on:
            return False
        self._parked.append(request)
        publisher = request.publisher
        if (publisher, request.conn) not in self._blocked:
            self._blocked.append((publisher, request.conn))
            self._tell(publisher, "connection.blocked", self._reason, request.cause_seq)
        return True

    def _check(self, _: object = None) -> None:
        """The memory monitor's tick: raise or clear the alarm."""
        runtime = self.runtime
        over = [(node, n) for node, n in self._held_per_node().items() if n >= self.watermark]
        if over and not self.on:
            self.on = True  # connections are blocked as they publish (``park``)
            node, n = over[0]
            self._reason = (
                f"memory alarm on {node}: {n} messages held, high watermark {self.watermark}"
            )
        elif not over and self.on:
            self.on = False
            blocked = self._blocked
            self._blocked = []
            for publisher, _ in blocked:
                self._tell(publisher, "connection.unblocked", "", None)
            parked = list(self._parked)
            self._parked.clear()
            for request in parked:
                self._arrive(request)
        runtime.kernel.after(MEMORY_CHECK_INTERVAL_MS, self._check, background=True)

    def _tell(self, publisher: Publisher, what: str, reason: str, cause_seq: int | None) -> None:
        """``connection.blocked``/``unblocked`` travel to the client like any frame
        (``blocked`` caused by the publish that ran into the alarm)."""
        if publisher.crashed:
            return
        self.runtime.network.send(
            publisher.node,
            publisher.name,
            what,
            None,
            self._told,
            (publisher, what, reason, cause_seq),
        )

    def _told(self, arg: tuple[Publisher, str, str, int | None]) -> None:
        publisher, what, reason, cause_seq = arg
        if what == "connection.blocked":
            publisher.block(reason, cause_seq)
        else:
            publisher.unblock(None)
