"""The event store interface, and loading an aggregate on top of it.

A backend provides a handful of primitives: an atomic, version-checked
``append``; reads by stream and by global position; the current version of a
stream; the latest snapshot of a stream. Everything an aggregate needs is built
once, here, from those primitives, so every backend behaves the same: ``load``
is the latest trustworthy snapshot plus the tail of the stream folded through
the domain's ``evolve``, and it reports how many events it replayed and whether
it had to discard a snapshot. Temporal queries are the same fold stopped early:
the state of a stream as of a global position, or as of a recorded (virtual)
time — EventStoreDB answers the same question by reading a stream up to a
position.

A store also keeps, for each stream, the state it last folded and the version
it reached (``_Folded``): the next ``load`` folds only the events appended
since, so a run's thousandth command on a stream costs what its first did,
instead of replaying the whole stream each time. It is a cache of this store
object and changes no answer: ``Loaded`` reports the same state, version and
``replayed`` count (what loading from the log replays, the lesson's number) as
a fold from the snapshot, because ``evolve`` is a pure function.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Sequence
from types import TracebackType
from typing import Any, Generic, Self, TypeVar

import msgspec

from simulator.domain.decider import Domain
from simulator.store.codec import EventCodec
from simulator.store.records import (
    AnyVersion,
    AppendResult,
    ExpectedVersion,
    NewEvent,
    Snapshot,
    StoredEvent,
)

__all__ = ["EventStore", "Loaded", "SnapshotDiscarded", "check_append"]

C = TypeVar("C", bound=msgspec.Struct)
E = TypeVar("E", bound=msgspec.Struct)
S = TypeVar("S")


class SnapshotDiscarded(msgspec.Struct, frozen=True, kw_only=True):
    """A snapshot ``load`` found and refused to trust, and why."""

    version: int
    schema_version: int
    reason: str


class Loaded(msgspec.Struct, Generic[S], frozen=True, kw_only=True):
    """An aggregate's state rebuilt from the store, with how it was rebuilt."""

    stream_id: str
    state: S
    version: int
    """The stream version the state reflects: the expected version for the next append."""
    replayed: int
    """Events a load from the log folds through ``evolve`` on top of the snapshot (or from
    the start): the cost a lesson shows. The store's own cache of folded states may have
    saved it the work (see the module docstring); the count is the log's."""
    snapshot_version: int = 0
    """Version of the snapshot the fold started from; 0 when it started from nothing."""
    discarded_snapshot: SnapshotDiscarded | None = None


def check_append(
    stream_id: str,
    events: Sequence[NewEvent],
    expected_version: ExpectedVersion,
    recorded_at_ms: int,
) -> None:
    """The checks every append passes before a backend sees it (a ValueError if not)."""
    if not stream_id:
        raise ValueError("stream_id must not be empty")
    if not events:
        raise ValueError(f"append to {stream_id}: no events")
    if not isinstance(expected_version, AnyVersion) and expected_version < 0:
        raise ValueError(f"append to {stream_id}: expected_version must be >= 0")
    if recorded_at_ms < 0:
        raise ValueError(f"append to {stream_id}: recorded_at_ms must be >= 0")


class _Folded(msgspec.Struct, gc=False):
    """A stream's fold as of ``version``: where it started, and with which domain."""

    domain: Domain[Any, Any, Any]
    consulted: Snapshot | None
    """The snapshot the load found (used or discarded); None: there was none."""
    start: int
    discarded: SnapshotDiscarded | None
    version: int
    state: Any


class EventStore(ABC):
    """Streams of events with optimistic concurrency, one global order, snapshots."""

    file: str = ""
    """The backing file, for error messages; empty for an in-memory store."""

    def __init__(self) -> None:
        self._codecs: dict[str, EventCodec[Any, Any, Any]] = {}
        self._folds: dict[str, _Folded] = {}
        """Stream id → the state its last current-version load folded to."""

    def _forget_folds(self) -> None:
        """The log changed under the cache (a store emptied for reuse): fold afresh."""
        self._folds.clear()

    # -- writing ----------------------------------------------------------------

    def append(
        self,
        stream_id: str,
        events: Sequence[NewEvent],
        expected_version: ExpectedVersion,
        *,
        recorded_at_ms: int,
    ) -> AppendResult:
        """Append ``events`` to a stream, all or nothing.

        ``expected_version`` is the version the writer based its decision on (0 for
        a stream it believes new); if the stream is elsewhere the answer is a
        ``VersionConflict`` and nothing is written. ``ANY_VERSION`` skips the check.
        ``recorded_at_ms`` is the virtual time of the append; it may not go back.
        """
        check_append(stream_id, events, expected_version, recorded_at_ms)
        return self._append(stream_id, events, expected_version, recorded_at_ms)

    @abstractmethod
    def _append(
        self,
        stream_id: str,
        events: Sequence[NewEvent],
        expected_version: ExpectedVersion,
        recorded_at_ms: int,
    ) -> AppendResult:
        """Check the version and write, atomically; raise ValueError if the clock went back."""

    def save_snapshot(
        self, stream_id: str, version: int, state: bytes, schema_version: int
    ) -> Snapshot:
        """Keep ``state`` as the stream's snapshot at ``version``, replacing any older one."""
        current = self.stream_version(stream_id)
        if not 1 <= version <= current:
            raise ValueError(
                f"snapshot of {stream_id} at version {version}: stream is at version {current}"
            )
        snapshot = Snapshot(
            stream_id=stream_id, version=version, schema_version=schema_version, state=state
        )
        self._save_snapshot(snapshot)
        return snapshot

    @abstractmethod
    def _save_snapshot(self, snapshot: Snapshot) -> None: ...

    # -- reading ----------------------------------------------------------------

    @abstractmethod
    def read_stream(
        self, stream_id: str, from_version: int = 0, to_version: int | None = None
    ) -> list[StoredEvent]:
        """Events of one stream with ``from_version <= version <= to_version``, in order."""

    @abstractmethod
    def read_all(self, from_position: int = 0, limit: int | None = None) -> list[StoredEvent]:
        """Events of all streams from global position ``from_position`` on, at most ``limit``.

        Positions start at 1, so a catch-up reader whose checkpoint is the next
        position to read passes it straight in, pages with ``limit``, and moves its
        checkpoint to the last position it got plus one.
        """

    @abstractmethod
    def stream_version(self, stream_id: str) -> int:
        """Version of the stream's last event; 0 when the stream has none."""

    @abstractmethod
    def head_position(self) -> int:
        """Global position of the last event in the store; 0 when empty."""

    @abstractmethod
    def stream_ids(self) -> list[str]:
        """Every stream, in the order of its first event."""

    @abstractmethod
    def version_at_position(self, stream_id: str, position: int) -> int:
        """The stream's version once the log up to ``position`` is written (0 before it)."""

    @abstractmethod
    def position_at_time(self, at_ms: int) -> int:
        """Global position of the last event recorded at or before ``at_ms`` (0: none)."""

    @abstractmethod
    def load_snapshot(self, stream_id: str) -> Snapshot | None: ...

    def close(self) -> None:  # noqa: B027 - nothing to release in memory
        """Release the backing resources."""

    def __enter__(self) -> Self:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()

    # -- aggregates -------------------------------------------------------------

    def codec(self, domain: Domain[C, E, S]) -> EventCodec[C, E, S]:
        """The (cached) codec of a domain, naming this store's file in its errors."""
        codec = self._codecs.get(domain.name)
        if codec is None or codec.domain is not domain:
            codec = EventCodec(domain, file=self.file)
            self._codecs[domain.name] = codec
        return codec

    def load(self, domain: Domain[C, E, S], stream_id: str) -> Loaded[S]:
        """The stream's current state: latest trusted snapshot + the events after it."""
        return self._fold(domain, stream_id, None)

    def load_at_position(self, domain: Domain[C, E, S], stream_id: str, position: int) -> Loaded[S]:
        """The stream's state as it was when the log ended at global ``position``."""
        return self._fold(domain, stream_id, self.version_at_position(stream_id, position))

    def load_at_time(self, domain: Domain[C, E, S], stream_id: str, at_ms: int) -> Loaded[S]:
        """The stream's state as it was at virtual time ``at_ms`` (events recorded by then)."""
        return self.load_at_position(domain, stream_id, self.position_at_time(at_ms))

    def take_snapshot(self, domain: Domain[C, E, S], loaded: Loaded[S]) -> Snapshot:
        """Save a loaded state as the stream's snapshot under the domain's state schema."""
        state = self.codec(domain).encode_state(loaded.state)
        return self.save_snapshot(
            loaded.stream_id, loaded.version, state, domain.state_schema_version
        )

    def _fold(self, domain: Domain[C, E, S], stream_id: str, to_version: int | None) -> Loaded[S]:
        codec = self.codec(domain)
        snapshot = self.load_snapshot(stream_id)
        # A snapshot newer than the moment asked for is simply of no use here.
        if snapshot is not None and to_version is not None and snapshot.version > to_version:
            snapshot = None
        folded = self._folds.get(stream_id) if to_version is None else None
        if folded is not None and folded.domain is domain and folded.consulted == snapshot:
            # The last load found the same snapshot: carry on from where it folded to.
            state, start, discarded = folded.state, folded.start, folded.discarded
            version = folded.version
        else:
            state, start, discarded = self._from_snapshot(domain, codec, snapshot)
            version = start
        tail = self.read_stream(stream_id, version + 1, to_version)
        decode = codec.decode
        evolve = domain.decider.evolve
        for stored in tail:
            state = evolve(state, decode(stored))
        if tail:
            version = tail[-1].version
        if to_version is None:
            self._folds[stream_id] = _Folded(
                domain=domain,
                consulted=snapshot,
                start=start,
                discarded=discarded,
                version=version,
                state=state,
            )
        return Loaded(
            stream_id=stream_id,
            state=state,
            version=version,
            replayed=version - start,  # versions are contiguous: the length of the tail
            snapshot_version=start,
            discarded_snapshot=discarded,
        )

    @staticmethod
    def _from_snapshot(
        domain: Domain[C, E, S], codec: EventCodec[C, E, S], snapshot: Snapshot | None
    ) -> tuple[S, int, SnapshotDiscarded | None]:
        """Where a fold starts: the snapshot's state and version, or nothing, and why."""
        if snapshot is None:
            return domain.decider.initial_state, 0, None
        if snapshot.schema_version != domain.state_schema_version:
            reason = (
                f"taken under state schema {snapshot.schema_version}, "
                f"domain {domain.name!r} is at schema {domain.state_schema_version}"
            )
        else:
            try:
                return codec.decode_state(snapshot.state), snapshot.version, None
            except msgspec.MsgspecError as error:
                reason = f"state does not decode: {error}"
        discarded = SnapshotDiscarded(
            version=snapshot.version, schema_version=snapshot.schema_version, reason=reason
        )
        return domain.decider.initial_state, 0, discarded
