"""A trace file too big to hold plays through its index, as the same trace in memory plays."""

from __future__ import annotations

import random
from collections.abc import Callable
from pathlib import Path
from typing import Any

import msgspec
import pytest
from typer.testing import CliRunner

from cli import app as cli_app
from simulator.errors import InputError
from simulator.scenario import Scenario
from simulator.simulation import Simulation
from simulator.trace import Record, Trace
from tui.app import EvsimApp
from tui.player import Player, build_index
from tui.runs import load_trace
from tui.screens.dialogs import WhyDialog, why_chain
from tui.screens.simulation import SimulationScreen, filter_seqs
from tui.trace_file import CHECKPOINT_EVERY, CHUNK, FileIndexer
from tui.widgets.sequence import SequenceView
from tui.widgets.timeline import TraceLog

Make = Callable[..., EvsimApp]


def _long_trace(lesson: Scenario, copies: int) -> list[Record]:
    """The lesson's run, ``copies`` times over, renumbered: several chunks, with findings."""
    run = Simulation(lesson).run().records
    out: list[Record] = []
    for c in range(copies):
        shift = c * len(run)
        for r in run:
            cause = r.cause_seq + shift if r.cause_seq is not None else None
            out.append(msgspec.structs.replace(r, seq=r.seq + shift, cause_seq=cause))
    return out


@pytest.fixture(scope="module")
def long_records(lesson: Scenario) -> list[Record]:
    records = _long_trace(lesson, 30)
    assert len(records) > 2 * CHECKPOINT_EVERY and len(records) % CHUNK
    return records


@pytest.fixture
def long_file(long_records: list[Record], tmp_path: Path) -> Path:
    path = tmp_path / "long.jsonl"
    path.write_bytes(b"".join(Trace(long_records).jsonl_chunks()))
    return path


def _indexed(path: Path) -> FileIndexer:
    indexer = FileIndexer(path)
    indexer.head()
    indexer.run()
    return indexer


def test_records_read_through_the_index_are_the_records_in_the_file(
    long_file: Path, long_records: list[Record]
) -> None:
    indexer = _indexed(long_file)
    records = indexer.records
    assert indexer.done and indexer.error is None and indexer.warning is None
    assert len(records) == len(long_records)
    assert records[0] == long_records[0] and records[-1] == long_records[-1]
    assert records[CHUNK - 3 : 2 * CHUNK + 5] == long_records[CHUNK - 3 : 2 * CHUNK + 5]
    assert list(records) == long_records
    with pytest.raises(IndexError):
        records[len(long_records)]


def test_the_file_index_folds_to_the_same_states_as_the_trace_in_memory(
    long_file: Path, long_records: list[Record]
) -> None:
    indexer = _indexed(long_file)
    memory = build_index(long_records, every=CHECKPOINT_EVERY)
    on_disk = indexer.index
    kept = len(memory.checkpoints)
    assert len(on_disk.checkpoints) == kept
    assert [on_disk.checkpoints[k] for k in range(kept)] == [
        memory.checkpoints[k] for k in range(kept)
    ]
    assert on_disk.final == memory.final
    assert (on_disk.faults, on_disk.findings, on_disk.marks) == (
        memory.faults,
        memory.findings,
        memory.marks,
    )
    assert on_disk.findings and on_disk.first_kind == memory.first_kind
    from_disk, in_memory = Player(on_disk), Player(memory)
    rng = random.Random(19)
    for _ in range(40):
        target = rng.randrange(len(long_records) + 1)
        assert from_disk.seek(target) == in_memory.seek(target)
        assert from_disk.back() == in_memory.back()


def test_the_why_walk_reads_a_finding_s_causes_from_the_file(
    long_file: Path, long_records: list[Record]
) -> None:
    indexer = _indexed(long_file)
    finding = indexer.index.findings[-1]
    assert why_chain(indexer.records, finding) == why_chain(long_records, finding)


def test_a_bad_line_deep_in_the_file_stops_the_index_there_naming_file_and_line(
    long_file: Path,
) -> None:
    lines = long_file.read_bytes().split(b"\n")
    bad = 3 * CHUNK + 10  # 0-based: line bad + 1
    lines[bad] = b'{"kind":"Produced","seq":' + str(bad).encode() + b"}"
    long_file.write_bytes(b"\n".join(lines))
    indexer = FileIndexer(long_file)
    indexer.head()  # the head is whole: the TUI opens
    indexer.run()
    assert indexer.done and indexer.error is not None
    assert indexer.error.file == str(long_file) and indexer.error.where == f"line {bad + 1}"
    assert len(str(indexer.error).splitlines()) == 1
    assert len(indexer.records) == bad  # every record before it plays
    Player(indexer.index).seek(bad)


def test_a_file_cut_off_mid_record_plays_the_whole_records_before_it(long_file: Path) -> None:
    data = long_file.read_bytes()
    whole = data.count(b"\n")
    long_file.write_bytes(data[: len(data) - 25])
    indexer = _indexed(long_file)
    assert indexer.error is None and len(indexer.records) == whole - 1
    assert indexer.warning is not None and f"line {whole}" in indexer.warning


def test_a_last_line_without_its_newline_is_still_a_record(
    long_file: Path, long_records: list[Record]
) -> None:
    long_file.write_bytes(long_file.read_bytes().rstrip(b"\n"))
    indexer = _indexed(long_file)
    assert indexer.error is None and indexer.warning is None
    assert len(indexer.records) == len(long_records)
    assert indexer.records[-1] == long_records[-1]


@pytest.mark.parametrize(
    ("line", "says"),
    [
        (b'{"kind":"RunFinished","seq":SEQ,"at":0,"component":"\\u001b[2J","reason":"x"}',
         "control character"),
        (b"[" * 10 + b" " * (1 << 20) + b"]" * 10, "longer than"),
    ],
)  # fmt: skip
def test_a_line_the_whole_file_reader_refuses_deep_in_the_file_is_refused_there(
    long_file: Path, line: bytes, says: str
) -> None:
    lines = long_file.read_bytes().split(b"\n")
    bad = 2 * CHUNK + 500
    lines[bad] = line.replace(b"SEQ", str(bad).encode())
    long_file.write_bytes(b"\n".join(lines))
    with pytest.raises(InputError) as whole:
        load_trace(long_file)
    indexer = _indexed(long_file)
    assert indexer.error is not None and str(indexer.error) == str(whole.value)
    assert says in str(indexer.error) and f"line {bad + 1}" in str(indexer.error)
    assert len(indexer.records) == bad


@pytest.mark.parametrize(
    ("content", "where"),
    [(b"", "no trace records"), (b"\n\n", "line 1"), (b"[1,2]\n", "line 1")],
)
def test_a_bad_head_is_the_same_error_as_a_file_read_whole(
    tmp_path: Path, content: bytes, where: str
) -> None:
    path = tmp_path / "bad.jsonl"
    path.write_bytes(content)
    with pytest.raises(InputError) as whole:
        load_trace(path)
    with pytest.raises(InputError) as indexed:
        FileIndexer(path).head()
    assert str(indexed.value) == str(whole.value) and where in str(indexed.value)


def test_cli_view_reads_a_big_file_through_its_index_and_refuses_a_bad_head_with_exit_2(
    long_file: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr("tui.runs.IN_MEMORY_BYTES", 1024)
    opened: list[object] = []
    monkeypatch.setattr("tui.app.EvsimApp.run", lambda self: opened.append(self._start_file))
    result = CliRunner().invoke(cli_app, ["view", str(long_file)])
    assert result.exit_code == 0, result.output
    assert len(opened) == 1 and isinstance(opened[0], tuple)
    assert isinstance(opened[0][0], FileIndexer) and opened[0][1] == "long.jsonl"
    lines = long_file.read_bytes().split(b"\n")
    lines[7] = b"not json"
    long_file.write_bytes(b"\n".join(lines))
    result = CliRunner().invoke(cli_app, ["view", str(long_file)])
    assert result.exit_code == 2
    out = result.output.strip().splitlines()
    assert len(out) == 1 and str(long_file) in out[0] and "line 8" in out[0]


async def _wait_read(screen: SimulationScreen, pilot: Any) -> None:
    """Until the screen's file is read to its end (the worker that reads it has finished)."""
    await pilot.app.workers.wait_for_complete()
    await pilot.pause()
    indexer = screen._indexer
    assert indexer is not None and indexer.done


async def test_the_player_opens_a_big_file_and_every_panel_reads_through_the_index(
    make_app: Make, long_file: Path, long_records: list[Record], wait_ready: Any
) -> None:
    indexer = FileIndexer(long_file)
    indexer.head()
    app = make_app(trace_file=(indexer, long_file.name))
    async with app.run_test(size=(120, 40)) as pilot:
        screen = await wait_ready(pilot)
        await _wait_read(screen, pilot)
        assert screen.player is not None and screen.run is not None
        assert screen.player.total == len(long_records)
        await pilot.press("end")
        memory = build_index(long_records, every=CHECKPOINT_EVERY)
        assert screen.player.state == memory.final
        finding = screen.run.index.findings[-1]
        screen.seek(finding + 1)
        await pilot.pause()
        await pilot.press("b")
        assert screen.player.state == Player(memory).seek(finding)
        await pilot.press("v")
        view = screen.query_one(SequenceView)
        assert view.cursor == finding - 1
        screen.seek(finding + 1)
        await pilot.pause()
        await pilot.press("enter")
        assert isinstance(app.screen, WhyDialog) and app.screen.seq == finding
        await pilot.press("escape")
        screen._apply_filter("kind:Crashed")
        log = screen.query_one(TraceLog)
        assert log.matching == filter_seqs(long_records, "kind:Crashed") != []


async def test_a_seek_past_what_is_read_stops_there_and_says_so(
    make_app: Make, long_file: Path, monkeypatch: pytest.MonkeyPatch, wait_ready: Any
) -> None:
    indexer = FileIndexer(long_file)
    indexer.head()
    # The rest of the file is not read in this test: the player has the head only.
    monkeypatch.setattr(FileIndexer, "run", lambda self, *args, **kwargs: None)
    app = make_app(trace_file=(indexer, long_file.name))
    async with app.run_test(size=(120, 40)) as pilot:
        screen = await wait_ready(pilot)
        assert screen.player is not None and not indexer.done
        await pilot.press("end")
        assert screen.player.position == CHUNK
        notes = [n.message for n in app._notifications]
        assert any(f"{CHUNK:,} of about" in note for note in notes), notes
        assert "reading the file" in str(screen.query_one("#scrubber").render())


async def test_a_bad_line_reached_behind_the_player_is_one_line_naming_file_and_line(
    make_app: Make, long_file: Path, wait_ready: Any
) -> None:
    lines = long_file.read_bytes().split(b"\n")
    bad = 3 * CHUNK + 10
    lines[bad] = lines[bad][:40]
    long_file.write_bytes(b"\n".join(lines))
    indexer = FileIndexer(long_file)
    indexer.head()
    app = make_app(trace_file=(indexer, long_file.name))
    async with app.run_test(size=(120, 40)) as pilot:
        screen = await wait_ready(pilot)
        await _wait_read(screen, pilot)
        assert screen.player is not None and screen.player.total == bad
        notes = [n.message for n in app._notifications]
        said = [note for note in notes if f"line {bad + 1}" in note]
        assert said and str(long_file) in said[0] and len(said[0].splitlines()) == 1
        await pilot.press("end")
        assert screen.player.position == bad
        assert f"a bad line at line {bad + 1:,}" in str(screen.query_one("#scrubber").render())
