"""When a publisher confirm goes out: once every queue the message was routed to has it safe.

``basic.ack`` from the broker means "I have taken responsibility for it". What
that takes depends on the queue: a transient message, or any message on a
non-durable queue, is safe as soon as it is in the queue's memory; a
persistent message on a durable classic queue once it is written to disk (the
write and its ``fsync``: ``disk_write_ms``); on a quorum queue in a cluster,
once a majority of the queue's members have written it. A message routed to
several queues is confirmed when the last of them is done — and refused
(``basic.nack``) if any of them refuses it. A ``ConfirmWait`` counts the
queues still writing and answers the publisher when none is left.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from simulator.models.queues.publisher import PublishRequest

__all__ = ["ConfirmWait"]


class ConfirmWait:
    """One publish waiting for its queues before its confirm (or nack) goes out."""

    __slots__ = ("answered", "armed", "cause_seq", "outstanding", "refused", "request")

    def __init__(self, request: PublishRequest, cause_seq: int) -> None:
        self.request = request
        self.cause_seq = cause_seq
        """The record the confirm will point at: ``Routed``, or the last queue's commit."""
        self.outstanding = 0
        self.refused: str | None = None
        """Why a queue refused it (the nack's reason), if one did."""
        self.armed = False
        """Routing is over: no more queues will be added."""
        self.answered = False

    def expect(self) -> None:
        """One more queue is still making it safe."""
        self.outstanding += 1

    def done(self, cause_seq: int) -> None:
        """A queue has it safe now."""
        self.outstanding -= 1
        self.cause_seq = cause_seq
        self._answer()

    def refuse(self, reason: str, cause_seq: int) -> None:
        """A queue refused it after all (a quorum queue full when the write committed)."""
        self.outstanding -= 1
        self.refused = reason
        self.cause_seq = cause_seq
        self._answer()

    def arm(self, refused: str | None) -> None:
        """Every queue has been tried: answer now if none is still writing."""
        if refused is not None and self.refused is None:
            self.refused = refused
        self.armed = True
        self._answer()

    def _answer(self) -> None:
        if not self.armed or self.outstanding or self.answered:
            return
        self.answered = True
        request = self.request
        if self.refused is not None:
            request.publisher.refuse(request, self.refused, self.cause_seq)
        else:
            request.publisher.confirm(request, self.cause_seq)
