"""How the SQLite store lays its log out in the file: format 2 (commits) and format 1 (rows).

An append is a *commit*: one stream, its next versions, the next global
positions, one virtual time. Format 2 keeps each commit as one row of
``commits`` — the stream's integer key (its name is written once, in
``streams``), the first and last version, the first global position, the time,
and its events' bytes end to end in ``data`` with, in ``parts``, each event's
type, schema version, offset and length. The event store NEventStore keeps its
log the same way. One row per commit is what makes appends fast: a row and one
entry of the ``UNIQUE (stream, last_version)`` index per append, instead of a
row and an index entry per event — in a log of millions of events over many
streams, that per-event index entry (at a random place in a large index) was
most of an append's cost.

Every event still has its own version and position: the events of a commit
take the versions ``first_version..last_version`` and the positions from
``first_position`` on, in order. The trigger ``commits_follow_on`` refuses a
commit that does not start right after its stream's last version, or right
after the log's last position: versions stay contiguous per stream and
positions across the log, so no two events can ever share a version of a
stream — even a writer that skipped the version check cannot store one. The
view ``events`` unrolls the commits into one row per event, with its stream's
name, for a student reading the file with ``sqlite3``; inserting a row into
that view appends it as a commit of one event, through the same trigger.

Format 1, written by earlier evsim, is one row per event in a table
``events`` with ``UNIQUE (stream_id, version)``. A store in that format is
read and appended to in its own layout, never rewritten.
"""

from __future__ import annotations

import sqlite3
from abc import ABC, abstractmethod
from collections.abc import Sequence
from typing import ClassVar, Final

import msgspec

from simulator.store.records import NewEvent, StoredEvent

__all__ = ["COMMIT_SCHEMA", "CommitLog", "LogFormat", "PendingCommit", "RowLog", "log_format"]

StreamKey = int | str
"""How a stream is named in the log: its ``streams.id`` (format 2) or its name (format 1)."""

PendingCommit = tuple[int, StreamKey, int, int, Sequence[NewEvent]]
"""An append on its way to the file: first position, stream key, first version, time, events."""

_LAST_VERSION: Final = 2**62

COMMIT_SCHEMA: Final = (
    """CREATE TABLE streams (
    id        INTEGER PRIMARY KEY,
    stream_id TEXT    NOT NULL UNIQUE
)""",
    """CREATE TABLE commits (
    first_position INTEGER PRIMARY KEY CHECK (first_position >= 1),
    stream         INTEGER NOT NULL,
    first_version  INTEGER NOT NULL CHECK (first_version >= 1),
    last_version   INTEGER NOT NULL CHECK (last_version >= first_version),
    recorded_at_ms INTEGER NOT NULL,
    parts          TEXT    NOT NULL
        CHECK (json_array_length(parts) = last_version - first_version + 1),
    data           BLOB    NOT NULL,
    UNIQUE (stream, last_version)
)""",
    """CREATE TRIGGER commits_follow_on BEFORE INSERT ON commits
BEGIN
    SELECT RAISE(ABORT, 'UNIQUE (stream_id, version): a commit starts after its stream''s last')
    WHERE NEW.first_version != 1 + COALESCE(
        (SELECT MAX(last_version) FROM commits WHERE stream = NEW.stream), 0);
    SELECT RAISE(ABORT, 'global positions: a commit starts right after the log''s last event')
    WHERE NEW.first_position != 1 + COALESCE(
        (SELECT first_position + last_version - first_version FROM commits
         ORDER BY first_position DESC LIMIT 1), 0);
END""",
    """CREATE VIEW events AS
SELECT commits.first_position + part.key AS position,
       streams.stream_id                 AS stream_id,
       commits.first_version + part.key  AS version,
       json_extract(part.value, '$[0]')  AS type,
       json_extract(part.value, '$[1]')  AS schema_version,
       -- an event with no bytes is x'', never NULL
       COALESCE(substr(commits.data, json_extract(part.value, '$[2]') + 1,
                       json_extract(part.value, '$[3]')), x'') AS data,
       commits.recorded_at_ms            AS recorded_at_ms
FROM commits
JOIN streams ON streams.id = commits.stream
JOIN json_each(commits.parts) AS part
ORDER BY commits.first_position, part.key""",
    """CREATE TRIGGER events_insert INSTEAD OF INSERT ON events
BEGIN
    INSERT OR IGNORE INTO streams (stream_id) VALUES (NEW.stream_id);
    INSERT INTO commits
        (first_position, stream, first_version, last_version, recorded_at_ms, parts, data)
    VALUES (
        NEW.position, (SELECT id FROM streams WHERE stream_id = NEW.stream_id),
        NEW.version, NEW.version, NEW.recorded_at_ms,
        json_array(json_array(NEW.type, NEW.schema_version, 0, length(NEW.data))), NEW.data
    );
END""",
)
"""Format 2's log, one statement each (``sqlite.SCHEMA`` adds the metadata and snapshots)."""

_Parts = list[tuple[str, int, int, int]]
_decode_parts = msgspec.json.Decoder(_Parts).decode
_encode = msgspec.json.Encoder().encode


class LogFormat(ABC):
    """What the store needs of a file format: the statements behind each read and write.

    Every method runs on the store's connection inside whatever transaction the
    store has open; none commits.
    """

    format_version: int
    tables: tuple[str, ...]
    """Tables a file of this format must have (besides ``evsim_meta`` and ``snapshots``)."""

    @abstractmethod
    def append_head(
        self, con: sqlite3.Connection, stream_id: str
    ) -> tuple[StreamKey | None, int, int, int]:
        """The stream's key (None: a new stream) and version, the log's head and last time."""

    _LOG_HEAD: ClassVar[str]
    """The select list (and FROM clause) of the log's last position and time."""

    def log_head(self, con: sqlite3.Connection) -> tuple[int, int]:
        """The position and time of the log's last event (0, 0 when empty)."""
        head, last_at_ms = con.execute(f"SELECT {self._LOG_HEAD}").fetchone()
        return head, last_at_ms

    @abstractmethod
    def key_and_version(
        self, con: sqlite3.Connection, stream_id: str
    ) -> tuple[StreamKey | None, int]:
        """The stream's key (None: a new stream) and version."""

    @abstractmethod
    def new_stream(self, con: sqlite3.Connection, stream_id: str) -> StreamKey:
        """Give a stream about to get its first events its key."""

    @abstractmethod
    def write(self, con: sqlite3.Connection, commits: list[PendingCommit]) -> None:
        """Insert the appends, already checked, in order."""

    @abstractmethod
    def read_stream(
        self, con: sqlite3.Connection, stream_id: str, from_version: int, to_version: int | None
    ) -> list[StoredEvent]: ...

    @abstractmethod
    def read_all(
        self, con: sqlite3.Connection, from_position: int, limit: int | None
    ) -> list[StoredEvent]: ...

    @abstractmethod
    def stream_version(self, con: sqlite3.Connection, stream_id: str) -> int: ...

    @abstractmethod
    def head_position(self, con: sqlite3.Connection) -> int: ...

    @abstractmethod
    def stream_ids(self, con: sqlite3.Connection) -> list[str]:
        """Every stream, in the order of its first event."""

    @abstractmethod
    def version_at_position(self, con: sqlite3.Connection, stream_id: str, position: int) -> int:
        """The stream's version once the log up to ``position`` is written."""

    @abstractmethod
    def time_at_position(self, con: sqlite3.Connection, position: int) -> int:
        """``recorded_at_ms`` of the event at ``position`` (1 <= position <= head)."""

    @abstractmethod
    def clear(self, con: sqlite3.Connection) -> None:
        """Delete every event (the snapshots are the store's)."""


def log_format(format_version: int) -> LogFormat:
    """The layout of a store in ``format_version`` (checked by the caller to be known)."""
    return CommitLog() if format_version >= 2 else RowLog()


class CommitLog(LogFormat):
    """Format 2: one row of ``commits`` per append."""

    format_version = 2
    tables = ("commits", "streams")

    _KEY: Final = "(SELECT id FROM streams WHERE stream_id = ?1)"
    _VERSION: Final = f"(SELECT COALESCE(MAX(last_version), 0) FROM commits WHERE stream = {_KEY})"
    _LAST: Final = "FROM commits ORDER BY first_position DESC LIMIT 1"
    _LOG_HEAD = (
        f"COALESCE((SELECT first_position + last_version - first_version {_LAST}), 0), "
        f"COALESCE((SELECT recorded_at_ms {_LAST}), 0)"
    )
    _INSERT: Final = (
        "INSERT INTO commits "
        "(first_position, stream, first_version, last_version, recorded_at_ms, parts, data) "
        "VALUES "
    )
    # 7 parameters a row stays under SQLite's old limit of 999 parameters per statement.
    _ROWS_PER_INSERT: Final = 128
    _SELECT: Final = "SELECT first_position, first_version, recorded_at_ms, parts, data"

    def __init__(self) -> None:
        self._insert_sql: dict[int, str] = {}

    def append_head(
        self, con: sqlite3.Connection, stream_id: str
    ) -> tuple[StreamKey | None, int, int, int]:
        row = con.execute(
            f"SELECT {self._KEY}, {self._VERSION}, {self._LOG_HEAD}", (stream_id,)
        ).fetchone()
        return row[0], row[1], row[2], row[3]

    def key_and_version(
        self, con: sqlite3.Connection, stream_id: str
    ) -> tuple[StreamKey | None, int]:
        key, version = con.execute(f"SELECT {self._KEY}, {self._VERSION}", (stream_id,)).fetchone()
        return key, version

    def new_stream(self, con: sqlite3.Connection, stream_id: str) -> StreamKey:
        cursor = con.execute("INSERT INTO streams (stream_id) VALUES (?)", (stream_id,))
        return int(cursor.lastrowid or 0)

    def write(self, con: sqlite3.Connection, commits: list[PendingCommit]) -> None:
        values: list[object] = []
        try:
            for first_position, key, first_version, at_ms, events in commits:
                parts = []
                offset = 0
                for event in events:
                    size = len(event.data)
                    parts.append((event.type, event.schema_version, offset, size))
                    offset += size
                values += (
                    first_position,
                    key,
                    first_version,
                    first_version + len(events) - 1,
                    at_ms,
                    _encode(parts).decode(),
                    b"".join([event.data for event in events]),
                )
        except (TypeError, msgspec.EncodeError) as error:
            # What SQLite says of a value it cannot bind: the caller's bug, not a bad file.
            raise sqlite3.ProgrammingError(f"an event that cannot be stored ({error})") from None
        chunk = self._ROWS_PER_INSERT * 7
        for start in range(0, len(values), chunk):
            part = values[start : start + chunk]
            rows = len(part) // 7
            sql = self._insert_sql.get(rows)
            if sql is None:
                sql = self._INSERT + ",".join(["(?,?,?,?,?,?,?)"] * rows)
                self._insert_sql[rows] = sql
            con.execute(sql, part)

    def read_stream(
        self, con: sqlite3.Connection, stream_id: str, from_version: int, to_version: int | None
    ) -> list[StoredEvent]:
        last = _LAST_VERSION if to_version is None else to_version
        rows = con.execute(
            f"{self._SELECT} FROM commits WHERE stream = {self._KEY} "
            "AND last_version >= ?2 AND first_version <= ?3 ORDER BY last_version",
            (stream_id, from_version, last),
        ).fetchall()
        events: list[StoredEvent] = []
        for first_position, first_version, at_ms, parts, data in rows:
            for i, (event_type, schema_version, offset, size) in enumerate(_decode_parts(parts)):
                version = first_version + i
                if from_version <= version <= last:
                    events.append(
                        StoredEvent(
                            position=first_position + i,
                            stream_id=stream_id,
                            version=version,
                            type=event_type,
                            schema_version=schema_version,
                            data=data[offset : offset + size],
                            recorded_at_ms=at_ms,
                        )
                    )
        return events

    def read_all(
        self, con: sqlite3.Connection, from_position: int, limit: int | None
    ) -> list[StoredEvent]:
        wanted = _LAST_VERSION if limit is None else max(limit, 0)
        events: list[StoredEvent] = []
        if wanted == 0:
            return events
        # From the commit holding ``from_position``, commit by commit until the page is full.
        cursor = con.execute(
            "SELECT first_position, streams.stream_id, first_version, recorded_at_ms, parts, data "
            "FROM commits JOIN streams ON streams.id = commits.stream "
            "WHERE first_position >= COALESCE((SELECT MAX(first_position) FROM commits "
            "WHERE first_position <= ?1), 0) ORDER BY first_position",
            (from_position,),
        )
        try:
            while rows := cursor.fetchmany(min(max(wanted // 8, 64), 4096)):
                for first_position, stream_id, first_version, at_ms, parts, data in rows:
                    for i, (event_type, schema_version, offset, size) in enumerate(
                        _decode_parts(parts)
                    ):
                        if first_position + i < from_position:
                            continue
                        events.append(
                            StoredEvent(
                                position=first_position + i,
                                stream_id=stream_id,
                                version=first_version + i,
                                type=event_type,
                                schema_version=schema_version,
                                data=data[offset : offset + size],
                                recorded_at_ms=at_ms,
                            )
                        )
                    if len(events) >= wanted:
                        del events[wanted:]
                        return events
        finally:
            cursor.close()  # an unfinished SELECT would hold its read transaction open
        return events

    def stream_version(self, con: sqlite3.Connection, stream_id: str) -> int:
        return int(con.execute(f"SELECT {self._VERSION}", (stream_id,)).fetchone()[0])

    def head_position(self, con: sqlite3.Connection) -> int:
        return int(con.execute(f"SELECT {self._LOG_HEAD}").fetchone()[0])

    def stream_ids(self, con: sqlite3.Connection) -> list[str]:
        # Each stream's first commit through the index, not a scan of the whole log.
        rows = con.execute(
            "SELECT stream_id FROM (SELECT stream_id, (SELECT first_position FROM commits"
            " WHERE commits.stream = streams.id ORDER BY last_version LIMIT 1) AS first"
            " FROM streams) WHERE first IS NOT NULL ORDER BY first"
        ).fetchall()
        return [stream_id for (stream_id,) in rows]

    def version_at_position(self, con: sqlite3.Connection, stream_id: str, position: int) -> int:
        row = con.execute(
            "SELECT first_version + MIN(last_version - first_version, ?2 - first_position) "
            f"FROM commits WHERE stream = {self._KEY} AND first_position <= ?2 "
            "ORDER BY last_version DESC LIMIT 1",
            (stream_id, position),
        ).fetchone()
        return 0 if row is None else int(row[0])

    def time_at_position(self, con: sqlite3.Connection, position: int) -> int:
        row = con.execute(
            "SELECT recorded_at_ms FROM commits WHERE first_position <= ? "
            "ORDER BY first_position DESC LIMIT 1",
            (position,),
        ).fetchone()
        return int(row[0])

    def clear(self, con: sqlite3.Connection) -> None:
        con.execute("DELETE FROM commits")
        con.execute("DELETE FROM streams")


class RowLog(LogFormat):
    """Format 1: one row of ``events`` per event, the stream's name on each."""

    format_version = 1
    tables = ("events",)

    _VERSION: Final = "(SELECT COALESCE(MAX(version), 0) FROM events WHERE stream_id = ?1)"
    _LOG_HEAD = (
        "(SELECT COALESCE(MAX(position), 0) FROM events), "
        "COALESCE((SELECT recorded_at_ms FROM events ORDER BY position DESC LIMIT 1), 0)"
    )
    _COLUMNS: Final = "position, stream_id, version, type, schema_version, data, recorded_at_ms"
    _ROWS_PER_INSERT: Final = 128

    def __init__(self) -> None:
        self._insert_sql: dict[int, str] = {}

    def append_head(
        self, con: sqlite3.Connection, stream_id: str
    ) -> tuple[StreamKey | None, int, int, int]:
        version, head, last_at_ms = con.execute(
            f"SELECT {self._VERSION}, {self._LOG_HEAD}", (stream_id,)
        ).fetchone()
        return stream_id, version, head, last_at_ms

    def key_and_version(
        self, con: sqlite3.Connection, stream_id: str
    ) -> tuple[StreamKey | None, int]:
        return stream_id, self.stream_version(con, stream_id)

    def new_stream(self, con: sqlite3.Connection, stream_id: str) -> StreamKey:
        return stream_id

    def write(self, con: sqlite3.Connection, commits: list[PendingCommit]) -> None:
        values: list[object] = []
        for first_position, key, first_version, at_ms, events in commits:
            for i, event in enumerate(events):
                values += (
                    first_position + i,
                    key,
                    first_version + i,
                    event.type,
                    event.schema_version,
                    event.data,
                    at_ms,
                )
        chunk = self._ROWS_PER_INSERT * 7
        for start in range(0, len(values), chunk):
            part = values[start : start + chunk]
            rows = len(part) // 7
            sql = self._insert_sql.get(rows)
            if sql is None:
                sql = f"INSERT INTO events ({self._COLUMNS}) VALUES " + ",".join(
                    ["(?,?,?,?,?,?,?)"] * rows
                )
                self._insert_sql[rows] = sql
            con.execute(sql, part)

    def read_stream(
        self, con: sqlite3.Connection, stream_id: str, from_version: int, to_version: int | None
    ) -> list[StoredEvent]:
        rows = con.execute(
            f"SELECT {self._COLUMNS} FROM events "
            "WHERE stream_id = ? AND version BETWEEN ? AND ? ORDER BY version",
            (stream_id, from_version, _LAST_VERSION if to_version is None else to_version),
        ).fetchall()
        return _rows_to_events(rows)

    def read_all(
        self, con: sqlite3.Connection, from_position: int, limit: int | None
    ) -> list[StoredEvent]:
        rows = con.execute(
            f"SELECT {self._COLUMNS} FROM events WHERE position >= ? ORDER BY position LIMIT ?",
            (from_position, -1 if limit is None else max(limit, 0)),
        ).fetchall()
        return _rows_to_events(rows)

    def stream_version(self, con: sqlite3.Connection, stream_id: str) -> int:
        return int(con.execute(f"SELECT {self._VERSION}", (stream_id,)).fetchone()[0])

    def head_position(self, con: sqlite3.Connection) -> int:
        return int(con.execute("SELECT COALESCE(MAX(position), 0) FROM events").fetchone()[0])

    def stream_ids(self, con: sqlite3.Connection) -> list[str]:
        rows = con.execute(
            "SELECT stream_id FROM events WHERE version = 1 ORDER BY position"
        ).fetchall()
        return [stream_id for (stream_id,) in rows]

    def version_at_position(self, con: sqlite3.Connection, stream_id: str, position: int) -> int:
        row = con.execute(
            "SELECT COALESCE(MAX(version), 0) FROM events WHERE stream_id = ? AND position <= ?",
            (stream_id, position),
        ).fetchone()
        return int(row[0])

    def time_at_position(self, con: sqlite3.Connection, position: int) -> int:
        row = con.execute("SELECT recorded_at_ms FROM events WHERE position = ?", (position,))
        return int(row.fetchone()[0])

    def clear(self, con: sqlite3.Connection) -> None:
        con.execute("DELETE FROM events")


def _rows_to_events(rows: list[tuple[int, str, int, str, int, bytes, int]]) -> list[StoredEvent]:
    return [
        StoredEvent(
            position=position,
            stream_id=stream_id,
            version=version,
            type=event_type,
            schema_version=schema_version,
            data=data,
            recorded_at_ms=recorded_at_ms,
        )
        for position, stream_id, version, event_type, schema_version, data, recorded_at_ms in rows
    ]
