"""A message on the wire: its evsim identity in AMQP headers, and what ``x-death`` says.

The model numbers messages ``m1``, ``m2`` … and knows each one's key and its
place in that key's order; the checker judges by those numbers. On a real
broker they travel with the message, as headers a producer sets
(``x-evsim-msg``, ``x-evsim-key``, ``x-evsim-key-seq``, ``x-evsim-producer``),
so every consumer, and every tap, knows which message it holds — also after a
requeue or a dead-lettering, which keep the headers.

When RabbitMQ dead-letters a message it adds an entry to its ``x-death``
header (RabbitMQ docs, "Dead Letter Exchanges"): the queue it left, the reason
(``rejected``, ``expired``, ``maxlen``, ``delivery_limit``), the exchange and
routing keys it had, and a count of how often that happened. The most recent
dead-lettering is the first entry.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

__all__ = [
    "HEADER",
    "Death",
    "LiveMessage",
    "dead_letter_headers",
    "delivery_count",
    "identity_headers",
    "latest_death",
    "message_of",
    "text_of",
]

HEADER = "x-evsim"
"""Prefix of the headers that carry a message's evsim identity."""


@dataclass(frozen=True)
class LiveMessage:
    """A message as a live consumer receives it."""

    msg: int
    key: str | None
    key_seq: int
    value: str
    producer: str
    redelivered: bool


def identity_headers(msg: int, key: str | None, key_seq: int, producer: str) -> dict[str, Any]:
    """The headers a producer sets so that everyone downstream knows the message."""
    headers: dict[str, Any] = {
        f"{HEADER}-msg": msg,
        f"{HEADER}-key-seq": key_seq,
        f"{HEADER}-producer": producer,
    }
    if key is not None:
        headers[f"{HEADER}-key"] = key
    return headers


def text_of(value: object) -> str:
    """A header value as text (AMQP strings arrive as bytes)."""
    return value.decode() if isinstance(value, bytes) else str(value)


def message_of(headers: dict[str, Any] | None, body: bytes, redelivered: bool) -> LiveMessage:
    """The evsim message a delivery carries."""
    h = headers or {}
    key = h.get(f"{HEADER}-key")
    return LiveMessage(
        msg=int(h.get(f"{HEADER}-msg", 0)),
        key=None if key is None else text_of(key),
        key_seq=int(h.get(f"{HEADER}-key-seq", 0)),
        value=body.decode("utf-8", "replace"),
        producer=text_of(h.get(f"{HEADER}-producer", "")),
        redelivered=redelivered,
    )


@dataclass(frozen=True)
class Death:
    """One ``x-death`` entry: a dead-lettering, as the broker wrote it on the message."""

    reason: str
    queue: str
    exchange: str
    count: int
    routing_keys: tuple[str, ...]

    def as_dict(self) -> dict[str, object]:
        """The entry in the header's own spelling (``routing-keys``)."""
        return {
            "count": self.count,
            "reason": self.reason,
            "queue": self.queue,
            "exchange": self.exchange,
            "routing-keys": list(self.routing_keys),
        }

    def event(self, msg: int) -> str:
        """Names this one dead-lettering of ``msg`` (queue, reason and count identify it)."""
        return f"{self.queue}|m{msg}|{self.reason}|{self.count}"


def latest_death(
    headers: dict[str, Any] | None, local: Callable[[str], str] | None = None
) -> Death | None:
    """The most recent dead-lettering of a message (the first ``x-death`` entry), if any.

    ``local`` turns a broker name into the lesson's (it strips a run's prefix).
    """
    deaths = (headers or {}).get("x-death") or []
    if not deaths:
        return None
    first = deaths[0]

    def name(value: object) -> str:
        text = text_of(value)
        return local(text) if local is not None else text

    return Death(
        reason=text_of(first.get("reason", "?")),
        queue=name(first.get("queue", "?")),
        exchange=name(first.get("exchange", "")),
        count=int(first.get("count", 0)),
        routing_keys=tuple(text_of(k) for k in first.get("routing-keys", [])),
    )


def dead_letter_headers(
    headers: dict[str, Any] | None, local: Callable[[str], str] | None = None
) -> dict[str, Any] | None:
    """``x-death`` and ``x-first-death-*`` as the trace records them (``DeadLetterHeaders``).

    The shape is the model's, so the same expectations (``max_delivery_count``,
    ``dead_lettered_<reason>``) read a live trace and a simulated one alike.
    """
    h = headers or {}
    deaths = h.get("x-death") or []
    if not deaths:
        return None

    def name(value: object) -> str:
        text = text_of(value)
        return local(text) if local is not None else text

    return {
        "x_death": [
            {
                "count": int(d.get("count", 0)),
                "reason": text_of(d.get("reason", "?")),
                "queue": name(d.get("queue", "?")),
                "exchange": name(d.get("exchange", "")),
                "routing_keys": [text_of(k) for k in d.get("routing-keys", [])],
            }
            for d in deaths
        ],
        "first_death_reason": text_of(h.get("x-first-death-reason", deaths[-1].get("reason", "?"))),
        "first_death_queue": name(h.get("x-first-death-queue", deaths[-1].get("queue", "?"))),
        "first_death_exchange": name(
            h.get("x-first-death-exchange", deaths[-1].get("exchange", ""))
        ),
    }


def delivery_count(headers: dict[str, Any] | None) -> int | None:
    """A quorum queue's ``x-delivery-count`` (the returns before this delivery), if present."""
    value = (headers or {}).get("x-delivery-count")
    return None if value is None else int(value)
