"""Exchanges: where a RabbitMQ publisher sends, and how a message finds its queues.

A publisher never writes to a queue directly: it publishes to an *exchange*
with a *routing key* (here, the message key), and the exchange copies the
message to every queue whose *binding* matches. A ``fanout`` exchange ignores
the key and copies to all bound queues; a ``direct`` exchange matches the key
exactly; a ``topic`` exchange matches dot-separated words, where ``*`` stands
for exactly one word and ``#`` for zero or more (RabbitMQ tutorial 5). A message
no binding matches is dropped (unless the publisher sets ``mandatory``, not
modelled).
"""

from __future__ import annotations

from functools import lru_cache

__all__ = ["Exchange", "topic_matches"]


@lru_cache(maxsize=4096)
def topic_matches(pattern: str, key: str) -> bool:
    """Whether a topic exchange binding ``pattern`` matches routing ``key``."""
    return _match(tuple(pattern.split(".")), tuple(key.split(".")))


def _match(pattern: tuple[str, ...], words: tuple[str, ...]) -> bool:
    if not pattern:
        return not words
    head, rest = pattern[0], pattern[1:]
    if head == "#":
        # '#' swallows zero or more words: try every split.
        return any(_match(rest, words[i:]) for i in range(len(words) + 1))
    if not words:
        return False
    return (head == "*" or head == words[0]) and _match(rest, words[1:])


class Exchange:
    """One exchange and its bindings: queue name → binding keys."""

    __slots__ = ("_cache", "bindings", "kind", "name")

    def __init__(self, name: str, kind: str) -> None:
        self.name = name
        self.kind = kind
        self.bindings: dict[str, list[str]] = {}
        self._cache: dict[str | None, list[str]] = {}

    def bind(self, queue: str, keys: list[str]) -> None:
        self.bindings[queue] = list(keys)
        self._cache.clear()

    def route(self, key: str | None) -> list[str]:
        """The queues a message with routing key ``key`` goes to, in binding order."""
        cached = self._cache.get(key)
        if cached is not None:
            return cached
        if self.kind == "fanout":
            queues = list(self.bindings)
        else:
            routing_key = key or ""
            exact = self.kind == "direct"
            queues = [
                q
                for q, keys in self.bindings.items()
                if any((k == routing_key) if exact else topic_matches(k, routing_key) for k in keys)
            ]
        if len(self._cache) < 100_000:
            self._cache[key] = queues
        return queues
