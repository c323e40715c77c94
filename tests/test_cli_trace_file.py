"""``evsim play`` writes a trace to disk as the run goes: the export, or a temporary spill.

With ``--export-trace`` the export is the run's spill file, beside the target
until it is whole; a run projected above ``SPILL_ABOVE_RECORDS`` spills to an
anonymous temporary file without being asked. Either way the outcome is the
run's, the digest that of the trace held in memory, and a file that cannot be
written is one line, exit 2, with nothing left behind. (Refused targets,
kills and races: ``tests/reliability/test_reliability_exports.py`` and
``test_reliability_kill.py``.)
"""

from __future__ import annotations

import errno
import functools
import json
import os
import tempfile
from hashlib import sha256
from pathlib import Path

import pytest
from conftest import HEADER
from typer.testing import CliRunner

import simulator.spill
from cli import app
from simulator.files import INCOMPLETE
from simulator.scenario import builtin_names
from simulator.spill import SpillFile

runner = CliRunner()

LONG = (
    HEADER
    + """
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
[[workload.generators]]
producer = "p"
count = 14000
keys = 50
rate_per_s = 10000
"""
)
"""About 70,000 records: more than a play holds in memory before it spills."""


@pytest.fixture
def long_lesson(tmp_path: Path) -> Path:
    path = tmp_path / "long.toml"
    path.write_text(LONG, encoding="utf-8")
    return path


def _play_json(*args: str) -> dict[str, object]:
    result = runner.invoke(app, ["play", *args, "--json"])
    assert result.exit_code == 0, result.output
    outcome: dict[str, object] = json.loads(result.stdout)
    return outcome


def test_an_export_is_written_as_the_run_goes_and_appears_whole_at_the_end(
    long_lesson: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    target = tmp_path / "trace.jsonl"
    seen: list[tuple[bool, int]] = []
    spill = SpillFile.spill

    def spill_and_look(self: SpillFile, records: list[object]) -> None:
        spill(self, records)  # type: ignore[arg-type]
        (partial,) = tmp_path.glob(f"trace.jsonl{INCOMPLETE}*")
        seen.append((target.exists(), partial.stat().st_size))

    monkeypatch.setattr(SpillFile, "spill", spill_and_look)
    monkeypatch.setattr(simulator.spill, "SPILL_EVERY_CHUNKS", 2)  # spill often, a short run
    outcome = _play_json(str(long_lesson), "--export-trace", str(target))
    assert seen and not any(exists for exists, _ in seen), "nothing was written during the run"
    assert all(size > 0 for _, size in seen)
    data = target.read_bytes()
    assert outcome["trace_digest"] == sha256(data).hexdigest()
    assert data.count(b"\n") == outcome["trace_records"]
    assert sorted(p.name for p in tmp_path.iterdir()) == ["long.toml", "trace.jsonl"]
    held = _play_json(str(long_lesson))
    assert held == outcome


def test_a_run_projected_above_the_threshold_spills_to_a_temporary_file_that_goes(
    long_lesson: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    held = _play_json(str(long_lesson))
    temp = tmp_path / "tmp"
    temp.mkdir()
    monkeypatch.setattr(tempfile, "tempdir", str(temp))
    monkeypatch.setattr(simulator.spill, "SPILL_ABOVE_RECORDS", 50_000)
    monkeypatch.setattr(simulator.spill, "SPILL_EVERY_CHUNKS", 2)  # spill often, a short run
    spilled: list[int] = []
    spill = SpillFile.spill

    def counting(self: SpillFile, records: list[object]) -> None:
        spilled.append(len(records))
        spill(self, records)  # type: ignore[arg-type]

    monkeypatch.setattr(SpillFile, "spill", counting)
    result = runner.invoke(app, ["play", str(long_lesson), "--json"])
    assert result.exit_code == 0, result.output
    assert "kept on disk" in result.stderr
    assert spilled, "the run never spilled"
    assert json.loads(result.stdout) == held
    assert list(temp.iterdir()) == []


def test_a_run_projected_below_the_threshold_keeps_its_trace_in_memory(
    long_lesson: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    spilled: list[int] = []
    monkeypatch.setattr(SpillFile, "spill", lambda self, records: spilled.append(len(records)))
    result = runner.invoke(app, ["play", str(long_lesson), "--json"])
    assert result.exit_code == 0, result.output
    assert spilled == [] and "kept on disk" not in result.stderr


def test_an_export_that_cannot_be_made_durable_is_one_line_and_leaves_nothing(
    long_lesson: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    fsync = os.fsync

    def full_disk(fd: int) -> None:
        if INCOMPLETE in os.readlink(f"/proc/self/fd/{fd}"):
            raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))
        fsync(fd)

    if not Path("/proc/self/fd").is_dir():
        pytest.skip("needs /proc/self/fd")
    monkeypatch.setattr(os, "fsync", full_disk)
    target = tmp_path / "trace.jsonl"
    result = runner.invoke(app, ["play", str(long_lesson), "--json", "--export-trace", str(target)])
    assert result.exit_code == 2
    lines = [line for line in result.stderr.splitlines() if line.strip()]
    assert len(lines) == 1, result.stderr
    assert "trace.jsonl: cannot write trace: No space left on device" in lines[0]
    assert sorted(p.name for p in tmp_path.iterdir()) == ["long.toml"]


def _tiny_chunks(monkeypatch: pytest.MonkeyPatch) -> list[int]:
    """Every play spills, in chunks of 8 records, 8 chunks at a time: a short lesson spills
    many times.

    Returns the sizes of the spills, as they happen."""
    monkeypatch.setattr(simulator.spill, "SPILL_ABOVE_RECORDS", 0)
    monkeypatch.setattr(
        simulator.spill, "SpillFile", functools.partial(SpillFile, chunk=8, every=8)
    )
    spilled: list[int] = []
    spill = SpillFile.spill

    def counting(self: SpillFile, records: list[object]) -> None:
        spilled.append(len(records))
        spill(self, records)  # type: ignore[arg-type]

    monkeypatch.setattr(SpillFile, "spill", counting)
    return spilled


@pytest.mark.parametrize("name", builtin_names())
def test_every_lesson_played_with_its_trace_spilled_has_the_outcome_held_in_memory(
    name: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    held = runner.invoke(app, ["play", name, "--json"])
    spills = _tiny_chunks(monkeypatch)
    spilled = runner.invoke(app, ["play", name, "--json"])
    assert "kept on disk" in spilled.stderr
    assert (spilled.exit_code, spilled.stdout) == (held.exit_code, held.stdout)
    assert spills or json.loads(held.stdout)["trace_records"] <= 8 * 8, "it never spilled"


@pytest.mark.parametrize(
    "name", ["auto-commit-replay", "rabbitmq-quorum-node-crash", "stream-changelog-restore"]
)
def test_a_lesson_played_with_its_timeline_and_its_trace_spilled_prints_the_same(
    name: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    held = runner.invoke(app, ["play", name])
    spills = _tiny_chunks(monkeypatch)
    spilled = runner.invoke(app, ["play", name])
    assert (spilled.exit_code, spilled.stdout) == (held.exit_code, held.stdout)
    assert spills, "it never spilled"
