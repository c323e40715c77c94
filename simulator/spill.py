"""A trace larger than memory: its older records spilled to a file, read back by seq.

Ten million messages make fifty million trace records; held as objects they
need gigabytes. A spilled trace keeps only its newest records in memory and
moves the older ones to a file, a whole *chunk* of ``CHUNK`` records at a
time, in the export format — JSON Lines, one record per line, exactly what
``evsim play --export-trace`` writes — so the file *is* the export and
``evsim view`` plays it. The run still reads an old record now and then (the
checker's end-of-run pass looks up the acknowledgement of a lost message, a
cause chain walks back): an index of one byte offset per chunk finds the
record's chunk in the file, and a small cache of decoded chunks serves its
neighbours without reading the file again.

The digest of a trace is the SHA-256 of its export, so the file's bytes are
hashed as they are written: a spilled trace has the digest of the same trace
held in memory, byte for byte.

Written bytes do not stay in the operating system's page cache: a long run
writes gigabytes it reads back rarely, and a cache that grows with the file
makes every further write dearer (each one takes a fresh page, and a machine
whose memory fills with the file must reclaim it) as well as crowding out
everything else the machine holds. Once the file is ``DROP_BEHIND`` bytes past
a stretch, the stretch is advised away (``posix_fadvise(DONTNEED)``, where
the platform has it): the first advice starts its write-back, a later one,
after the kernel has written it, drops the pages — so a run's page cache stays
a few windows large however long it runs. A read of a dropped chunk goes to
the disk instead; nothing else changes.

``evsim play`` spills the trace of a run whose trace is projected
(``simulator.scenario.validation.projected_records``) at ``SPILL_ABOVE_RECORDS`` records
or more, to an anonymous temporary file, and always when it exports the trace
(``--export-trace``): the export is then written as the run goes.
"""

from __future__ import annotations

import hashlib
import os
from array import array
from collections.abc import Iterator
from typing import BinaryIO

from simulator.trace import Record, Trace, decode_lines, encode_lines

__all__ = [
    "CACHED_CHUNKS",
    "CHUNK",
    "DROP_BEHIND",
    "SPILL_ABOVE_RECORDS",
    "SPILL_EVERY_CHUNKS",
    "SpillFailed",
    "SpillFile",
]

CHUNK = Trace.CHUNK
"""Records per chunk: the unit written to the file, indexed and read back (about 1.7 MB
of JSON for the records of a broker flow)."""

CACHED_CHUNKS = 4
"""Decoded chunks kept for reads by seq: a reader walking back through a cause chain or
scanning a stretch of the run decodes each chunk once."""

DROP_BEHIND = 16 << 20
"""Bytes written last that stay in the page cache: the older ones are advised away.

Each advice covers the stretch written since the last one and the
``_ADVISED_AGAIN`` windows before it, whose pages may still have been on their
way to the disk then (a page under write-back cannot be dropped yet).
"""

_ADVISED_AGAIN = 4

_fadvise = getattr(os, "posix_fadvise", None)

SPILL_EVERY_CHUNKS = 32
"""A spilling run stops to spill whenever this many chunks of records are in memory, and
keeps the newest chunk (the records the run reads back most).

About 40 MB of records wait in memory at most. Spilling in larger batches is cheaper
per record: each spill encodes and frees its records in one stretch, which disturbs
the running simulation's caches once instead of every few chunks (W1 at 1M messages:
7.6 µs a message at 8 chunks, 6.7 at 32, 6.5 at 64, which holds 50 MB more).
"""

SPILL_ABOVE_RECORDS = 500_000
"""A headless play spills the trace of a run projected to write this many records or more.

Held in memory, a broker flow keeps about 230 bytes a record for the whole process;
spilled, 137 at 500,000 records and 88 at 1,000,000 (W1, fresh processes, medians of
three), for 0.98x and 1.13x the CPU time. Below this the records a spilling run holds
before its first spill (``SPILL_EVERY_CHUNKS``) are most of the trace anyway."""


class SpillFailed(Exception):
    """The spill file could not be written or read back (a full disk, a lost file)."""

    def __init__(self, err: OSError) -> None:
        self.reason = err.strerror or str(err)
        super().__init__(self.reason)


class SpillFile:
    """The records that have left memory: whole chunks, in seq order, in one JSON Lines file.

    ``out`` is an empty file open for reading and writing (``w+b``): a
    temporary file, or the temporary file beside an export's target
    (``simulator.files.writing_beside``). The caller owns it, and closes or
    renames it once the trace is finished (``finish``).
    """

    __slots__ = (
        "_advised",
        "_cache",
        "_hash",
        "_out",
        "_starts",
        "_written",
        "chunk",
        "every",
        "finished",
        "records",
    )

    def __init__(self, out: BinaryIO, *, chunk: int = CHUNK, every: int | None = None) -> None:
        self._out = out
        self.chunk = chunk
        """Records per chunk (``CHUNK``; a test spills tiny traces with a smaller one)."""
        self.every = SPILL_EVERY_CHUNKS if every is None else every
        """Chunks a run holds in memory before it spills (``SPILL_EVERY_CHUNKS``)."""
        self._starts = array("q", [0])
        """Byte offset of each chunk in the file; the last entry is where spilled bytes end."""
        self._written = 0
        """Bytes written so far: the spilled chunks, then (once finished) the in-memory rest."""
        self._advised = 0
        """Bytes advised out of the page cache (``DROP_BEHIND``) the last time."""
        self._hash = hashlib.sha256()
        """Of every byte written, in order."""
        self._cache: dict[int, list[Record]] = {}
        """Decoded chunks by number, least recently read first."""
        self.records = 0
        """Records spilled (a multiple of ``CHUNK``): seqs below this live in the file."""
        self.finished = False

    def spill(self, records: list[Record]) -> None:
        """Append whole chunks of records, the seqs following those already spilled."""
        chunk = self.chunk
        if len(records) % chunk or self.finished:
            raise RuntimeError("spill: whole chunks only, and only before the trace is finished")
        starts = self._starts
        for start in range(0, len(records), chunk):
            self._write(encode_lines(records[start : start + chunk]))
            starts.append(self._written)
        self.records += len(records)

    def finish(self, tail: list[Record]) -> None:
        """Write the records still in memory after the spilled ones, and make the file durable.

        The file then holds the whole trace, as an export does; the records of
        ``tail`` stay where they are, in memory, readable by seq as before.
        """
        if self.finished:
            return
        chunk = self.chunk
        for start in range(0, len(tail), chunk):
            self._write(encode_lines(tail[start : start + chunk]))
        self.finished = True
        try:
            self._out.flush()
            os.fsync(self._out.fileno())
        except OSError as err:
            raise SpillFailed(err) from err

    def _write(self, data: bytes) -> None:
        """The one place bytes go to the file (a read in between may have moved its position)."""
        out = self._out
        try:
            out.seek(self._written)
            out.write(data)
        except OSError as err:
            raise SpillFailed(err) from err
        self._written += len(data)
        self._hash.update(data)
        if self._written - self._advised >= 2 * DROP_BEHIND:
            self._drop_behind()

    def _drop_behind(self) -> None:
        """Advise the page cache to let go of what was written before the last window."""
        upto = self._written - DROP_BEHIND
        start = max(0, self._advised - _ADVISED_AGAIN * DROP_BEHIND)
        self._advised = upto
        fadvise = _fadvise
        if fadvise is None:
            return
        try:
            self._out.flush()
            fadvise(self._out.fileno(), start, upto - start, os.POSIX_FADV_DONTNEED)
        except (OSError, ValueError):  # io.UnsupportedOperation is both
            # Advice is only advice: a file without a descriptor, or a system that
            # refuses it, keeps its pages cached as before.
            pass

    def digest(self, tail: list[Record]) -> str:
        """SHA-256 (hex) of the export: the bytes spilled, then ``tail`` (unless written too)."""
        if self.finished:
            return self._hash.hexdigest()
        h = self._hash.copy()
        chunk = self.chunk
        for start in range(0, len(tail), chunk):
            h.update(encode_lines(tail[start : start + chunk]))
        return h.hexdigest()

    def _read(self, chunk: int) -> bytes:
        start, end = self._starts[chunk], self._starts[chunk + 1]
        try:
            self._out.seek(start)
            data = self._out.read(end - start)
        except OSError as err:
            raise SpillFailed(err) from err
        if len(data) != end - start:
            raise SpillFailed(OSError(f"chunk {chunk} of the spilled trace is cut short"))
        return data

    def chunk_records(self, number: int) -> list[Record]:
        """The records of chunk ``number`` (seqs ``number * chunk`` on), through the cache."""
        cache = self._cache
        records = cache.pop(number, None)
        if records is None:
            records = decode_lines(self._read(number))
            if len(cache) >= CACHED_CHUNKS:
                del cache[next(iter(cache))]
        cache[number] = records
        return records

    def record(self, seq: int) -> Record:
        """The spilled record with this seq (``0 <= seq < records``)."""
        if not 0 <= seq < self.records:
            raise IndexError(f"seq {seq} is not in the spill file")
        return self.chunk_records(seq // self.chunk)[seq % self.chunk]

    def chunks_of_bytes(self) -> Iterator[bytes]:
        """The spilled part of the export, chunk by chunk, as read back from the file."""
        for number in range(len(self._starts) - 1):
            yield self._read(number)

    def __iter__(self) -> Iterator[Record]:
        """Every spilled record in seq order, decoded a chunk at a time (the cache left as is)."""
        for number in range(len(self._starts) - 1):
            cached = self._cache.get(number)
            yield from cached if cached is not None else decode_lines(self._read(number))
