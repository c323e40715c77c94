"""Concurrent writers on one event store: generated mixes of runs, writers and readers.

A generated case starts, on one ``[store] path``, two to four of: ``play``
(a new store), ``play --reuse-store``, another process appending to the store
(printing each acknowledged append), and a reader holding the store open (a
student's ``sqlite3``) — over nothing, over a store an earlier run of the same
lesson left, or over another lesson's store. Whatever the interleaving:

- every ``play`` exits 0 or is refused in one line with exit 2, never a traceback;
- a store that another process holds open, or that belongs to another lesson,
  refuses every ``play`` and is left as it was (every acknowledged append of
  the other process is still there);
- otherwise the file ends as exactly one run's log (SQLite's locking lets one
  run write at a time), whole: ``integrity_check`` is ``ok``, versions 1..n.
"""

from __future__ import annotations

import json
import os
import sqlite3
import subprocess
import sys
from contextlib import closing
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st
from reliability_support import ROOT, bank_lesson, evsim, hypothesis_settings

pytestmark = pytest.mark.slow  # subprocesses: deselect with -m 'not slow'

WRITER = """
import sys
from simulator.store import NewEvent, SqliteEventStore
store = SqliteEventStore(sys.argv[1])
stream = sys.argv[2]
def append(i):
    version = store.stream_version(stream)
    event = NewEvent(type="note.written", schema_version=1, data=b'{"i": %d}' % i)
    store.append(stream, [event], version, recorded_at_ms=10**12 + i)
    print("acked", i, flush=True)
for i in range(10):
    append(i)
print("ready", flush=True)
sys.stdin.readline()
for i in range(10, 20):
    append(i)
"""

READER = """
import sqlite3, sys  # argv[2], a stream name, is for writers
db = sqlite3.connect(sys.argv[1])
db.execute("SELECT COUNT(*) FROM sqlite_master").fetchone()
print("ready", flush=True)
sys.stdin.readline()
db.close()
"""

ENV = {**os.environ, "PYTHONPATH": str(ROOT)}


def _rows(path: Path) -> list[tuple[str, int]]:
    with closing(sqlite3.connect(path)) as db:
        assert db.execute("PRAGMA integrity_check").fetchone() == ("ok",)
        return db.execute("SELECT stream_id, version FROM events ORDER BY position").fetchall()


def _contiguous(rows: list[tuple[str, int]]) -> bool:
    last: dict[str, int] = {}
    for stream, version in rows:
        if version != last.get(stream, 0) + 1:
            return False
        last[stream] = version
    return True


@hypothesis_settings(6)
@given(
    actors=st.lists(
        st.sampled_from(["play", "play --reuse-store", "writer", "reader"]),
        min_size=2,
        max_size=4,
    ),
    before=st.sampled_from(["nothing", "this lesson's store", "another lesson's store"]),
)
def test_concurrent_writers_never_lose_or_mix_a_log(
    tmp_path_factory: pytest.TempPathFactory, actors: list[str], before: str
) -> None:
    folder = tmp_path_factory.mktemp("concurrent")
    store = folder / "store.sqlite3"
    lesson = folder / "bank.toml"
    lesson.write_text(bank_lesson(str(store), commands=300), encoding="utf-8")
    if before != "nothing":
        earlier = lesson if before == "this lesson's store" else folder / "other.toml"
        if earlier != lesson:
            earlier.write_text(bank_lesson(str(store), commands=7), encoding="utf-8")
        assert evsim("play", str(earlier), "--quiet", cwd=folder).returncode == 0
    start = store.read_bytes() if store.exists() else None

    holders = []
    for n, actor in enumerate(a for a in actors if a in ("writer", "reader")):
        if actor == "reader" and not store.exists():
            continue  # nothing to hold open yet
        code = WRITER if actor == "writer" else READER
        holder = subprocess.Popen(
            [sys.executable, "-c", code, str(store), f"writer-{n}"],
            cwd=ROOT,
            env=ENV,
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            text=True,
        )
        assert holder.stdout is not None
        lines = []
        while (line := holder.stdout.readline().strip()) != "ready":
            assert line, "the holder died before it was ready"
            lines.append(line)
        holders.append((actor, holder, lines))
    plays = [
        subprocess.Popen(
            [sys.executable, "-m", "cli", *actor.split(), str(lesson), "--json"],
            cwd=folder,
            env=ENV,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        for actor in actors
        if actor.startswith("play")
    ]
    outcomes = [(p.communicate(timeout=600), p.returncode) for p in plays]
    acked: dict[str, int] = {}
    for n, (actor, holder, lines) in enumerate(holders):
        assert holder.stdin is not None
        holder.stdin.write("\n")
        holder.stdin.flush()
        out, _ = holder.communicate(timeout=300)
        assert holder.returncode == 0, (actor, out)
        if actor == "writer":
            acked[f"writer-{n}"] = len(lines) + out.count("acked")

    for (_, stderr), code in outcomes:
        assert "Traceback" not in stderr, stderr
        assert code in (0, 2), stderr
        if code == 2:
            assert len(stderr.strip().splitlines()) == 1 and stderr.startswith("evsim: error: ")
    succeeded = [json.loads(stdout) for (stdout, _), code in outcomes if code == 0]
    held = bool(holders)
    if held or before == "another lesson's store":
        assert not succeeded, "a run wrote into a store that was not its own to write"
        if before == "another lesson's store" and not held:
            assert store.read_bytes() == start
    rows = _rows(store) if store.exists() else []
    assert _contiguous(rows)
    for stream, count in acked.items():  # every acknowledged append is still there
        assert sum(1 for name, _ in rows if name == stream) == count
    if succeeded and not held:
        mine = [r for r in rows if not r[0].startswith("writer-")]
        assert len(mine) == succeeded[-1]["events_stored"]  # exactly one run's log
