"""A store file as evsim wrote it before format 2: one ``events`` row per event.

The statements are copied from the format-1 ``SCHEMA`` (not imported: the point
is a file the old code wrote), so the tests can prove that such a file still
opens, reads and takes appends in its own layout.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Sequence
from pathlib import Path

FORMAT_1_SCHEMA = """
CREATE TABLE IF NOT EXISTS evsim_meta (
    key   TEXT PRIMARY KEY,
    value TEXT NOT NULL
);
INSERT OR IGNORE INTO evsim_meta (key, value) VALUES
    ('format', 'evsim-event-store'),
    ('format_version', '1');
CREATE TABLE IF NOT EXISTS events (
    position       INTEGER PRIMARY KEY CHECK (position >= 1),
    stream_id      TEXT    NOT NULL,
    version        INTEGER NOT NULL CHECK (version >= 1),
    type           TEXT    NOT NULL,
    schema_version INTEGER NOT NULL,
    data           BLOB    NOT NULL,
    recorded_at_ms INTEGER NOT NULL,
    UNIQUE (stream_id, version)
);
CREATE TABLE IF NOT EXISTS snapshots (
    stream_id      TEXT    PRIMARY KEY,
    version        INTEGER NOT NULL,
    schema_version INTEGER NOT NULL,
    state          BLOB    NOT NULL
);
"""


def write_format_1_store(path: Path, rows: Sequence[tuple[str, int, str, bytes, int]] = ()) -> None:
    """A format-1 store at ``path`` holding ``rows`` (stream, version, type, data, time)."""
    con = sqlite3.connect(path)
    try:
        con.executescript(FORMAT_1_SCHEMA)
        con.execute("PRAGMA journal_mode = WAL")
        con.executemany(
            "INSERT INTO events (position, stream_id, version, type, schema_version, data,"
            " recorded_at_ms) VALUES (?, ?, ?, ?, 1, ?, ?)",
            [(position, *row) for position, row in enumerate(rows, start=1)],
        )
        con.commit()
    finally:
        con.close()
