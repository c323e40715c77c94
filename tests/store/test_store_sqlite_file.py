"""The SQLite store as a file: reopening, plain sqlite3 access, refusing foreign files."""

from __future__ import annotations

import json
import sqlite3
from pathlib import Path

import pytest
from store_format_1 import write_format_1_store

from simulator.domain import get_domain
from simulator.domain.bank import DepositMoney, OpenAccount
from simulator.errors import InputError
from simulator.store import (
    Appended,
    NewEvent,
    SqliteEventStore,
    StoreError,
    handle_command,
)

BANK = get_domain("bank")


def _bank_history(path: Path) -> None:
    with SqliteEventStore(path) as store:
        handle_command(store, BANK, OpenAccount(account_id="A", owner="ann"), recorded_at_ms=1)
        for amount in (10, 20):
            result = handle_command(
                store, BANK, DepositMoney(account_id="A", amount_cents=amount), recorded_at_ms=2
            )
            assert isinstance(result.outcome, Appended)
        store.take_snapshot(BANK, store.load(BANK, "account-A"))


def test_reopened_store_has_the_same_log_snapshot_and_versions(tmp_path: Path) -> None:
    path = tmp_path / "bank.sqlite3"
    _bank_history(path)
    with SqliteEventStore(path) as store:
        assert store.head_position() == 3
        assert store.stream_version("account-A") == 3
        loaded = store.load(BANK, "account-A")
        assert (loaded.snapshot_version, loaded.replayed) == (3, 0)
        assert loaded.state.balance_cents() == 30
        result = store.append(
            "account-A", [NewEvent(type="x", schema_version=1, data=b"{}")], 3, recorded_at_ms=3
        )
        assert result == Appended(
            stream_id="account-A", version=4, first_position=4, last_position=4
        )


def test_a_student_can_read_the_log_with_plain_sqlite3(tmp_path: Path) -> None:
    path = tmp_path / "bank.sqlite3"
    _bank_history(path)
    con = sqlite3.connect(path)
    rows = con.execute(
        "SELECT position, stream_id, version, type, schema_version, recorded_at_ms,"
        " json_extract(CAST(data AS TEXT), '$.amount_cents') FROM events ORDER BY position"
    ).fetchall()
    assert rows == [
        (1, "account-A", 1, "account.opened", 1, 1, None),
        (2, "account-A", 2, "account.deposited", 2, 2, 10),
        (3, "account-A", 3, "account.deposited", 2, 2, 20),
    ]
    (data,) = con.execute("SELECT data FROM events WHERE position = 2").fetchone()
    assert json.loads(data) == {
        "type": "account.deposited",
        "account_id": "A",
        "amount_cents": 10,
        "currency": "EUR",
    }
    assert con.execute("PRAGMA journal_mode").fetchone() == ("wal",)
    assert dict(con.execute("SELECT key, value FROM evsim_meta")) == {
        "format": "evsim-event-store",
        "format_version": "2",
    }
    con.close()


def test_the_schema_itself_refuses_a_second_event_at_the_same_version(tmp_path: Path) -> None:
    path = tmp_path / "bank.sqlite3"
    _bank_history(path)
    con = sqlite3.connect(path)
    with pytest.raises(sqlite3.IntegrityError, match="UNIQUE"):
        con.execute(
            "INSERT INTO events VALUES (99, 'account-A', 2, 'account.deposited', 2, x'7b7d', 5)"
        )
    con.close()


def test_an_empty_file_becomes_a_new_store(tmp_path: Path) -> None:
    path = tmp_path / "touched.sqlite3"
    path.touch()
    with SqliteEventStore(path) as store:
        assert store.head_position() == 0


def test_a_text_file_is_refused_by_name_and_left_untouched(tmp_path: Path) -> None:
    path = tmp_path / "notes.txt"
    path.write_text("dear diary\n" * 100)
    with pytest.raises(StoreError) as caught:
        SqliteEventStore(path)
    assert str(caught.value) == f"{path}: not an evsim event store (not an SQLite database)"
    assert path.read_text() == "dear diary\n" * 100


def test_another_sqlite_database_is_refused_and_never_modified(tmp_path: Path) -> None:
    path = tmp_path / "store.sqlite3"
    con = sqlite3.connect(path)
    con.execute("CREATE TABLE customers (id INTEGER PRIMARY KEY, name TEXT)")
    con.execute("INSERT INTO customers (name) VALUES ('ann')")
    con.commit()
    con.close()
    before = path.read_bytes()
    with pytest.raises(StoreError) as caught:
        SqliteEventStore(path)
    assert str(caught.value) == f"{path}: not an evsim event store (missing table events)"
    assert path.read_bytes() == before
    assert sorted(p.name for p in tmp_path.iterdir()) == ["store.sqlite3"]  # no -wal, no -shm


def test_a_store_from_a_newer_evsim_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "future.sqlite3"
    SqliteEventStore(path).close()
    con = sqlite3.connect(path)
    con.execute("UPDATE evsim_meta SET value = '99' WHERE key = 'format_version'")
    con.commit()
    con.close()
    with pytest.raises(StoreError, match="format 99 is newer"):
        SqliteEventStore(path)


def test_a_corrupt_store_is_a_store_error_naming_the_file(tmp_path: Path) -> None:
    path = tmp_path / "broken.sqlite3"
    with SqliteEventStore(path) as store:
        for i in range(300):
            store.append(
                f"s-{i % 7}",
                [NewEvent(type="t", schema_version=1, data=b"x" * 200)],
                i // 7,
                recorded_at_ms=i,
            )
    raw = bytearray(path.read_bytes())
    assert len(raw) > 4 * 4096
    raw[4096:] = b"\xde\xad\xbe\xef" * ((len(raw) - 4096) // 4)
    path.write_bytes(bytes(raw))
    with pytest.raises(StoreError) as caught:
        store = SqliteEventStore(path)
        store.read_all()
    assert str(caught.value).startswith(f"{path}: ")
    assert "malformed" in str(caught.value) or "not a database" in str(caught.value)


def test_a_directory_or_an_unreachable_path_is_a_store_error(tmp_path: Path) -> None:
    with pytest.raises(StoreError, match="is a directory"):
        SqliteEventStore(tmp_path)
    with pytest.raises(StoreError, match="cannot open"):
        SqliteEventStore(tmp_path / "no" / "such" / "dir" / "store.sqlite3")


def test_store_errors_are_input_errors_for_the_cli_edge(tmp_path: Path) -> None:
    path = tmp_path / "notes.txt"
    path.write_text("hello")
    with pytest.raises(InputError):
        SqliteEventStore(path)


def test_an_append_that_fails_halfway_leaves_nothing_behind(tmp_path: Path) -> None:
    with SqliteEventStore(tmp_path / "atomic.sqlite3") as store:
        store.append("s-1", [NewEvent(type="t", schema_version=1, data=b"ok")], 0, recorded_at_ms=0)
        batch = [NewEvent(type="t", schema_version=1, data=b"x") for _ in range(200)]
        batch[150] = NewEvent(type="t", schema_version=1, data=object())  # type: ignore[arg-type]
        with pytest.raises(sqlite3.Error):
            store.append("s-1", batch, 1, recorded_at_ms=1)
        assert store.head_position() == 1
        assert store.stream_version("s-1") == 1
        result = store.append(
            "s-1", [NewEvent(type="t", schema_version=1, data=b"again")], 1, recorded_at_ms=1
        )
        assert result == Appended(stream_id="s-1", version=2, first_position=2, last_position=2)


def test_a_truncated_store_is_refused_on_open_naming_the_file(tmp_path: Path) -> None:
    path = tmp_path / "cut.sqlite3"
    _bank_history(path)
    path.write_bytes(path.read_bytes()[:100])
    with pytest.raises(StoreError) as caught:
        SqliteEventStore(path)
    assert str(caught.value).startswith(f"{path}: corrupt or unreadable SQLite file")


def test_the_store_runs_in_wal_mode_with_synchronous_normal(tmp_path: Path) -> None:
    with SqliteEventStore(tmp_path / "settings.sqlite3") as store:
        # synchronous: 0 OFF, 1 NORMAL, 2 FULL.
        assert store.settings() == {
            "journal_mode": "wal",
            "synchronous": 1,
            "wal_autocheckpoint": 10000,
        }


def test_a_format_1_store_opens_reads_and_takes_appends_in_its_own_layout(tmp_path: Path) -> None:
    path = tmp_path / "old.sqlite3"
    write_format_1_store(
        path,
        [
            ("account-A", 1, "account.opened", b'{"owner":"ann"}', 1),
            ("account-B", 1, "account.opened", b'{"owner":"bob"}', 2),
            ("account-A", 2, "account.deposited", b'{"amount_cents":10}', 3),
        ],
    )
    with SqliteEventStore(path) as store:
        assert store.format_version == 1
        assert store.stream_ids() == ["account-A", "account-B"]
        assert [(e.position, e.version, e.data) for e in store.read_stream("account-A")] == [
            (1, 1, b'{"owner":"ann"}'),
            (3, 2, b'{"amount_cents":10}'),
        ]
        result = store.append(
            "account-B", [NewEvent(type="t", schema_version=1, data=b"{}")], 1, recorded_at_ms=4
        )
        assert result == Appended(
            stream_id="account-B", version=2, first_position=4, last_position=4
        )
    con = sqlite3.connect(path)
    try:
        assert con.execute(
            "SELECT value FROM evsim_meta WHERE key = 'format_version'"
        ).fetchone() == ("1",)
        names = {name for (name,) in con.execute("SELECT name FROM sqlite_master")}
        assert "commits" not in names and "streams" not in names  # never rewritten
        rows = con.execute("SELECT position, stream_id, version FROM events ORDER BY position")
        assert rows.fetchall() == [
            (1, "account-A", 1),
            (2, "account-B", 1),
            (3, "account-A", 2),
            (4, "account-B", 2),
        ]
    finally:
        con.close()


def test_the_events_view_shows_each_event_of_each_commit_as_the_store_reads_it(
    tmp_path: Path,
) -> None:
    path = tmp_path / "commits.sqlite3"
    with SqliteEventStore(path) as store:
        for n in range(12):
            events = [
                NewEvent(type=f"t{i}", schema_version=1 + i % 2, data=b"x" * (n * 7 + i))
                for i in range(1 + n % 4)
            ]
            store.append(f"s-{n % 3}", events, store.stream_version(f"s-{n % 3}"), recorded_at_ms=n)
        log = store.read_all()
    con = sqlite3.connect(path)
    try:
        viewed = con.execute(
            "SELECT position, stream_id, version, type, schema_version, data, recorded_at_ms"
            " FROM events ORDER BY position"
        ).fetchall()
        commits = con.execute("SELECT COUNT(*) FROM commits").fetchone()
    finally:
        con.close()
    assert commits == (12,)  # one row per append
    assert viewed == [
        (e.position, e.stream_id, e.version, e.type, e.schema_version, e.data, e.recorded_at_ms)
        for e in log
    ]


def test_the_schema_refuses_a_commit_that_skips_a_version_or_a_position(tmp_path: Path) -> None:
    path = tmp_path / "bank.sqlite3"
    _bank_history(path)  # account-A at version 3, the log at position 3
    con = sqlite3.connect(path)
    try:
        insert = "INSERT INTO events VALUES (?, 'account-A', ?, 'account.deposited', 2, x'7b7d', 5)"
        with pytest.raises(sqlite3.IntegrityError, match="UNIQUE"):
            con.execute(insert, (4, 5))  # version 4 skipped
        with pytest.raises(sqlite3.IntegrityError, match="global positions"):
            con.execute(insert, (5, 4))  # position 4 skipped
        con.execute(insert, (4, 4))  # the next version at the next position: appended
        con.commit()
    finally:
        con.close()
    with SqliteEventStore(path) as store:
        assert (store.head_position(), store.stream_version("account-A")) == (4, 4)


def test_a_format_2_store_without_its_commits_table_is_refused_by_name(tmp_path: Path) -> None:
    path = tmp_path / "cut.sqlite3"
    SqliteEventStore(path).close()
    con = sqlite3.connect(path)
    con.execute("DROP TABLE commits")
    con.commit()
    con.close()
    with pytest.raises(StoreError) as caught:
        SqliteEventStore(path)
    assert str(caught.value) == f"{path}: evsim store format 2 without its table commits"
