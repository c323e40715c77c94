"""SIGKILL a writer mid-append, again and again; the SQLite store must keep its promises.

Every append the writer acknowledged (printed after ``append`` returned) must be
in the store, whole, after the process is killed once it has acknowledged a
random number of appends: WAL mode with ``synchronous=NORMAL`` survives a
process kill (not an OS crash). The log must also stay well formed: positions
1..N, each stream's versions 1..n.
"""

from __future__ import annotations

import os
import random
import signal
import sqlite3
import subprocess
import sys
from pathlib import Path

import msgspec
import pytest

from simulator.store import SqliteEventStore

pytestmark = pytest.mark.slow  # soak, fuzz and kill runs: deselect with -m 'not slow'

WRITER = Path(__file__).with_name("store_kill_writer.py")
_SCALE = max(1, int(os.environ.get("EVSIM_RELIABILITY_SCALE", "1") or "1"))
CYCLES = 12 if _SCALE == 1 else max(50, _SCALE)
"""12 kills in CI; at least 50 in the dedicated reliability run (docs/reliability.md)."""


def _acknowledged(lines: str) -> list[tuple[str, int, int, int, int]]:
    acked = []
    for line in lines.splitlines(keepends=True):
        if not line.endswith("\n"):
            break  # the kill landed while this line was being written
        if not line.strip():
            continue  # no fields, so no promise
        stream_id, first_version, last_version, first_position, last_position = line.split()
        acked.append(
            (
                stream_id,
                int(first_version),
                int(last_version),
                int(first_position),
                int(last_position),
            )
        )
    return acked


@pytest.mark.skipif(not hasattr(signal, "SIGKILL"), reason="needs SIGKILL")
def test_killed_writer_loses_no_acknowledged_append_and_leaves_a_well_formed_log(
    tmp_path: Path,
) -> None:
    store_path = tmp_path / "killed.sqlite3"
    rng = random.Random(7)
    acked: list[tuple[str, int, int, int, int]] = []
    env = {**os.environ, "PYTHONPATH": os.pathsep.join(sys.path)}
    for cycle in range(CYCLES):
        writer = subprocess.Popen(
            [sys.executable, str(WRITER), str(store_path), str(cycle)],
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            env=env,
        )
        assert writer.stdout is not None
        # Kill once the writer has acknowledged a chosen number of appends (counted, not
        # timed, so a busy machine cannot move the kill out of the appends): it is then
        # already in its next append. The first cycle is killed during start-up.
        wanted = 0 if cycle == 0 else 5 + rng.randrange(20)
        lines = b""
        while lines.count(b"\n") < wanted:
            line = writer.stdout.readline()
            if not line:  # the writer stopped by itself: its stderr says why
                break
            lines += line
        writer.send_signal(signal.SIGKILL)
        rest, stderr = writer.communicate(timeout=60)
        assert writer.returncode == -signal.SIGKILL, stderr.decode()
        acked += _acknowledged((lines + rest).decode())
    assert len(acked) > 50, "the writer hardly ever got to append; the test proves little"

    db = sqlite3.connect(store_path)  # the file itself, page by page
    try:
        assert db.execute("PRAGMA integrity_check").fetchone() == ("ok",)
    finally:
        db.close()
    with SqliteEventStore(store_path) as store:
        log = store.read_all()
        assert [e.position for e in log] == list(range(1, len(log) + 1))
        by_stream: dict[str, list[int]] = {}
        for event in log:
            by_stream.setdefault(event.stream_id, []).append(event.version)
            body = msgspec.json.decode(event.data)
            assert (body["stream"], body["version"]) == (event.stream_id, event.version)
        for stream_id, versions in by_stream.items():
            assert versions == list(range(1, len(versions) + 1)), stream_id
            assert store.stream_version(stream_id) == len(versions)
        for stream_id, first_version, last_version, first_position, last_position in acked:
            written = log[first_position - 1 : last_position]
            assert [(e.stream_id, e.version) for e in written] == [
                (stream_id, v) for v in range(first_version, last_version + 1)
            ]
