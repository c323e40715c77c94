"""Property: any sequence of appends, conflicts and snapshots behaves the same on both backends.

The in-memory store is the reference; the SQLite store must answer every call
identically — same results, same conflicts, same refusals — and end with the
same log, versions, snapshots and temporal answers.
"""

from __future__ import annotations

import tempfile
from pathlib import Path
from typing import Any

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from simulator.store import (
    ANY_VERSION,
    EventStore,
    ExpectedVersion,
    InMemoryEventStore,
    NewEvent,
    SqliteEventStore,
)

STREAMS = ("a", "b", "c")

appends = st.tuples(
    st.just("append"),
    st.sampled_from(STREAMS),
    st.integers(1, 3),  # events in the batch
    st.sampled_from(["current", "stale", "ahead", "any", "new"]),
    st.integers(-1, 3),  # virtual time step; -1 tries to go back in time
)
snapshots = st.tuples(
    st.just("snapshot"), st.sampled_from(STREAMS), st.integers(0, 4), st.integers(1, 2)
)
operations = st.lists(st.one_of(appends, appends, snapshots), max_size=40)


def _expected(mode: str, current: int) -> ExpectedVersion:
    choices: dict[str, ExpectedVersion] = {
        "current": current,
        "stale": max(current - 1, 0),
        "ahead": current + 1,
        "any": ANY_VERSION,
        "new": 0,
    }
    return choices[mode]


def _apply(store: EventStore, ops: list[tuple[Any, ...]]) -> list[object]:
    outcomes: list[object] = []
    now_ms = 0
    for i, op in enumerate(ops):
        try:
            if op[0] == "append":
                _, stream_id, count, mode, step_ms = op
                now_ms += step_ms
                events = [
                    NewEvent(type="test.noted", schema_version=1, data=f"{i}.{j}".encode())
                    for j in range(count)
                ]
                expected = _expected(mode, store.stream_version(stream_id))
                outcomes.append(store.append(stream_id, events, expected, recorded_at_ms=now_ms))
            else:
                _, stream_id, version, schema_version = op
                outcomes.append(
                    store.save_snapshot(stream_id, version, f"{i}".encode(), schema_version)
                )
        except ValueError as error:
            outcomes.append(("ValueError", str(error)))
            if op[0] == "append":
                now_ms -= op[4]
    return outcomes


def _observe(store: EventStore) -> dict[str, object]:
    head = store.head_position()
    times = sorted({e.recorded_at_ms for e in store.read_all()} | {-1, 10**6})
    return {
        "log": store.read_all(),
        "head": head,
        "streams": store.stream_ids(),
        "versions": {s: store.stream_version(s) for s in STREAMS},
        "by_stream": {s: store.read_stream(s) for s in STREAMS},
        "middles": {s: store.read_stream(s, 2, 3) for s in STREAMS},
        "pages": [store.read_all(p, limit=2) for p in range(0, head + 2)],
        "as_of": {s: [store.version_at_position(s, p) for p in range(head + 1)] for s in STREAMS},
        "at_time": [store.position_at_time(t) for t in times],
        "snapshots": {s: store.load_snapshot(s) for s in STREAMS},
    }


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(operations)
def test_random_appends_and_conflicts_behave_identically_on_both_backends(
    ops: list[tuple[Any, ...]],
) -> None:
    reference = InMemoryEventStore()
    with (
        tempfile.TemporaryDirectory() as tmp,
        SqliteEventStore(Path(tmp) / "property.sqlite3") as sqlite_store,
    ):
        assert _apply(sqlite_store, ops) == _apply(reference, ops)
        assert _observe(sqlite_store) == _observe(reference)
        log = sqlite_store.read_all()
    assert [e.position for e in log] == list(range(1, len(log) + 1))
    for stream_id in STREAMS:
        versions = [e.version for e in log if e.stream_id == stream_id]
        assert versions == list(range(1, len(versions) + 1))
    times = [e.recorded_at_ms for e in log]
    assert times == sorted(times)
