"""The memory alarm: back-pressure that blocks publishers instead of refusing them.

A RabbitMQ node checks its memory use once a second (``vm_memory_monitor``).
Above ``vm_memory_high_watermark`` it raises the memory alarm — on one node, and
through it on the whole cluster — and every connection that publishes is
*blocked*: the broker stops reading from it and tells the client
(``connection.blocked``), so a well-behaved publisher holds its sends. Consumers
are not blocked: they keep draining the queues, memory falls, the next check
clears the alarm, and ``connection.unblocked`` lets the held publishes go.
Nothing is refused and nothing is lost; publishing just waits. Compare a
queue's ``x-overflow = reject-publish``, which answers each publish over the
limit with a ``basic.nack`` the publisher must handle.

evsim counts memory in messages: the ready and unacked messages of the queues
a node serves (a stand-in for bytes, so a lesson can say "50"). Publishes that
reach a blocked broker before the client has heard are parked unread, in
order, and taken once the alarm clears.
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
        publishers: Callable[[], list[Publisher]],
        arrive: Callable[[PublishRequest], None],
    ) -> None:
        self.runtime = runtime
        self.watermark = watermark
        self._held_per_node = held_per_node
        self._publishers = publishers
        self._arrive = arrive
        self.on = False
        self._parked: deque[PublishRequest] = deque()
        """Publishes that arrived while the alarm was on: not read until it clears."""
        self._cause: int | None = None
        runtime.kernel.after(MEMORY_CHECK_INTERVAL_MS, self._check, background=True)

    def park(self, request: PublishRequest) -> bool:
        """A publish arrives: True if the alarm holds it unread (taken once it clears)."""
        if not self.on:
            return False
        self._parked.append(request)
        return True

    def _check(self, _: object = None) -> None:
        """The memory monitor's tick: raise or clear the alarm."""
        runtime = self.runtime
        over = [(node, n) for node, n in self._held_per_node().items() if n >= self.watermark]
        if over and not self.on:
            self.on = True
            node, n = over[0]
            reason = f"memory alarm on {node}: {n} messages held, high watermark {self.watermark}"
            for publisher in self._publishers():
                self._tell(publisher, "connection.blocked", reason)
        elif not over and self.on:
            self.on = False
            for publisher in self._publishers():
                self._tell(publisher, "connection.unblocked", "")
            parked = list(self._parked)
            self._parked.clear()
            for request in parked:
                self._arrive(request)
        runtime.kernel.after(MEMORY_CHECK_INTERVAL_MS, self._check, background=True)

    def _tell(self, publisher: Publisher, what: str, reason: str) -> None:
        """``connection.blocked``/``unblocked`` travel to the client like any frame."""
        if publisher.crashed:
            return
        self.runtime.network.send(
            publisher.node,
            publisher.name,
            what,
            None,
            self._told,
            (publisher, what, reason),
        )

    def _told(self, arg: tuple[Publisher, str, str]) -> None:
        publisher, what, reason = arg
        if what == "connection.blocked":
            publisher.block(reason, None)
        else:
            publisher.unblock(None)
