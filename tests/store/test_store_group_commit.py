"""Group commit: appends that become durable together, each answered after the commit.

``SqliteEventStore.append_group`` writes several appends in one transaction,
each checked as ``append`` checks it; ``GroupCommit`` collects appends handed
over one at a time and answers each through its callback once the commit that
holds it is done. The kill test at the end proves the promise that matters: an
answered append is never lost, wherever the process dies.
"""

from __future__ import annotations

import os
import signal
import sqlite3
import subprocess
import sys
from pathlib import Path

import msgspec
import pytest
from store_format_1 import write_format_1_store

from simulator.store import (
    ANY_VERSION,
    Appended,
    AppendRequest,
    AppendResult,
    ExpectedVersion,
    GroupCommit,
    NewEvent,
    SqliteEventStore,
    VersionConflict,
)

WRITER = Path(__file__).with_name("store_group_kill_writer.py")


def _events(n: int, tag: str = "e") -> list[NewEvent]:
    return [
        NewEvent(type="test.written", schema_version=1, data=f"{tag}{i}".encode()) for i in range(n)
    ]


def _request(stream_id: str, n: int, expected: ExpectedVersion, at_ms: int = 0) -> AppendRequest:
    return AppendRequest(
        stream_id=stream_id, events=_events(n), expected_version=expected, recorded_at_ms=at_ms
    )


def test_a_group_writes_each_append_as_append_would_and_a_later_one_sees_the_earlier(
    tmp_path: Path,
) -> None:
    with SqliteEventStore(tmp_path / "s.sqlite3") as store:
        results = store.append_group(
            [_request("a", 2, 0), _request("b", 1, 0), _request("a", 3, 2, at_ms=5)]
        )
        assert results == [
            Appended(stream_id="a", version=2, first_position=1, last_position=2),
            Appended(stream_id="b", version=1, first_position=3, last_position=3),
            Appended(stream_id="a", version=5, first_position=4, last_position=6),
        ]
        assert [(e.stream_id, e.version, e.position) for e in store.read_all()] == [
            ("a", 1, 1),
            ("a", 2, 2),
            ("b", 1, 3),
            ("a", 3, 4),
            ("a", 4, 5),
            ("a", 5, 6),
        ]


def test_a_version_conflict_refuses_that_append_alone(tmp_path: Path) -> None:
    with SqliteEventStore(tmp_path / "s.sqlite3") as store:
        store.append("a", _events(1), 0, recorded_at_ms=0)
        results = store.append_group(
            [_request("b", 1, 0), _request("a", 1, 0), _request("a", 1, ANY_VERSION)]
        )
        assert results[1] == VersionConflict(stream_id="a", expected_version=0, actual_version=1)
        assert isinstance(results[0], Appended) and isinstance(results[2], Appended)
        assert store.stream_version("a") == 2
        assert store.head_position() == 3


def test_a_clock_that_goes_back_rolls_the_whole_group_back(tmp_path: Path) -> None:
    with SqliteEventStore(tmp_path / "s.sqlite3") as store:
        store.append("a", _events(1), 0, recorded_at_ms=10)
        with pytest.raises(ValueError, match="virtual time never goes back"):
            store.append_group([_request("b", 2, 0, at_ms=10), _request("c", 1, 0, at_ms=3)])
        assert store.head_position() == 1
        assert store.stream_version("b") == 0
        # and the next group starts from what is really stored, not from the failed one
        (result,) = store.append_group([_request("b", 1, 0, at_ms=11)])
        assert result == Appended(stream_id="b", version=1, first_position=2, last_position=2)


def test_another_writer_between_two_groups_is_seen_by_the_next_group(tmp_path: Path) -> None:
    path = tmp_path / "s.sqlite3"
    with SqliteEventStore(path) as store, SqliteEventStore(path) as other:
        store.append_group([_request("a", 1, 0)])
        other.append("a", _events(1), 1, recorded_at_ms=0)
        (result,) = store.append_group([_request("a", 1, 1)])
        assert result == VersionConflict(stream_id="a", expected_version=1, actual_version=2)


def test_group_commit_answers_each_append_only_after_its_commit(tmp_path: Path) -> None:
    with SqliteEventStore(tmp_path / "s.sqlite3") as store:
        answered: list[tuple[int, int]] = []

        def on_done(result: AppendResult) -> None:
            assert isinstance(result, Appended)
            with SqliteEventStore(
                tmp_path / "s.sqlite3"
            ) as reader:  # durable: another connection sees it
                assert reader.head_position() >= result.last_position
            answered.append((result.version, result.last_position))

        with GroupCommit(store, max_appends=3) as writer:
            for n in range(7):
                writer.append("a", _events(1), n, recorded_at_ms=n, on_done=on_done)
                assert len(answered) == (n + 1) // 3 * 3  # answered in whole groups
        assert answered == [(v, v) for v in range(1, 8)]  # the last, short group at the end


def test_leaving_the_block_with_an_error_answers_and_writes_nothing_pending(
    tmp_path: Path,
) -> None:
    with SqliteEventStore(tmp_path / "s.sqlite3") as store:
        answered: list[AppendResult] = []
        with pytest.raises(RuntimeError), GroupCommit(store, max_appends=10) as writer:
            writer.append("a", _events(1), 0, recorded_at_ms=0, on_done=answered.append)
            raise RuntimeError("the writer fails before the group is full")
        assert answered == []
        assert store.head_position() == 0


def _acknowledged(text: str) -> list[tuple[str, int, int, int, int]]:
    acked = []
    for line in text.splitlines(keepends=True):
        if not line.endswith("\n"):
            break
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


@pytest.mark.slow
@pytest.mark.skipif(not hasattr(signal, "SIGKILL"), reason="needs SIGKILL")
def test_a_writer_killed_before_after_or_amid_a_group_commit_loses_no_answered_append(
    tmp_path: Path,
) -> None:
    store_path = tmp_path / "killed.sqlite3"
    env = {**os.environ, "PYTHONPATH": os.pathsep.join(sys.path)}
    per_group = 8
    acked: list[tuple[str, int, int, int, int]] = []
    kills = [
        (point, group)
        for group in (1, 3)
        for point in ("before_commit", "after_commit", "mid_answers")
    ]
    for cycle, (point, group) in enumerate(kills):
        with SqliteEventStore(store_path) as store:
            head_before = store.head_position()
        out_path = tmp_path / f"acks-{cycle}.txt"
        with out_path.open("w") as out:
            done = subprocess.run(
                [
                    sys.executable,
                    str(WRITER),
                    str(store_path),
                    str(cycle),
                    point,
                    str(group),
                    str(per_group),
                ],
                stdout=out,
                stderr=subprocess.PIPE,
                env=env,
                timeout=120,
                check=False,
            )
        assert done.returncode == -signal.SIGKILL, done.stderr.decode()
        answered = _acknowledged(out_path.read_text())
        # Every group before the chosen one was answered in full; the chosen one not at all,
        # or (killed amid its answers) half of it.
        expected = (group - 1) * per_group + (per_group // 2 if point == "mid_answers" else 0)
        assert len(answered) == expected, (point, group)
        with SqliteEventStore(store_path) as store:
            head = store.head_position()
        last_answered = answered[-1][4] if answered else head_before
        if point == "before_commit":
            assert head == last_answered  # the killed group's rows never became durable
        else:
            assert head > last_answered  # committed: durable although not (all) answered
        acked += answered

    db = sqlite3.connect(store_path)
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
        for stream_id, first_version, last_version, first_position, last_position in acked:
            written = log[first_position - 1 : last_position]
            assert [(e.stream_id, e.version) for e in written] == [
                (stream_id, v) for v in range(first_version, last_version + 1)
            ]


@pytest.mark.slow
@pytest.mark.skipif(not hasattr(signal, "SIGKILL"), reason="needs SIGKILL")
def test_killed_group_commits_leave_a_log_the_events_view_reads_as_the_store_does(
    tmp_path: Path,
) -> None:
    test_a_writer_killed_before_after_or_amid_a_group_commit_loses_no_answered_append(tmp_path)
    store_path = tmp_path / "killed.sqlite3"
    with SqliteEventStore(store_path) as store:
        assert store.format_version == 2
        log = [(e.position, e.stream_id, e.version, e.data) for e in store.read_all()]
    db = sqlite3.connect(store_path)
    try:
        viewed = db.execute(
            "SELECT position, stream_id, version, data FROM events ORDER BY position"
        ).fetchall()
    finally:
        db.close()
    assert viewed == log


@pytest.mark.slow
@pytest.mark.skipif(not hasattr(signal, "SIGKILL"), reason="needs SIGKILL")
def test_a_format_1_store_killed_amid_group_commits_loses_no_answered_append(
    tmp_path: Path,
) -> None:
    write_format_1_store(tmp_path / "killed.sqlite3")
    test_a_writer_killed_before_after_or_amid_a_group_commit_loses_no_answered_append(tmp_path)
    with SqliteEventStore(tmp_path / "killed.sqlite3") as store:
        assert store.format_version == 1  # appended to in its own layout, never rewritten
