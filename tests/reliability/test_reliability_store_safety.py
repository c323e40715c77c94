"""Stored data is sacred: what ``play`` and ``validate`` may do to a file at ``[store] path``.

The rules (``docs/event-store.md``): ``validate`` writes nothing; ``play``
creates a new store or, with ``--reuse-store``, empties in place a store an
earlier run of the same lesson left — and refuses, in one line with exit 2,
anything else: another lesson's store, someone's database, a file another
process has open, a FIFO, a device, a directory. A relative path lands in the
run directory ``evsim-runs/<lesson>/``, which ``play`` names on stderr.
Every test runs the real command line in a subprocess.
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
from reliability_support import ROOT, assert_one_line_refusal, bank_lesson, evsim, listing

pytestmark = pytest.mark.slow  # subprocesses: deselect with -m 'not slow'


def _events(path: Path) -> list[tuple[str, int]]:
    with closing(sqlite3.connect(f"file:{path}?mode=ro", uri=True)) as db:
        return db.execute("SELECT stream_id, version FROM events ORDER BY position").fetchall()


def _lesson(folder: Path, name: str, store: Path | str, commands: int = 3) -> Path:
    path = folder / f"{name}.toml"
    path.write_text(bank_lesson(str(store), commands), encoding="utf-8")
    return path


def test_play_refuses_another_lessons_store_and_leaves_it_whole(tmp_path: Path) -> None:
    store = tmp_path / "shared.sqlite3"
    other = _lesson(tmp_path, "other", store, commands=30)
    assert evsim("play", str(other), "--quiet", cwd=tmp_path).returncode == 0
    before, count = store.read_bytes(), len(_events(store))
    mine = _lesson(tmp_path, "mine", store)
    for flags in ([], ["--reuse-store"]):
        result = evsim("play", str(mine), "--quiet", *flags, cwd=tmp_path)
        assert_one_line_refusal(result, "shared.sqlite3")
        assert store.read_bytes() == before
    assert len(_events(store)) == count > 3


def test_play_refuses_its_own_earlier_store_unless_asked_to_reuse_it(tmp_path: Path) -> None:
    store = tmp_path / "bank.sqlite3"
    lesson = _lesson(tmp_path, "bank", store)
    assert evsim("play", str(lesson), "--quiet", cwd=tmp_path).returncode == 0
    first = _events(store)
    with closing(sqlite3.connect(store)) as db:  # a student keeps notes beside the log
        db.execute("CREATE TABLE my_notes (text TEXT)")
        db.execute("INSERT INTO my_notes VALUES ('negative at 205 ms')")
        db.commit()
    before = store.read_bytes()
    assert_one_line_refusal(
        evsim("play", str(lesson), "--quiet", cwd=tmp_path), "already exists", "--reuse-store"
    )
    assert store.read_bytes() == before
    inode = store.stat().st_ino
    reused = evsim("play", str(lesson), "--quiet", "--reuse-store", cwd=tmp_path)
    assert reused.returncode == 0, reused.stderr
    assert store.stat().st_ino == inode  # emptied in place, not unlinked and recreated
    assert _events(store) == first  # this run's events, once: the old ones were emptied
    with closing(sqlite3.connect(store)) as db:
        assert db.execute("SELECT text FROM my_notes").fetchall() == [("negative at 205 ms",)]


WRITER = """
import sys
from simulator.store import NewEvent, SqliteEventStore
store = SqliteEventStore(sys.argv[1])
acked = 0
def append(i):
    global acked
    version = store.stream_version("writer")
    event = NewEvent(type="note.written", schema_version=1, data=b'{"i": %d}' % i)
    store.append("writer", [event], version, recorded_at_ms=i)
    acked += 1
for i in range(20):
    append(i)
print("ready", flush=True)
sys.stdin.readline()
for i in range(20, 40):
    append(i)
print("acked", acked, flush=True)
"""


def test_a_store_another_process_is_writing_is_refused_and_keeps_every_append(
    tmp_path: Path,
) -> None:
    store = tmp_path / "busy.sqlite3"
    writer = subprocess.Popen(
        [sys.executable, "-c", WRITER, str(store)],
        cwd=ROOT,
        env={**os.environ, "PYTHONPATH": str(ROOT)},
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
    )
    assert writer.stdin is not None and writer.stdout is not None
    try:
        assert writer.stdout.readline().strip() == "ready"
        lesson = _lesson(tmp_path, "intruder", store)
        for flags in ([], ["--reuse-store"]):
            result = evsim("play", str(lesson), "--quiet", *flags, cwd=tmp_path)
            assert_one_line_refusal(result, "busy.sqlite3")
        writer.stdin.write("\n")
        writer.stdin.flush()
        out, _ = writer.communicate(timeout=300)
    finally:
        if writer.poll() is None:
            writer.kill()
    assert out.strip() == "acked 40"
    assert _events(store) == [("writer", v) for v in range(1, 41)]


def test_a_store_held_open_by_a_reader_is_refused_not_unlinked(tmp_path: Path) -> None:
    store = tmp_path / "held.sqlite3"
    lesson = _lesson(tmp_path, "held", store)
    assert evsim("play", str(lesson), "--quiet", cwd=tmp_path).returncode == 0
    inode, count = store.stat().st_ino, len(_events(store))
    reader = sqlite3.connect(store)  # a student's sqlite3 shell, left open
    try:
        assert reader.execute("SELECT COUNT(*) FROM events").fetchone() == (count,)
        result = evsim("play", str(lesson), "--quiet", "--reuse-store", cwd=tmp_path)
        assert_one_line_refusal(result, "in use by another process")
        assert store.stat().st_ino == inode
        assert reader.execute("SELECT COUNT(*) FROM events").fetchone() == (count,)
    finally:
        reader.close()


def test_two_plays_racing_for_one_store_one_wins_and_its_log_is_whole(tmp_path: Path) -> None:
    store = tmp_path / "race.sqlite3"
    lesson = _lesson(tmp_path, "race", store, commands=2000)
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    runs = [
        subprocess.Popen(
            [sys.executable, "-m", "cli", "play", str(lesson), "--json"],
            cwd=ROOT,
            env=env,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        for _ in range(2)
    ]
    outcomes = [(run.communicate(timeout=600), run.returncode) for run in runs]
    assert sorted(code for _, code in outcomes) == [0, 2], outcomes
    stored = -1
    for (stdout, stderr), code in outcomes:
        assert "Traceback" not in stderr
        if code == 2:
            assert "race.sqlite3" in stderr and len(stderr.strip().splitlines()) == 1
        else:
            stored = json.loads(stdout)["events_stored"]
    assert _events(store) == [("account-A1", v) for v in range(1, stored + 1)]
    assert stored > 1000


def _fifo(path: Path) -> Path:
    os.mkfifo(path)
    return path


def _device(path: Path) -> Path:
    """A character device like /dev/null, made here (root only)."""
    os.mknod(path, 0o666 | 0o020000, os.makedev(1, 3))
    return path


def _view_only_database(path: Path) -> Path:
    with closing(sqlite3.connect(path)) as db:
        db.execute("CREATE VIEW answer AS SELECT 42 AS value")
        db.commit()
    return path


STORE_TARGETS = {
    "an empty file": lambda p: (p.write_bytes(b""), p)[1],
    "a database holding only a view": _view_only_database,
    "a text file": lambda p: (p.write_text("my notes\n"), p)[1],
    "a FIFO": _fifo,
    "a directory": lambda p: (p.mkdir(), p)[1],
    "a character device": _device,
}


@pytest.mark.parametrize("kind", list(STORE_TARGETS))
def test_validate_writes_nothing_and_play_refuses_what_is_not_its_store(
    tmp_path: Path, kind: str
) -> None:
    if kind == "a character device" and os.geteuid() != 0:
        pytest.skip("making a device needs root")
    folder = tmp_path / "here"
    folder.mkdir()
    target = STORE_TARGETS[kind](folder / "store.sqlite3")
    lesson = _lesson(tmp_path, "lesson", target)
    before = listing(folder)
    validated = evsim("validate", str(lesson), cwd=tmp_path)
    assert validated.returncode in (0, 2) and "Traceback" not in validated.stderr
    assert listing(folder) == before, f"validate changed {kind}"
    for flags in ([], ["--reuse-store"]):
        result = evsim("play", str(lesson), "--quiet", *flags, cwd=tmp_path)
        assert_one_line_refusal(result, "store.sqlite3")
        assert listing(folder) == before, f"play {flags} changed {kind}"


def test_a_relative_store_path_lands_in_the_run_directory_and_is_named(tmp_path: Path) -> None:
    lesson = tmp_path / "lessons" / "bank.toml"
    lesson.parent.mkdir()
    lesson.write_text(bank_lesson("bank.sqlite3"), encoding="utf-8")
    work = tmp_path / "work"
    work.mkdir()
    result = evsim("play", str(lesson), "--quiet", cwd=work)
    assert result.returncode == 0, result.stderr
    store = work / "evsim-runs" / "bank" / "bank.sqlite3"
    assert "event store: evsim-runs/bank/bank.sqlite3" in result.stderr
    assert _events(store)[0] == ("account-A1", 1)
    assert not (lesson.parent / "bank.sqlite3").exists()


@pytest.mark.parametrize("path", ["../bank.sqlite3", "runs/../../bank.sqlite3", "."])
def test_a_relative_store_path_may_not_leave_the_run_directory(tmp_path: Path, path: str) -> None:
    lesson = tmp_path / "bank.toml"
    lesson.write_text(bank_lesson(path), encoding="utf-8")
    for command in ("validate", "play"):
        assert_one_line_refusal(evsim(command, str(lesson), cwd=tmp_path), "$.store.path")
    assert not (tmp_path / "bank.sqlite3").exists()
    assert not (tmp_path.parent / "bank.sqlite3").exists()


def test_a_store_path_the_system_refuses_is_one_line(tmp_path: Path) -> None:
    for path in ("x" * 5000 + ".sqlite3", "/proc/evsim/store.sqlite3"):
        lesson = _lesson(tmp_path, "odd", path)
        for command in (["validate"], ["play", "--quiet"]):
            result = evsim(command[0], str(lesson), *command[1:], cwd=tmp_path)
            if command[0] == "validate" and result.returncode == 0:
                continue  # nothing there yet: the path is tried when a run creates it
            assert_one_line_refusal(result)
