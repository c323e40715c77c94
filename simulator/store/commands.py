"""Handling a command: load, decide, append — the whole event-sourcing loop.

This is what an application service does for every command (the ``Application``
layer of the Python ``eventsourcing`` library, a command handler in Axon): load
the aggregate's state from its stream, let the decider turn the command into
events or a rejection, and append those events *expecting the version that was
loaded*. If another writer appended in between, the append comes back as a
version conflict and nothing is written; the caller may reload and retry.
Passing ``ignore_concurrency=True`` appends with ``ANY_VERSION`` instead — the
lost-update bug, kept here so a lesson can show it. After a successful append
the snapshot policy may take a snapshot of the new state.
"""

from __future__ import annotations

from typing import Generic, TypeVar

import msgspec

from simulator.domain.decider import Domain, Rejected
from simulator.store.base import EventStore, Loaded
from simulator.store.records import ANY_VERSION, Appended, Snapshot, VersionConflict
from simulator.store.snapshots import NEVER, SnapshotPolicy

__all__ = ["CommandHandled", "handle_command"]

C = TypeVar("C", bound=msgspec.Struct)
E = TypeVar("E", bound=msgspec.Struct)
S = TypeVar("S")


class CommandHandled(msgspec.Struct, Generic[E, S], frozen=True, kw_only=True):
    """Everything that happened while handling one command, for the trace to show."""

    stream_id: str
    loaded: Loaded[S]
    """How the state was rebuilt: snapshot version, events replayed, discarded snapshot."""
    outcome: Appended | VersionConflict | Rejected | None
    """``None`` when the decider accepted the command but it changed nothing."""
    events: tuple[E, ...] = ()
    """The events the decider produced (stored only if ``outcome`` is ``Appended``)."""
    state: S | None = None
    """The state after the new events, when they were appended."""
    snapshot: Snapshot | None = None
    """The snapshot the policy took after the append, if it was due."""


def handle_command(
    store: EventStore,
    domain: Domain[C, E, S],
    command: C,
    *,
    recorded_at_ms: int,
    snapshot_policy: SnapshotPolicy = NEVER,
    ignore_concurrency: bool = False,
) -> CommandHandled[E, S]:
    """Load the command's stream, decide, and append expecting the loaded version.

    Conflicts and rejections are returned in ``outcome``, never raised; only a
    bug (or a ``StoreError`` from a damaged file) raises.
    """
    stream_id = domain.stream_id(command)
    loaded = store.load(domain, stream_id)
    decided = domain.decide(command, loaded.state)
    if isinstance(decided, Rejected):
        return CommandHandled(stream_id=stream_id, loaded=loaded, outcome=decided)
    events = tuple(decided)
    if not events:
        return CommandHandled(stream_id=stream_id, loaded=loaded, outcome=None)
    result = store.append(
        stream_id,
        store.codec(domain).encode_all(events),
        ANY_VERSION if ignore_concurrency else loaded.version,
        recorded_at_ms=recorded_at_ms,
    )
    if isinstance(result, VersionConflict):
        return CommandHandled(stream_id=stream_id, loaded=loaded, outcome=result, events=events)
    if result.version - result.count == loaded.version:
        state = domain.replay(events, loaded.state)
    else:
        # ANY_VERSION let other writers' events land in between: the true state includes them.
        state = store.load(domain, stream_id).state
    snapshot = None
    if snapshot_policy.is_due(result.version - result.count, result.version):
        snapshot = store.take_snapshot(
            domain,
            Loaded(stream_id=stream_id, state=state, version=result.version, replayed=0),
        )
    return CommandHandled(
        stream_id=stream_id,
        loaded=loaded,
        outcome=result,
        events=events,
        state=state,
        snapshot=snapshot,
    )
