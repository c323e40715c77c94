"""The saga's message vocabulary: ``<subject>.<verb> <saga id>`` on log topics.

Every saga message is keyed by the saga id (the order key), so all of one
order's messages share a partition and keep their order — the property both
coordination styles rely on. Verbs:

- commands (orchestration only, on the commands topic): ``payment.do``,
  ``payment.undo``;
- events (on the events topic): ``order.placed``, ``payment.completed``,
  ``payment.failed``, ``payment.compensated``, ``order.completed``,
  ``order.cancelled``.

A workload message whose value is not a saga message is an ``order.placed``.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from simulator.messages import Message
from simulator.streams.plugin import new_message

if TYPE_CHECKING:
    from simulator.runtime import Runtime

__all__ = ["VERBS", "make", "parse"]

VERBS = ("placed", "do", "undo", "completed", "failed", "compensated", "cancelled")


def parse(msg: Message, steps: list[str]) -> tuple[str, str, str]:
    """(subject, verb, saga id) of a message; anything unknown is ``order.placed``."""
    saga = msg.key or f"m{msg.id}"
    word = msg.value.split(" ", 1)[0]
    subject, _, verb = word.partition(".")
    if verb in VERBS and (subject == "order" or subject in steps):
        return subject, verb, saga
    return "order", "placed", saga


def make(runtime: Runtime, source: int, topic: str, subject: str, verb: str, saga: str) -> Message:
    """The message ``<subject>.<verb> <saga>``, derived from ``source`` (same on a replay)."""
    word = f"{subject}.{verb}"
    return new_message(runtime, source, f"{topic}:{word}", saga, f"{word} {saga}")
