"""Upcasting: reading old events in today's shape.

Stored events are immutable, but the code that reads them keeps changing. Rather
than rewrite the log, every stored event keeps the schema version it was written
under, and on read a chain of upcasters lifts its payload one version at a time
(v1 → v2 → v3) until it fits the current class — the approach of Axon's event
upcasters, Marten and the Python ``eventsourcing`` library. An upcaster works on
the decoded JSON object, not on a class, because the v1 class may no longer
exist; it must be pure: same old payload in, same new payload out.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

__all__ = ["Payload", "Upcaster", "UpcasterChain"]

Payload = dict[str, Any]
"""A stored event decoded as a plain JSON object, before it becomes a class."""


@dataclass(frozen=True)
class Upcaster:
    """One step: the payload of ``event_type`` at ``from_version`` → ``from_version + 1``."""

    event_type: str
    from_version: int
    upcast: Callable[[Payload], Payload]
    """Returns a new payload; never mutates its argument."""

    @property
    def to_version(self) -> int:
        return self.from_version + 1


class UpcasterChain:
    """The upcasters of a domain, looked up by ``(event type, from version)``."""

    def __init__(self, upcasters: tuple[Upcaster, ...]) -> None:
        self._steps: dict[tuple[str, int], Upcaster] = {}
        for step in upcasters:
            key = (step.event_type, step.from_version)
            if key in self._steps:
                raise ValueError(f"two upcasters for {step.event_type} v{step.from_version}")
            if step.from_version < 1:
                raise ValueError(f"upcaster for {step.event_type}: from_version must be >= 1")
            self._steps[key] = step

    def check_against(self, current_versions: Mapping[str, int]) -> None:
        """Every step targets a known type and the steps of a type reach its current version."""
        for event_type, from_version in self._steps:
            current = current_versions.get(event_type)
            if current is None:
                raise ValueError(f"upcaster for unknown event type {event_type!r}")
            if from_version >= current:
                raise ValueError(
                    f"upcaster {event_type} v{from_version} → v{from_version + 1} "
                    f"goes past the current version {current}"
                )
            for later in range(from_version + 1, current):
                if (event_type, later) not in self._steps:
                    raise ValueError(f"upcaster chain for {event_type} stops at v{later}")

    def upcast(self, event_type: str, version: int, payload: Payload, to_version: int) -> Payload:
        """Lift ``payload`` from ``version`` to ``to_version``, one step at a time."""
        while version < to_version:
            step = self._steps.get((event_type, version))
            if step is None:
                raise LookupError(f"no upcaster for {event_type} v{version} → v{version + 1}")
            payload = step.upcast(payload)
            version += 1
        return payload
