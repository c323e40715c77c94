"""Counting retries the way a class means it: the tries that really happened again.

A retry is *scheduled* when a handler fails (``RetryScheduled``) or a producer
times out (``ProduceRetried``), and *performed* when the message is really tried
again: the handler runs on it once more (``Processed`` or ``ProcessingFailed``),
or the resend leaves after its backoff. A scheduled retry that never runs — the
message was dead-lettered or skipped first, the acknowledgement arrived during
the backoff, the producer crashed while waiting — is not a retry anyone saw.

``RetryBooks`` keeps that tally from trace records alone, so the checker (the
JSON's ``retries``) and the TUI's fold (the metrics panel, at any cursor) count
with the same code. It holds only what is still pending: a message's entry
leaves once its retry ran or was called off, so the books stay small however
long the run.
"""

from __future__ import annotations

__all__ = ["RetryBooks"]


class RetryBooks:
    """Retries scheduled, and how many of them were performed by a given moment."""

    __slots__ = ("_consumer_due", "_resend_due", "performed_so_far")

    def __init__(self) -> None:
        self.performed_so_far = 0
        """Retries known to have run (a resend still in its backoff is not in it yet)."""
        self._consumer_due: dict[tuple[str, int], int] = {}
        """(group, message) → handler retries scheduled and not yet run."""
        self._resend_due: dict[tuple[str, int], int] = {}
        """(producer, message) → when its scheduled resend leaves (virtual ms)."""

    def copy(self) -> RetryBooks:
        out = RetryBooks()
        out.performed_so_far = self.performed_so_far
        out._consumer_due = dict(self._consumer_due)
        out._resend_due = dict(self._resend_due)
        return out

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, RetryBooks):
            return NotImplemented
        return (self.performed_so_far, self._consumer_due, self._resend_due) == (
            other.performed_so_far,
            other._consumer_due,
            other._resend_due,
        )

    __hash__ = None  # type: ignore[assignment]  # mutable books

    def __repr__(self) -> str:
        pending = len(self._consumer_due) + len(self._resend_due)
        return f"RetryBooks(performed={self.performed_so_far}, pending={pending})"

    def performed(self, now_ms: int) -> int:
        """Retries performed by ``now_ms``: those that ran, and resends whose backoff is over."""
        if not self._resend_due:
            return self.performed_so_far
        return self.performed_so_far + sum(1 for due in self._resend_due.values() if due <= now_ms)

    # -- a handler's retries (RetryScheduled … Processed / ProcessingFailed) --------------------

    def scheduled(self, group: str, msg: int) -> None:
        key = (group, msg)
        self._consumer_due[key] = self._consumer_due.get(key, 0) + 1

    def handler_retries_due(self) -> bool:
        """Whether any handler retry is scheduled and not yet run (else ``tried`` does nothing)."""
        return bool(self._consumer_due)

    def tried(self, group: str, msg: int) -> None:
        """The handler ran on the message (again): a scheduled retry, if any, was performed."""
        if not self._consumer_due:
            return
        key = (group, msg)
        due = self._consumer_due.get(key)
        if due:
            self.performed_so_far += 1
            if due == 1:
                del self._consumer_due[key]
            else:
                self._consumer_due[key] = due - 1

    def called_off(self, group: str, msg: int) -> None:
        """Dead-lettered or skipped: the retry it was due never runs."""
        if self._consumer_due:
            self._consumer_due.pop((group, msg), None)

    # -- a producer's resends (ProduceRetried … Acked / ProduceFailed) ---------------------------

    def resend_scheduled(self, producer: str, msg: int, at_ms: int, backoff_ms: int) -> None:
        key = (producer, msg)
        due = self._resend_due.get(key)
        if due is not None and due <= at_ms:
            self.performed_so_far += 1  # the previous resend went out, and timed out in its turn
        self._resend_due[key] = at_ms + backoff_ms

    def resends_due(self) -> bool:
        """Whether any resend is waiting out its backoff (else ``answered`` does nothing)."""
        return bool(self._resend_due)

    def answered(self, producer: str, msg: int, at_ms: int) -> None:
        """An answer (ack or failure) arrived: a resend still in its backoff will not happen."""
        if not self._resend_due:
            return
        key = (producer, msg)
        due = self._resend_due.pop(key, None)
        if due is not None and due <= at_ms:
            self.performed_so_far += 1

    def producer_crashed(self, producer: str, at_ms: int) -> None:
        """A resend still waiting out its backoff dies with its producer."""
        if not self._resend_due:
            return
        for key, due in list(self._resend_due.items()):
            if key[0] == producer:
                del self._resend_due[key]
                if due <= at_ms:
                    self.performed_so_far += 1
