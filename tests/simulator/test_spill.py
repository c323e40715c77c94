"""A spilled trace is the trace held in memory: same records by seq, same export, same digest.

Every built-in lesson is played with a spill file of tiny chunks (so even a
short lesson spills many times) and compared with the golden digest and with
the same run held in memory; then the spill file itself — index, cache, the
export it becomes, a write that fails — and the run's memory, which stays
bounded however long the trace grows.
"""

from __future__ import annotations

import errno
import io
import itertools
import json
import os
import tempfile
from collections.abc import Iterator
from pathlib import Path

import pytest
from conftest import scenario_from

from simulator import spill as spill_module
from simulator.scenario import builtin_names, builtin_path, load_scenario
from simulator.simulation import Simulation
from simulator.spill import CACHED_CHUNKS, SpillFailed, SpillFile
from simulator.trace import Trace

GOLDEN: dict[str, str] = json.loads(
    Path(__file__).with_name("golden_digests.json").read_text(encoding="utf-8")
)
SCENARIOS = builtin_names()
TINY = 8
"""Records per chunk in these tests: a lesson of 65 records or more spills."""
EVERY = 8
"""Chunks held before a spill in these tests (a run holds ``SPILL_EVERY_CHUNKS``)."""


@pytest.fixture
def spill_file() -> Iterator[io.BufferedRandom]:
    with tempfile.TemporaryFile() as out:
        yield out


def _spilled(name: str, out: io.BufferedRandom, *, stepped: bool = False) -> Simulation:
    sim = Simulation(
        load_scenario(builtin_path(name)), spill=SpillFile(out, chunk=TINY, every=EVERY)
    )
    if stepped:
        while not sim.finished:
            sim.step()
    else:
        sim.run()
    return sim


@pytest.mark.parametrize("name", SCENARIOS)
def test_every_lesson_spilled_keeps_its_golden_digest_and_its_records(
    name: str, spill_file: io.BufferedRandom
) -> None:
    spilled = _spilled(name, spill_file)
    held = Simulation(load_scenario(builtin_path(name))).run()
    trace = spilled.trace
    assert trace.digest() == GOLDEN[name] == held.digest()
    if len(held) > EVERY * TINY:
        assert trace.offset > 0, "the run never spilled"
    assert len(trace) == len(held)
    assert list(trace) == held.records
    assert [trace[seq] for seq in range(0, len(held), 7)] == held.records[::7]
    trace.finish_file()
    spill_file.seek(0)
    assert spill_file.read() == b"".join(held.jsonl_chunks())  # the file is the export
    assert trace.digest() == GOLDEN[name]


@pytest.mark.parametrize("name", SCENARIOS[::6])
def test_a_spilled_run_played_step_by_step_is_the_same_run(
    name: str, spill_file: io.BufferedRandom
) -> None:
    sim = _spilled(name, spill_file, stepped=True)
    assert sim.trace.digest() == GOLDEN[name]


@pytest.mark.parametrize("name", SCENARIOS[::6])
def test_iterating_a_spilling_simulation_yields_every_record_once_in_order(
    name: str, spill_file: io.BufferedRandom
) -> None:
    sim = Simulation(
        load_scenario(builtin_path(name)), spill=SpillFile(spill_file, chunk=TINY, every=EVERY)
    )
    seen = [r.seq for r in sim]
    assert seen == list(range(len(sim.trace)))
    assert sim.trace.digest() == GOLDEN[name]


BIG = """
[[topics]]
name = "orders"
partitions = 4
[[producers]]
name = "p"
topic = "orders"
[[groups]]
name = "g"
topic = "orders"
consumers = 2
auto_offset_reset = "earliest"
commit = "after-process"
max_poll_records = 20
[[workload.generators]]
producer = "p"
count = 2000
keys = 50
rate_per_s = 10000
"""


def test_a_spilled_run_holds_a_bounded_tail_however_long_its_trace(
    spill_file: io.BufferedRandom,
) -> None:
    sim = Simulation(scenario_from(BIG), spill=SpillFile(spill_file, chunk=TINY, every=EVERY))
    most = 0
    while not sim.finished:
        sim.run_for(50)
        most = max(most, len(sim.trace.tail))
    assert len(sim.trace) > 50 * EVERY * TINY
    # A slice stops at a spill point or after 50 records, up to one action's records past it
    # (a fetch of up to max_poll_records, a producer's batch of acknowledgements).
    assert most <= EVERY * TINY + 50 + 60
    assert sim.trace.offset == len(sim.trace) - len(sim.trace.tail)
    assert sim.trace.digest() == Simulation(scenario_from(BIG)).run().digest()


def _trace_of(records: int, out: io.BufferedRandom) -> tuple[Trace, Trace]:
    """The same records in a trace held in memory and in one spilled all but its last chunk."""
    held = Simulation(scenario_from(BIG)).run()
    kept = held.records[:records]
    spilled = Trace(kept, spill=SpillFile(out, chunk=TINY, every=EVERY))
    spilled.spill_finished(TINY)
    return Trace(kept), spilled


def test_a_record_read_back_by_seq_is_the_record_written(spill_file: io.BufferedRandom) -> None:
    held, spilled = _trace_of(100, spill_file)
    assert spilled.offset == 88 and len(spilled.tail) == 12
    for seq in (0, 7, 8, 87, 88, 99, -1, -13, -100):
        assert spilled[seq] == held[seq]
    assert spilled[5:20] == held[5:20] and spilled[90:] == held[90:]
    for seq in (100, -101):
        with pytest.raises(IndexError):
            spilled[seq]
    assert spilled.causes(99) == held.causes(99)


def test_neighbours_in_a_chunk_are_read_from_the_file_once(
    spill_file: io.BufferedRandom, monkeypatch: pytest.MonkeyPatch
) -> None:
    _, spilled = _trace_of(100, spill_file)
    reads: list[int] = []
    spill = spilled.spill
    assert spill is not None
    read = SpillFile._read
    monkeypatch.setattr(SpillFile, "_read", lambda self, n: reads.append(n) or read(self, n))
    for seq in range(87, -1, -1):  # a walk back through the whole spilled part
        spilled[seq]
    assert reads == list(range(10, -1, -1))
    for seq in range(TINY * CACHED_CHUNKS):  # the chunks it read last are still cached
        spilled[seq]
    assert reads == list(range(10, -1, -1))
    spilled[87]
    assert reads[-1] == 10, "a chunk read long ago has left the cache"


def test_a_spilled_trace_is_read_by_seq_not_handed_out_as_a_list(
    spill_file: io.BufferedRandom,
) -> None:
    _, spilled = _trace_of(100, spill_file)
    with pytest.raises(RuntimeError, match="read by seq"):
        _ = spilled.records


def test_only_whole_chunks_are_spilled_and_none_once_finished(
    spill_file: io.BufferedRandom,
) -> None:
    held, spilled = _trace_of(100, spill_file)
    spill = spilled.spill
    assert spill is not None
    with pytest.raises(RuntimeError, match="whole chunks"):
        spill.spill(held.records[:3])
    spilled.finish_file()
    with pytest.raises(RuntimeError, match="whole chunks"):
        spill.spill(held.records[:TINY])


class FullDisk(io.BytesIO):
    def write(self, data: object) -> int:
        raise OSError(errno.ENOSPC, "No space left on device")


def test_a_spill_that_cannot_be_written_says_why() -> None:
    sim = Simulation(scenario_from(BIG), spill=SpillFile(FullDisk(), chunk=TINY, every=EVERY))
    with pytest.raises(SpillFailed) as failed:
        sim.run()
    assert failed.value.reason == "No space left on device"


@pytest.mark.parametrize("cut", ["max_records = 500", "until_ms = 150"])
def test_a_spilled_run_cut_short_ends_where_the_run_in_memory_ends(
    cut: str, spill_file: io.BufferedRandom
) -> None:
    held = Simulation(scenario_from(f"{cut}\n{BIG}"))
    held.run()
    spilled = Simulation(
        scenario_from(f"{cut}\n{BIG}"), spill=SpillFile(spill_file, chunk=TINY, every=EVERY)
    )
    spilled.run()
    assert spilled.trace.offset > 0
    assert spilled.finish_reason == held.finish_reason != "quiescent"
    assert spilled.kernel.now_ms == held.kernel.now_ms
    assert spilled.trace.digest() == held.trace.digest()


@pytest.mark.skipif(
    not hasattr(os, "posix_fadvise"), reason="this system has no posix_fadvise (Linux has)"
)
def test_written_bytes_leave_the_page_cache_behind_the_newest_window(
    spill_file: io.BufferedRandom, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Every byte but the newest window is advised away, more than once; reads still work."""
    window = 4096
    monkeypatch.setattr(spill_module, "DROP_BEHIND", window)
    advised: list[tuple[int, int]] = []
    fadvise = os.posix_fadvise

    def record(fd: int, start: int, length: int, advice: int) -> None:
        assert advice == os.POSIX_FADV_DONTNEED
        # The file is flushed first: its size is what has been written so far.
        assert os.fstat(fd).st_size - (start + length) >= window, "the newest window stays"
        advised.append((start, start + length))
        fadvise(fd, start, length, advice)

    monkeypatch.setattr(spill_module, "_fadvise", record)
    held = Simulation(scenario_from(BIG)).run()
    sim = Simulation(scenario_from(BIG), spill=SpillFile(spill_file, chunk=TINY, every=EVERY))
    sim.run()
    sim.trace.finish_file()
    size = os.fstat(spill_file.fileno()).st_size
    assert size > 20 * window and len(advised) > 5
    assert all(end <= size and end - start > 0 for start, end in advised)
    # Each advice stops a window short of the bytes written so far, and the advices
    # cover the file from its first byte, each stretch again after it was first advised.
    assert advised[0][0] == 0
    for (_, end), (next_start, next_end) in itertools.pairwise(advised):
        assert next_start <= end < next_end
        assert next_start < end - window or next_start == 0
    assert size - advised[-1][1] < 2 * window, "no more than two windows are left cached"
    assert sim.trace.digest() == held.digest()
    assert [sim.trace[seq] for seq in range(len(held))] == held.records


def test_a_file_that_refuses_the_advice_is_written_all_the_same(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(spill_module, "DROP_BEHIND", 1024)
    out = io.BytesIO()  # no descriptor: fileno() raises
    sim = Simulation(scenario_from(BIG), spill=SpillFile(out, chunk=TINY, every=EVERY))
    sim.run()
    assert sim.trace.digest() == Simulation(scenario_from(BIG)).run().digest()
