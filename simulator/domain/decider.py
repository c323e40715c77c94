"""Deciders: an event-sourced aggregate as three pure functions.

An event-sourced aggregate keeps no mutable state; it keeps the facts that
happened to it. Jérémie Chassaing's *decider* pattern names the three parts:
``decide(command, state)`` checks a command against the current state and
returns new events or a ``Rejected`` reason, ``evolve(state, event)`` applies one
event, and ``initial_state`` is the state before the first event. Loading an
aggregate is a left fold, ``reduce(evolve, events, initial_state)``; because
nothing else ever changes state, replay, snapshots and "what was the state at
position 100?" all come for free.

A ``Domain`` bundles a decider with what the event store needs to persist it:
the event classes (each a frozen msgspec Struct with a stable ``tag`` such as
``"account.deposited"`` and a ``SCHEMA_VERSION``), the state class and its
schema version (for snapshots), the upcasters for old event versions and the
rule that says which stream a command addresses.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Generic, TypeVar

import msgspec

from simulator.domain.upcasting import Upcaster, UpcasterChain

__all__ = [
    "Decider",
    "Domain",
    "Rejected",
    "event_schema_version",
    "event_tag",
]

C = TypeVar("C", bound=msgspec.Struct)
E = TypeVar("E", bound=msgspec.Struct)
S = TypeVar("S")


class Rejected(msgspec.Struct, frozen=True, kw_only=True):
    """A command the current state does not allow, with the reason in words."""

    reason: str


@dataclass(frozen=True, eq=False)
class Decider(Generic[C, E, S]):
    """The three pure functions of an aggregate."""

    initial_state: S
    """The state of a stream that has no events yet."""
    decide: Callable[[C, S], list[E] | Rejected]
    """Check a command against the state: the events it causes, or why not."""
    evolve: Callable[[S, E], S]
    """Apply one event to a state, returning the next state (never mutating)."""


def event_tag(event_type: type[msgspec.Struct]) -> str:
    """The stable tag stored with every event of this class (``"account.deposited"``)."""
    tag = event_type.__struct_config__.tag
    if not isinstance(tag, str):
        raise TypeError(f"{event_type.__name__} needs an explicit string tag to be stored")
    return tag


def event_schema_version(event_type: type[msgspec.Struct]) -> int:
    """The schema version of an event class: its ``SCHEMA_VERSION``, 1 when absent."""
    version = getattr(event_type, "SCHEMA_VERSION", 1)
    if not isinstance(version, int) or version < 1:
        raise TypeError(f"{event_type.__name__}.SCHEMA_VERSION must be an int >= 1")
    return version


@dataclass(frozen=True, eq=False)
class Domain(Generic[C, E, S]):
    """A decider plus everything needed to store, upcast and snapshot it."""

    name: str
    """Registry name, as a scenario file spells it (``"bank"``)."""
    summary: str
    """One line for a picker."""
    decider: Decider[C, E, S]
    command_types: tuple[type[C], ...]
    """Every command class; each a tagged msgspec Struct."""
    event_types: tuple[type[E], ...]
    """Every event class in its current schema version; each a tagged msgspec Struct."""
    state_type: type[S]
    """The state class; snapshots are this class encoded as JSON."""
    state_schema_version: int
    """Bumped whenever the state's shape changes: older snapshots are then discarded."""
    stream_id: Callable[[C], str]
    """The stream (one per aggregate instance) a command addresses."""
    upcasters: tuple[Upcaster, ...] = ()
    """Steps that turn stored payloads of older schema versions into the current one."""

    def __post_init__(self) -> None:
        tags = [event_tag(t) for t in self.event_types]
        if len(set(tags)) != len(tags):
            raise ValueError(f"domain {self.name!r}: two event classes share a tag")
        current = {event_tag(t): event_schema_version(t) for t in self.event_types}
        UpcasterChain(self.upcasters).check_against(current)
        if self.state_schema_version < 1:
            raise ValueError(f"domain {self.name!r}: state_schema_version must be >= 1")

    @property
    def initial_state(self) -> S:
        return self.decider.initial_state

    def decide(self, command: C, state: S) -> list[E] | Rejected:
        return self.decider.decide(command, state)

    def evolve(self, state: S, event: E) -> S:
        return self.decider.evolve(state, event)

    def replay(self, events: Iterable[E], state: S | None = None) -> S:
        """Fold events onto ``state`` (the initial state when omitted)."""
        evolve = self.decider.evolve
        current = self.decider.initial_state if state is None else state
        for event in events:
            current = evolve(current, event)
        return current
