"""The SQLite event store: the log in one file a student can open with ``sqlite3``.

Each append is one row of ``commits`` (its stream's key, first and last
version, first global position, time, and its events' bytes), each stream's
name one row of ``streams``, and the view ``events`` shows the log as one row
per event — what a student reads with ``sqlite3``. How the log is laid out,
why, and how the schema itself refuses two events at one version of a stream
is ``sqlite_formats``; this module opens files, checks versions and commits.

An append is one ``BEGIN IMMEDIATE`` transaction — it takes SQLite's write lock
first, so reading the stream's version, checking it and inserting cannot
interleave with another writer, and positions stay contiguous. The file runs in
WAL mode with ``synchronous=NORMAL``: a committed append survives the process
being killed, though not necessarily an operating-system crash or power cut
(see ``docs/event-store.md``). A file that is not an evsim store is never
written to; opening one is a ``StoreError`` that names the file. A store in
format 1 (one ``events`` row per event, written by earlier evsim) is read and
appended to in its own layout, never rewritten.

A simulation run opens its store *exclusively* (``create_run_store``,
``reuse_run_store``): SQLite's own ``locking_mode = EXCLUSIVE`` holds the file's
lock from the first write until the run closes it, so a store another process
has open is refused (SQLite reports it locked) rather than shared, and no other
process can write into a run's log while it runs. A run's store records the
scenario that made it (``evsim_meta.scenario``), so a later run can tell its own
store from another lesson's.
"""

from __future__ import annotations

import functools
import os
import sqlite3
import stat
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Concatenate, Final, ParamSpec, TypeVar

from simulator.store.base import EventStore, check_append
from simulator.store.records import (
    AnyVersion,
    Appended,
    AppendRequest,
    AppendResult,
    ExpectedVersion,
    NewEvent,
    Snapshot,
    StoredEvent,
    StoreError,
    VersionConflict,
)
from simulator.store.sqlite_formats import (
    COMMIT_SCHEMA,
    LogFormat,
    PendingCommit,
    StreamKey,
    log_format,
)

__all__ = [
    "CONNECTION_PRAGMAS",
    "FORMAT",
    "FORMAT_VERSION",
    "SCHEMA",
    "GroupCommit",
    "SqliteEventStore",
    "create_run_store",
    "is_sqlite_header",
    "reuse_run_store",
]

FORMAT: Final = "evsim-event-store"
"""``evsim_meta.format``: how evsim recognises its own files."""
FORMAT_VERSION: Final = 2
"""``evsim_meta.format_version`` of a new store: bumped when the tables change shape.

Format 1 had one ``events`` table with the stream's name on every row; format 2
names each stream once (``streams``) and keeps the events in ``event_log``."""

SCHEMA: Final = (
    """CREATE TABLE evsim_meta (
    key   TEXT PRIMARY KEY,
    value TEXT NOT NULL
)""",
    f"""INSERT INTO evsim_meta (key, value) VALUES
    ('format', '{FORMAT}'),
    ('format_version', '{FORMAT_VERSION}')""",
    *COMMIT_SCHEMA,
    """CREATE TABLE snapshots (
    stream_id      TEXT    PRIMARY KEY,
    version        INTEGER NOT NULL,
    schema_version INTEGER NOT NULL,
    state          BLOB    NOT NULL
)""",
)
"""A new store's tables and views, one statement each, created in one transaction."""

CONNECTION_PRAGMAS: Final = (
    "journal_mode = WAL",
    "synchronous = NORMAL",
    # A checkpoint (copying the WAL back into the database, with an fsync) every ~40 MB
    # of WAL instead of SQLite's default ~4 MB: a tenth of the fsyncs, same durability.
    "wal_autocheckpoint = 10000",
)
"""Set on every connection, once the file has proved to be an evsim store."""

_EVENT_COLUMNS: Final = (
    "position",
    "stream_id",
    "version",
    "type",
    "schema_version",
    "data",
    "recorded_at_ms",
)
"""The columns of ``events``: the table in format 1, the view in format 2."""
_SQLITE_HEADER: Final = b"SQLite format 3\x00"

P = ParamSpec("P")
R = TypeVar("R")


def _translating_errors(
    method: Callable[Concatenate[SqliteEventStore, P], R],
) -> Callable[Concatenate[SqliteEventStore, P], R]:
    """A damaged file surfaces as a ``StoreError`` naming it, not as a traceback."""

    @functools.wraps(method)
    def wrapper(self: SqliteEventStore, /, *args: P.args, **kwargs: P.kwargs) -> R:
        try:
            return method(self, *args, **kwargs)
        except sqlite3.ProgrammingError:
            raise  # a bug in the caller (a closed store, a bad parameter), not a bad file
        except sqlite3.DatabaseError as error:
            raise StoreError(self.file, f"cannot read or write the store ({error})") from error

    return wrapper


def is_sqlite_header(path: str | os.PathLike[str]) -> bool:
    """Whether the regular file at ``path`` is empty or starts like an SQLite database."""
    with open(path, "rb") as file:
        header = file.read(len(_SQLITE_HEADER))
    return header in (b"", _SQLITE_HEADER)


_IN_USE: Final = "in use by another process (SQLite reports the file locked): not opened"


class SqliteEventStore(EventStore):
    """An event store in one SQLite file (WAL mode, one transaction per append).

    ``exclusive``: hold SQLite's lock on the file until ``close`` (a run's store);
    a file another connection has open is refused at once instead of waited for.
    ``scenario``: the scenario the store belongs to — recorded in a new store,
    and required of an existing one.
    """

    def __init__(
        self,
        path: str | os.PathLike[str],
        *,
        busy_timeout_ms: int = 5000,
        exclusive: bool = False,
        scenario: str | None = None,
    ) -> None:
        super().__init__()
        self.path = Path(path)
        self.file = str(path)
        self.exclusive = exclusive
        self.scenario = scenario
        self._log: LogFormat = log_format(FORMAT_VERSION)
        """How the file lays out its log (``sqlite_formats``), set when the file is opened."""
        self._group_streams: dict[str, tuple[StreamKey, int]] = {}
        """Stream keys and versions as the last group commit left them (``append_group``)."""
        self._group_head = -1
        """The head position the last group commit left, or -1."""
        self._con = self._open(0 if exclusive else busy_timeout_ms)

    # -- opening ----------------------------------------------------------------

    def _open(self, busy_timeout_ms: int) -> sqlite3.Connection:
        path = self.path
        try:
            mode = path.stat().st_mode
        except FileNotFoundError:
            mode = None
        except OSError as error:
            raise StoreError(self.file, f"cannot open ({error.strerror or error})") from None
        if mode is not None and stat.S_ISDIR(mode):
            raise StoreError(self.file, "is a directory, not an event store file")
        if mode is not None and not stat.S_ISREG(mode):
            # SQLite would block on a FIFO and write a -journal beside a device.
            raise StoreError(self.file, "is not a regular file (a FIFO or a device?): not a store")
        if mode is not None and not is_sqlite_header(path):
            raise StoreError(self.file, "not an evsim event store (not an SQLite database)")
        try:
            con = sqlite3.connect(path, isolation_level=None, timeout=busy_timeout_ms / 1000)
        except sqlite3.Error as error:
            raise StoreError(self.file, f"cannot open ({error})") from error
        try:
            if self.exclusive:
                # Before the first read: SQLite then never shares the file (no -shm) and
                # keeps its lock until the connection closes.
                con.execute("PRAGMA locking_mode = EXCLUSIVE")
            # Only read until the file has proved to be ours (or empty): never touch anyone
            # else's database, not even to switch its journal mode.
            names = {
                (kind, name) for (kind, name) in con.execute("SELECT type, name FROM sqlite_master")
            }
            tables = {name for kind, name in names if kind in ("table", "view")}
            if any(kind == "table" for kind, _ in names):
                self._log = self._check_is_evsim_store(con, tables)
            elif names:
                raise StoreError(self.file, "not an evsim event store (it holds views or indexes)")
            else:
                # One transaction: a process killed halfway leaves an empty file, not half a store.
                con.execute("BEGIN IMMEDIATE")
                for statement in SCHEMA:
                    con.execute(statement)
                if self.scenario is not None:
                    con.execute(
                        "INSERT INTO evsim_meta (key, value) VALUES ('scenario', ?)",
                        (self.scenario,),
                    )
                con.execute("COMMIT")
            for pragma in CONNECTION_PRAGMAS:
                con.execute(f"PRAGMA {pragma}")
            if self.exclusive:
                con.execute("BEGIN EXCLUSIVE")  # take the write lock now, and keep it
                con.execute("COMMIT")
        except StoreError:
            con.close()
            raise
        except sqlite3.OperationalError as error:
            con.close()
            if "locked" in str(error) or "busy" in str(error):
                raise StoreError(self.file, _IN_USE) from error
            raise StoreError(self.file, f"corrupt or unreadable SQLite file ({error})") from error
        except sqlite3.DatabaseError as error:
            con.close()
            raise StoreError(self.file, f"corrupt or unreadable SQLite file ({error})") from error
        return con

    def _check_is_evsim_store(self, con: sqlite3.Connection, tables: set[str]) -> LogFormat:
        """The layout of an evsim store, read from its ``evsim_meta``; refuse anything else."""
        for table in ("events", "snapshots", "evsim_meta"):
            if table not in tables:
                raise StoreError(self.file, f"not an evsim event store (missing table {table})")
        meta = dict(con.execute("SELECT key, value FROM evsim_meta").fetchall())
        if meta.get("format") != FORMAT:
            raise StoreError(
                self.file, f"not an evsim event store (evsim_meta.format is {meta.get('format')!r})"
            )
        version = str(meta.get("format_version", ""))
        if not version.isdigit():
            raise StoreError(self.file, f"evsim_meta.format_version is {version!r}, not a number")
        if int(version) > FORMAT_VERSION:
            raise StoreError(
                self.file,
                f"store format {version} is newer than this evsim reads ({FORMAT_VERSION})",
            )
        layout = log_format(int(version))
        for table in layout.tables:
            if table not in tables:
                raise StoreError(
                    self.file, f"evsim store format {version} without its table {table}"
                )
        columns = {row[1] for row in con.execute("PRAGMA table_info(events)")}
        for column in _EVENT_COLUMNS:
            if column not in columns:
                raise StoreError(self.file, f"events table has no column {column}")
        recorded = meta.get("scenario")
        if self.scenario is not None and recorded != self.scenario:
            whose = "no scenario recorded" if recorded is None else f"scenario {recorded!r}"
            raise StoreError(
                self.file, f"an evsim store of {whose}, not of {self.scenario!r}: not reused"
            )
        return layout

    @_translating_errors
    def clear(self) -> None:
        """Empty the log and the snapshots in place (a run reusing its own store)."""
        con = self._con
        con.execute("BEGIN IMMEDIATE")
        try:
            self._log.clear(con)
            con.execute("DELETE FROM snapshots")
            con.execute("COMMIT")
        except BaseException:
            if con.in_transaction:
                con.execute("ROLLBACK")
            raise
        self._group_streams.clear()
        self._group_head = -1
        self._forget_folds()

    def close(self) -> None:
        self._con.close()

    @property
    def format_version(self) -> int:
        """The file's format (``evsim_meta.format_version``): 2 for a new store."""
        return self._log.format_version

    @_translating_errors
    def settings(self) -> dict[str, str | int]:
        """The SQLite settings in force on this store's connection, to show beside it."""
        names = [pragma.split("=")[0].strip() for pragma in CONNECTION_PRAGMAS]
        return {name: self._con.execute(f"PRAGMA {name}").fetchone()[0] for name in names}

    # -- writing ----------------------------------------------------------------

    @_translating_errors
    def _append(
        self,
        stream_id: str,
        events: Sequence[NewEvent],
        expected_version: ExpectedVersion,
        recorded_at_ms: int,
    ) -> AppendResult:
        con = self._con
        con.execute("BEGIN IMMEDIATE")
        try:
            key, actual, head, last_at_ms = self._log.append_head(con, stream_id)
            if not isinstance(expected_version, AnyVersion) and expected_version != actual:
                con.execute("ROLLBACK")
                return VersionConflict(
                    stream_id=stream_id, expected_version=expected_version, actual_version=actual
                )
            if recorded_at_ms < last_at_ms:
                raise ValueError(
                    f"append to {stream_id} at {recorded_at_ms} ms: the log already has an "
                    f"event at {last_at_ms} ms, and virtual time never goes back"
                )
            if key is None:
                key = self._log.new_stream(con, stream_id)
            self._log.write(con, [(head + 1, key, actual + 1, recorded_at_ms, events)])
            self._commit()
        except BaseException:
            # Includes an IntegrityError from the schema's own check (a commit that does not
            # follow its stream's last version), which only a file edited by hand can
            # cause: it surfaces as a StoreError, never as a duplicate.
            if con.in_transaction:
                con.execute("ROLLBACK")
            raise
        return Appended(
            stream_id=stream_id,
            version=actual + len(events),
            first_position=head + 1,
            last_position=head + len(events),
        )

    @_translating_errors
    def append_group(self, appends: Sequence[AppendRequest]) -> list[AppendResult]:
        """Several appends in one transaction: a group commit.

        Each append is checked and written exactly as ``append`` would, one
        after the other, so a later append in the group sees the earlier ones
        (two appends to one stream in a group are fine when the second expects
        the version the first leaves). A version conflict refuses that append
        alone. All the appends that went through become durable together, at
        the one ``COMMIT``, and the results are returned only after it: a
        caller that acknowledges an append when it has its result never
        acknowledges one that a crash could still take back. If anything
        fails (a clock that went back, a damaged file) the whole group is
        rolled back and nothing in it was written.

        One commit per group instead of per append is what makes it fast: the
        commit (the WAL write and its bookkeeping) is most of an append's cost.
        """
        for request in appends:
            check_append(
                request.stream_id, request.events, request.expected_version, request.recorded_at_ms
            )
        con = self._con
        log = self._log
        con.execute("BEGIN IMMEDIATE")
        try:
            head, last_at_ms = log.log_head(con)
            # Each stream's key and version as the groups have left them. It stays true only
            # while nobody else writes: positions are contiguous, so another writer would
            # have moved the head away from where our last commit left it.
            streams = self._group_streams
            if head != self._group_head:
                streams.clear()
            commits: list[PendingCommit] = []
            results: list[AppendResult] = []
            for request in appends:
                stream_id = request.stream_id
                known = streams.get(stream_id)
                if known is None:
                    key, actual = log.key_and_version(con, stream_id)
                else:
                    key, actual = known
                expected = request.expected_version
                if not isinstance(expected, AnyVersion) and expected != actual:
                    results.append(
                        VersionConflict(
                            stream_id=stream_id, expected_version=expected, actual_version=actual
                        )
                    )
                    if key is not None:
                        streams[stream_id] = (key, actual)
                    continue
                at_ms = request.recorded_at_ms
                if at_ms < last_at_ms:
                    raise ValueError(
                        f"append to {stream_id} at {at_ms} ms: the log already has an "
                        f"event at {last_at_ms} ms, and virtual time never goes back"
                    )
                if key is None:
                    key = log.new_stream(con, stream_id)
                events = request.events
                commits.append((head + 1, key, actual + 1, at_ms, events))
                results.append(
                    Appended(
                        stream_id=stream_id,
                        version=actual + len(events),
                        first_position=head + 1,
                        last_position=head + len(events),
                    )
                )
                head += len(events)
                streams[stream_id] = (key, actual + len(events))
                last_at_ms = at_ms
            log.write(con, commits)
            self._commit()
        except BaseException:
            self._group_streams.clear()
            self._group_head = -1
            if con.in_transaction:
                con.execute("ROLLBACK")
            raise
        self._group_head = head
        return results

    def _commit(self) -> None:
        """End the open write transaction: from here on its appends survive a crash."""
        self._con.execute("COMMIT")

    @_translating_errors
    def _save_snapshot(self, snapshot: Snapshot) -> None:
        self._con.execute(
            "INSERT OR REPLACE INTO snapshots (stream_id, version, schema_version, state) "
            "VALUES (?, ?, ?, ?)",
            (snapshot.stream_id, snapshot.version, snapshot.schema_version, snapshot.state),
        )

    # -- reading ----------------------------------------------------------------

    @_translating_errors
    def read_stream(
        self, stream_id: str, from_version: int = 0, to_version: int | None = None
    ) -> list[StoredEvent]:
        return self._log.read_stream(self._con, stream_id, from_version, to_version)

    @_translating_errors
    def read_all(self, from_position: int = 0, limit: int | None = None) -> list[StoredEvent]:
        return self._log.read_all(self._con, from_position, limit)

    @_translating_errors
    def stream_version(self, stream_id: str) -> int:
        return self._log.stream_version(self._con, stream_id)

    @_translating_errors
    def head_position(self) -> int:
        return self._log.head_position(self._con)

    @_translating_errors
    def stream_ids(self) -> list[str]:
        return self._log.stream_ids(self._con)

    @_translating_errors
    def version_at_position(self, stream_id: str, position: int) -> int:
        return self._log.version_at_position(self._con, stream_id, position)

    @_translating_errors
    def position_at_time(self, at_ms: int) -> int:
        # Times never decrease along the log, so binary search over positions
        # (each probe is a primary-key lookup) instead of scanning every row.
        low, high = 0, self.head_position()
        while low < high:
            middle = (low + high + 1) // 2
            if self._log.time_at_position(self._con, middle) <= at_ms:
                low = middle
            else:
                high = middle - 1
        return low

    @_translating_errors
    def load_snapshot(self, stream_id: str) -> Snapshot | None:
        row = self._con.execute(
            "SELECT version, schema_version, state FROM snapshots WHERE stream_id = ?",
            (stream_id,),
        ).fetchone()
        if row is None:
            return None
        version, schema_version, state = row
        return Snapshot(
            stream_id=stream_id, version=version, schema_version=schema_version, state=state
        )


class GroupCommit:
    """Appends handed over one at a time, committed in groups, each answered after its commit.

    A writer that does not need each append's answer before it makes the next
    (a batch import, a projector writing back, a benchmark) hands them to
    ``append`` with a callback; every ``max_appends`` appends, and at
    ``flush`` or the end of the ``with`` block, they are written together by
    ``SqliteEventStore.append_group``. A callback runs only once its append
    is committed, so whatever it acknowledges is durable. Leaving the block
    with an exception drops the appends not yet committed: none of them was
    acknowledged.
    """

    def __init__(self, store: SqliteEventStore, max_appends: int = 100) -> None:
        if max_appends < 1:
            raise ValueError("max_appends must be >= 1")
        self.store = store
        self.max_appends = max_appends
        self._pending: list[AppendRequest] = []
        self._callbacks: list[Callable[[AppendResult], object]] = []

    def append(
        self,
        stream_id: str,
        events: Sequence[NewEvent],
        expected_version: ExpectedVersion,
        *,
        recorded_at_ms: int,
        on_done: Callable[[AppendResult], object],
    ) -> None:
        """Queue an append; ``on_done(result)`` runs after the commit that makes it durable."""
        check_append(stream_id, events, expected_version, recorded_at_ms)
        self._pending.append(
            AppendRequest(
                stream_id=stream_id,
                events=events,
                expected_version=expected_version,
                recorded_at_ms=recorded_at_ms,
            )
        )
        self._callbacks.append(on_done)
        if len(self._pending) >= self.max_appends:
            self.flush()

    def flush(self) -> None:
        """Commit what is queued, then answer each append in the order it was handed over."""
        if not self._pending:
            return
        pending, callbacks = self._pending, self._callbacks
        self._pending, self._callbacks = [], []
        results = self.store.append_group(pending)
        for on_done, result in zip(callbacks, results, strict=True):
            on_done(result)

    def __enter__(self) -> GroupCommit:
        return self

    def __exit__(self, exc_type: type[BaseException] | None, *_: object) -> None:
        if exc_type is None:
            self.flush()
        else:
            self._pending, self._callbacks = [], []


def create_run_store(path: str | os.PathLike[str], scenario: str) -> SqliteEventStore:
    """A new store at ``path`` for a run of ``scenario``; refused if anything is there.

    The file is created with ``O_EXCL``, so of two runs racing for one path only
    one gets it, and a dangling symlink is not followed.
    """
    try:
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o666)
    except FileExistsError:
        raise StoreError(
            str(path),
            "already exists: a run writes a new store (--reuse-store empties and reuses a"
            " store of this same lesson)",
        ) from None
    except OSError as error:
        raise StoreError(str(path), f"cannot create ({error.strerror or error})") from None
    os.close(fd)
    try:
        return SqliteEventStore(path, exclusive=True, scenario=scenario)
    except StoreError:
        # Ours, created a moment ago and still empty: take it away again.
        if os.path.getsize(path) == 0:
            os.unlink(path)
        raise


def reuse_run_store(path: str | os.PathLike[str], scenario: str) -> SqliteEventStore:
    """The store an earlier run of ``scenario`` left at ``path``, emptied; or a new one.

    Anything else at ``path`` — another lesson's store, someone's database, a store
    another process has open — is refused and left exactly as it was.
    """
    if not os.path.lexists(path):
        return create_run_store(path, scenario)
    if os.path.exists(path) and os.path.getsize(path) == 0:
        raise StoreError(str(path), "an empty file, not an evsim store: not reused")
    store = SqliteEventStore(path, exclusive=True, scenario=scenario)
    try:
        store.clear()
    except BaseException:
        store.close()
        raise
    return store
