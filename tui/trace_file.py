"""A trace file read through an index: traces bigger than memory, played from disk.

An exported trace is JSON Lines, one record per line, ``seq`` counting from 0 —
so record ``n`` is line ``n + 1``. ``TraceFile`` keeps one byte offset per
chunk of ``CHUNK`` records (8 bytes per thousand records) and decodes a chunk
when a panel asks for one of its records, keeping the few chunks used last
(``CACHED_CHUNKS``), as a database keeps an index and a page cache rather than
the table in memory.

``FileIndexer`` builds that index in one pass over the file: it reads large
blocks, finds where each chunk's lines end (counting newlines, no object per
line), checks the chunk as ``tui.runs.load_trace`` checks a line (a record,
``seq`` next, ``cause_seq`` pointing back, no control character, no line over
the cap), folds it into the player's checkpoints (``tui.player.IndexBuilder``,
one per ``CHECKPOINT_EVERY`` records, packed by ``PackedCheckpoints``) and only
then makes its records visible. The first chunk is read before the TUI starts,
so its first frame needs no more than that; the rest is read in a worker while
the player already plays what has been read. A bad line stops the pass there:
the records before it stay playable and ``error`` names the file and the line.
Nothing is written beside the trace: the index lives in memory and is rebuilt
on each opening.
"""

from __future__ import annotations

import gc
import os
import threading
import zlib
from array import array
from collections import OrderedDict
from collections.abc import Callable, Iterator, Sequence
from pathlib import Path
from typing import Any, overload

import msgspec

from simulator.errors import InputError
from simulator.files import open_regular
from simulator.trace import Record, TraceRecord
from tui.fold import InFlight, ViewState, initial_state
from tui.player import SAMPLES, IndexBuilder, TraceIndex

__all__ = ["CHECKPOINT_EVERY", "CHUNK", "FileIndexer", "TraceFile"]

CHUNK = 1024
"""Records per chunk: one byte offset each, the unit read and decoded at once."""
CHECKPOINT_EVERY = 4 * CHUNK
"""Records between two fold checkpoints: a seek folds at most 4,095 records on one (a few
milliseconds), and a W1 checkpoint (~20 KB, its unacknowledged sends packed into ~20 KB
more) costs about 10 bytes per record. Measured on W1 (resident memory of the whole
index): every 2,048 records, ~40 B per record for seeks about 1.4x as fast as here (~27)."""
CACHED_CHUNKS = 8
"""Decoded chunks kept (the trace log, the sequence view and a step back share them)."""
BLOCK_BYTES = 4 << 20
"""The indexing pass reads the file this many bytes at a time."""

_decoder: msgspec.json.Decoder[Any] = msgspec.json.Decoder(TraceRecord)


class TraceFile(Sequence[Record]):
    """The records of a trace file, ``records[seq]``, decoded from disk on demand.

    Its length is what the indexer has read and checked so far; it only grows.
    Safe to read from one thread while ``FileIndexer`` extends it from another.
    """

    def __init__(self, path: Path) -> None:
        self.path = path
        self._stream = open_regular(path, "a trace file")
        self.size = os.fstat(self._stream.fileno()).st_size
        self.offsets = array("q", [0])
        """``offsets[k]``: where record ``k * CHUNK`` starts (one entry per chunk read)."""
        self.end = 0
        """Where the last record read so far ends."""
        self._count = 0
        self._cache: OrderedDict[int, list[Record]] = OrderedDict()
        self._lock = threading.Lock()

    def __len__(self) -> int:
        return self._count

    def extend(self, records: int, nbytes: int) -> None:
        """The indexer read ``records`` more records, ``nbytes`` bytes of the file."""
        self.end += nbytes
        self._count += records
        if self._count % CHUNK == 0 and records:
            self.offsets.append(self.end)

    def close(self) -> None:
        self._stream.close()

    def chunk(self, k: int) -> list[Record]:
        """The records of chunk ``k``, decoded once and kept while they are used."""
        with self._lock:
            found = self._cache.get(k)
            if found is not None:
                self._cache.move_to_end(k)
                return found
        records = self._read(k)
        with self._lock:
            self._cache[k] = records
            if len(self._cache) > CACHED_CHUNKS:
                self._cache.popitem(last=False)
        return records

    def _read(self, k: int) -> list[Record]:
        count = self._count
        offsets = self.offsets
        start = offsets[k]
        stop = offsets[k + 1] if k + 1 < len(offsets) else self.end
        data = os.pread(self._stream.fileno(), stop - start, start)
        try:
            records: list[Record] = _decoder.decode_lines(data)
        except (msgspec.DecodeError, RecursionError, UnicodeDecodeError):
            records = []
        expected = min(CHUNK, count - k * CHUNK)
        if len(data) != stop - start or len(records) != expected:
            raise InputError(
                str(self.path), f"line {k * CHUNK + 1}", "the file changed while it was open"
            )
        return records

    @overload
    def __getitem__(self, i: int) -> Record: ...
    @overload
    def __getitem__(self, i: slice) -> list[Record]: ...
    def __getitem__(self, i: int | slice) -> Record | list[Record]:
        n = self._count
        if isinstance(i, slice):
            start, stop, step = i.indices(n)
            if step != 1:
                return [self[j] for j in range(start, stop, step)]
            out: list[Record] = []
            while start < stop:
                k, at = divmod(start, CHUNK)
                part = self.chunk(k)[at : at + stop - start]
                out += part
                start += len(part)
            return out
        if i < 0:
            i += n
        if not 0 <= i < n:
            raise IndexError(i)
        k, at = divmod(i, CHUNK)
        return self.chunk(k)[at]

    def __iter__(self) -> Iterator[Record]:
        """Every record read so far, in order (a filter's pass: read, not kept)."""
        k = 0
        while k * CHUNK < self._count:
            with self._lock:
                cached = self._cache.get(k)
            yield from cached if cached is not None else self._read(k)
            k += 1


class PackedCheckpoints:
    """Fold checkpoints with each producer's unacknowledged sends packed (msgpack, zlib).

    Those sends are most of a busy run's checkpoint (thousands of them, each with its
    key) and the rest is a few dozen bounded tables, so packing them keeps a trace
    file's index a few bytes per record; a seek unpacks one checkpoint.
    """

    def __init__(self, first: ViewState) -> None:
        self._states: list[ViewState] = []
        self._sends: list[bytes] = []
        self._last: tuple[int, ViewState] | None = None
        """The checkpoint unpacked last (a seek reads one, never changes it: it folds a copy)."""
        self.append(first)

    def __len__(self) -> int:
        return len(self._states)

    def append(self, state: ViewState) -> None:
        """Keep ``state`` (a copy no one else holds: its producers' sends are packed away)."""
        sends = [(name, list(p.in_flight.items())) for name, p in state.producers.items()]
        packed = b""
        if any(items for _, items in sends):
            packed = zlib.compress(_pack.encode(sends), 1)
            for p in state.producers.values():
                p.in_flight = {}
        self._sends.append(packed)
        self._states.append(state)

    def __getitem__(self, k: int) -> ViewState:
        state, packed = self._states[k], self._sends[k]
        if not packed:
            return state
        last = self._last
        if last is not None and last[0] == k:  # a step back: the checkpoint of the seek before
            return last[1]
        out = state.copy()
        for name, items in _unpack.decode(zlib.decompress(packed)):
            out.producers[name].in_flight = dict(items)
        self._last = (k, out)
        return out


_pack = msgspec.msgpack.Encoder()
_unpack = msgspec.msgpack.Decoder(list[tuple[str, list[tuple[int, InFlight]]]])


class FileIndexer:
    """One pass over a trace file: checks it, indexes it, folds it — one chunk at a time."""

    def __init__(self, path: str | Path) -> None:
        self.path = Path(path)
        self.records = TraceFile(self.path)
        self.index = TraceIndex(
            self.records,
            CHECKPOINT_EVERY,
            PackedCheckpoints(initial_state()),
            sample_every=1,
            complete=False,
        )
        self._builder = IndexBuilder(self.index)
        self._reader = open_regular(self.path, "a trace file")
        self._buf = b""
        """The file's bytes read and not indexed yet start at ``_pos``."""
        self._pos = 0
        self._eof = False
        self._line_bytes = 256.0
        """Bytes per line so far: where to look for the end of the next chunk."""
        self.error: InputError | None = None
        """The bad line the pass stopped at (the records before it play)."""
        self.warning: str | None = None
        """The last line was cut off mid-record (a run interrupted while exporting)."""

    @property
    def done(self) -> bool:
        return self.index.complete

    @property
    def fraction(self) -> float:
        """How much of the file has been read (0 to 1)."""
        size = self.records.size
        return 1.0 if self.done or not size else min(1.0, self.records.end / size)

    def estimated_total(self) -> int:
        """Records in the whole file, from the bytes per record read so far."""
        records = self.records
        if self.done or not records.end:
            return len(records)
        return max(len(records), round(len(records) * records.size / records.end))

    def head(self) -> None:
        """Read the first chunk; a bad line there raises (``evsim view`` exits 2)."""
        self.step()
        if self.error is not None:
            self.close()
            raise self.error
        if not self.records:
            self.close()
            raise InputError(str(self.path), "", "no trace records in the file")

    def run(
        self,
        progress: Callable[[], None] | None = None,
        cancelled: Callable[[], bool] | None = None,
        every: int = 64,
        on_chunk: Callable[[list[Record]], None] | None = None,
    ) -> None:
        """Read to the end (or the first bad line); ``progress`` every ``every`` chunks,
        ``on_chunk`` with each chunk's records once they are visible."""
        chunks = 0
        while not self.done:
            if cancelled is not None and cancelled():
                return
            records = self.step()
            if on_chunk is not None:
                on_chunk(records)
            chunks += 1
            if progress is not None and chunks % every == 0 and not self.done:
                progress()

    def close(self) -> None:
        self._reader.close()
        self.records.close()

    def step(self) -> list[Record]:
        """Index the next chunk (fewer records at the end of the file or before a bad line)."""
        if self.done:
            return []
        data, lines = self._take(CHUNK - len(self.records) % CHUNK)
        if lines and not self.records:
            # Sparklines take about SAMPLES samples over the whole trace, as for a trace in
            # memory: the file's length in records, guessed from its first lines.
            guess = round(self.records.size * lines / len(data))
            self.index.sample_every = max(1, guess // SAMPLES)
        records, nbytes = self._check(data, lines)
        self._builder.add(records)
        self.records.extend(len(records), nbytes)
        if self.error is not None or self.warning is not None or self._at_end():
            self._builder.finish()
            self.index.complete = True
            self._reader.close()
            self._buf = b""
            gc.freeze()
        elif len(self.records) % (256 * CHUNK) == 0 or len(self.records) == CHUNK:
            # What a view asks of the whole run (its consumer groups) until the end is read.
            checkpoints = self.index.checkpoints
            self.index.final = checkpoints[len(checkpoints) - 1]
            # The index lives as long as the player: out of the collector's full passes,
            # which would otherwise walk every checkpoint (a pause of tens of ms mid-seek).
            gc.freeze()
        return records

    # -- reading and checking ---------------------------------------------------------------

    def _at_end(self) -> bool:
        return self._eof and self._pos == len(self._buf)

    def _take(self, n: int) -> tuple[memoryview, int]:
        """The bytes of the next ``n`` lines and how many whole lines they hold (fewer at the
        end of the file, where a last line without its newline comes too)."""
        from tui.runs import MAX_LINE_BYTES

        buf, pos = self._buf, self._pos
        while True:
            end = _after_lines(buf, pos, n, int(n * self._line_bytes))
            if end is not None:
                lines = n
                break
            if self._eof:
                end = len(buf)
                lines = buf.count(b"\n", pos, end)
                break
            if len(buf) - max(pos, buf.rfind(b"\n", pos) + 1) > MAX_LINE_BYTES:
                # A line longer than any record, still going: checked (and refused) as it is.
                end, lines = len(buf), buf.count(b"\n", pos)
                self._eof = True
                break
            try:
                block = self._reader.read(BLOCK_BYTES)
            except OSError as err:
                raise InputError(str(self.path), "", err.strerror or "cannot read file") from None
            if block:
                buf, pos = buf[pos:] + block, 0
            else:
                self._eof = True
            self._buf, self._pos = buf, pos
        self._pos = end
        if lines:
            self._line_bytes = (end - pos) / lines
        return memoryview(buf)[pos:end], lines

    def _check(self, data: memoryview, lines: int) -> tuple[list[Record], int]:
        """The records in ``data`` and their bytes; on a bad line, those before it."""
        from tui.runs import _MAYBE_CONTROL, MAX_LINE_BYTES

        first = len(self.records)
        if (
            lines
            and len(data) > 0
            and data[-1] == 10  # the last line is whole
            and (len(data) <= MAX_LINE_BYTES or _longest_line(data) <= MAX_LINE_BYTES)
            and _MAYBE_CONTROL.search(data) is None
        ):
            try:
                records: list[Record] = _decoder.decode_lines(data)
            except (msgspec.DecodeError, RecursionError, UnicodeDecodeError):
                records = []
            if len(records) == lines and all(
                r.seq == first + i and (r.cause_seq is None or 0 <= r.cause_seq < r.seq)
                for i, r in enumerate(records)
            ):
                return records, len(data)
        return self._check_lines(bytes(data), first)

    def _check_lines(self, data: bytes, first: int) -> tuple[list[Record], int]:
        """Something is off in this chunk (or it ends the file): check it line by line."""
        from tui.runs import MAX_LINE_BYTES, check_line

        pieces = data.split(b"\n")
        tail = pieces.pop()  # b"" when the chunk ends with its newline
        lines = [(line, True) for line in pieces]
        if tail.strip():
            lines.append((tail, False))
        records: list[Record] = []
        nbytes = 0
        for line, complete in lines:
            number = first + len(records) + 1
            try:
                if len(line) > MAX_LINE_BYTES:
                    raise InputError(
                        str(self.path), f"line {number}", f"longer than {MAX_LINE_BYTES:,} bytes"
                    )
                record = check_line(
                    self.path, number, line + b"\n" * complete, len(records) + first
                )
            except InputError as err:
                self.error = err
                break
            if record is None:  # the last line, cut off mid-record
                self.warning = (
                    f"{self.path}: line {number} is cut off mid-record; "
                    f"playing the {first + len(records):,} whole records before it"
                )
                break
            records.append(record)
            nbytes += len(line) + complete
        return records, nbytes


def _longest_line(data: memoryview) -> int:
    return max(map(len, bytes(data).split(b"\n")))


def _after_lines(buf: bytes, pos: int, n: int, guess: int) -> int | None:
    """Where the ``n``-th line from ``pos`` ends (just past its newline), or None if ``buf``
    holds fewer. Counting newlines up to a guess and walking the few lines it is off by
    keeps the lines uncut: no object per line, only the chunk's bytes."""
    end = min(len(buf), pos + max(1, guess))
    count = buf.count(b"\n", pos, end)
    while count > n:  # the guess went too far: step back over whole lines
        end = buf.rfind(b"\n", pos, end)
        count -= 1
    if count == n:
        return buf.rfind(b"\n", pos, end) + 1
    while count < n:
        found = buf.find(b"\n", end)
        if found < 0:
            return None
        end = found + 1
        count += 1
    return end
