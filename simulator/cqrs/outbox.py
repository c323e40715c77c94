"""Publishing stored events to a broker topic: the dual write and the outbox relay.

Saving an event in the store and publishing it to a topic are writes to two
systems, and no transaction spans both. A *dual write* does one after the
other, so a crash between the append and the publish loses the event for every
subscriber although the store has it. The *transactional outbox* writes an
outbox row in the append's own transaction; a relay polls the outbox, publishes
each committed row and then marks it done (Debezium does the relay's job by
tailing the database's log instead of polling). A crash between publishing and marking
makes the relay publish that row again after its restart: the outbox publishes
at least once, so consumers must be idempotent.
"""

from __future__ import annotations

from simulator.cqrs.event_log import EventLog
from simulator.cqrs.process import Process
from simulator.messages import Message
from simulator.runtime import Runtime
from simulator.trace import EventPublished

__all__ = ["RELAY", "OutboxRelay", "Publishing"]

RELAY = "outbox-relay"
"""Component name of the outbox relay (a crash target)."""


class Publishing:
    """What must reach the topic, what did, and the message each stored position became."""

    def __init__(self, runtime: Runtime, log: EventLog) -> None:
        self.runtime = runtime
        self.log = log
        self.outbox: list[int] = []
        """Positions whose outbox row is not marked published yet, in position order."""
        self.position_of_msg: dict[int, int] = {}
        self._msg_of_position: dict[int, Message] = {}
        self._published: set[int] = set()
        self._to_publish: list[int] = []

    def stored(self, position: int, publish: str) -> None:
        """Book an appended event that is to be published (``dual-write`` or ``outbox``)."""
        self._to_publish.append(position)
        if publish == "outbox":
            self.outbox.append(position)  # written in the append's own transaction

    def publish(self, position: int, via: str, component: str, attempt: int = 1) -> None:
        """Hand the event at ``position`` to the broker; a republish sends the same message."""
        runtime = self.runtime
        event = self.log.event_at(position)
        msg = self._msg_of_position.get(position)
        if msg is None:
            store = runtime.scenario.store
            producer = store.producer if store else None
            assert producer is not None
            msg = runtime.new_message(
                producer, event.stream_id, event.version, f"{event.type}@{position}"
            )
            self._msg_of_position[position] = msg
            self.position_of_msg[msg.id] = position
        self._published.add(position)
        runtime.emit(
            EventPublished,
            component,
            self.log.stored_seq.get(position),
            via=via,
            position=position,
            stream=event.stream_id,
            msg=msg.id,
            attempt=attempt,
        )
        runtime.publisher().send(msg)

    def unpublished(self) -> list[int]:
        """Positions that were to be published and never were, in position order."""
        published = self._published
        return [p for p in self._to_publish if p not in published]


class OutboxRelay(Process):
    """Publishes outbox entries in position order; marks each one after publishing it."""

    def __init__(
        self, runtime: Runtime, log: EventLog, publishing: Publishing, interval_ms: int
    ) -> None:
        super().__init__(runtime, RELAY)
        self.log = log
        self.publishing = publishing
        self.interval_ms = interval_ms
        self.attempts: dict[int, int] = {}
        self._schedule()

    def _schedule(self) -> None:
        idle = not self.publishing.outbox
        self.runtime.kernel.after(self.interval_ms, self._poll, self.epoch, background=idle)

    def _poll(self, epoch: int) -> None:
        if not self.is_current(epoch):
            return
        outbox = self.publishing.outbox
        visible_at = self.log.visible_at
        now = self.runtime.kernel.now_ms
        for position in list(outbox):
            if visible_at[position] > now:
                break  # the outbox row is not committed yet either
            attempt = self.attempts.get(position, 0) + 1
            self.attempts[position] = attempt
            self.publishing.publish(position, "outbox", RELAY, attempt)
            if self.crashes_at("after_publish_before_mark"):
                return
            outbox.remove(position)
        self._schedule()

    def restart(self) -> None:
        super().restart()
        self._schedule()
